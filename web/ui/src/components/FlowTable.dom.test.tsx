// The flow table in a DOM (happy-dom): rendering never reads the scroll
// position (a read after a render forces a layout of the table); the
// table follows new flows at the bottom, and a user's scroll moves the
// rendered window once per animation frame; row elements are reused as
// flows scroll through them, and one handler serves every row.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeFetch, hasDOM, installDOM, settle } from "../detail/domtest";
import type { HTTPFlow } from "../flowtypes";
import { httpFlow } from "../testutil";
import { mountFlowTable } from "./tabletest";

describe.skipIf(!hasDOM)("FlowTable (DOM)", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let h: any, render: any, root: HTMLElement;
  const ROWS_IN_VIEW = 10;

  beforeEach(async () => {
    const win = installDOM();
    // No layout in happy-dom: the scroller is 11 rows high (header + 10).
    Object.defineProperty(win.HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 26 * (ROWS_IN_VIEW + 1) });
    vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} });
    ({ h, render } = await import("preact"));
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    render(null, root);
    vi.unstubAllGlobals();
  });

  const frame = () => new Promise((r) => setTimeout(r, 40));

  it("follows new flows without reading the layout, and scrolls by frames", async () => {
    const { FlowStore } = await import("../store/flowstore");
    const { AppStore } = await import("../store/app");
    const { StoreContext } = await import("../hooks");
    const { FlowTable, ROW_HEIGHT } = await import("./FlowTable");
    const flows = new FlowStore();
    const app = new AppStore();
    for (let i = 0; i < 100; i++) flows.add(httpFlow({ id: "f" + i, status: 200 }));
    render(h(StoreContext.Provider, { value: { flows, app } as never }, h(FlowTable, {})), root);
    await settle();
    const el = root.querySelector('[data-testid="flow-table"]') as HTMLElement;
    // From here on, count the reads of scrollTop.
    let reads = 0;
    let pos = el.scrollTop;
    let writes = 0;
    Object.defineProperty(el, "scrollTop", {
      configurable: true,
      get: () => (reads++, pos),
      set: (v: number) => {
        writes++;
        pos = v;
      },
    });
    const rowIds = () => Array.from(root.querySelectorAll('[data-testid="flow-row"]'), (r) => r.getAttribute("data-flow-id"));
    const bottom = (n: number) => (n - ROWS_IN_VIEW) * ROW_HEIGHT;
    expect(pos).toBe(bottom(100));
    expect(rowIds()).toContain("f99");

    // New flows: the table follows them, writing scrollTop, never reading it.
    for (let b = 0; b < 5; b++) {
      for (let i = 0; i < 10; i++) flows.add(httpFlow({ id: "g" + b + "-" + i, status: 200 }));
      flows.notify();
      await settle();
    }
    expect(reads).toBe(0);
    expect(pos).toBe(bottom(150));
    expect(rowIds()).toContain("g4-9");
    expect(rowIds()).not.toContain("f0");
    // A render with nothing changed writes nothing.
    const w = writes;
    flows.notify();
    await settle();
    expect(writes).toBe(w);

    // The user scrolls to the top: one read in the scroll event; the rows
    // follow in the next frame; new flows no longer move the view.
    pos = 0;
    el.dispatchEvent(new window.Event("scroll"));
    el.dispatchEvent(new window.Event("scroll")); // same frame: one render
    await frame();
    await settle();
    expect(reads).toBe(2);
    expect(rowIds()).toContain("f0");
    expect(rowIds()).not.toContain("g4-9");
    const w2 = writes;
    flows.add(httpFlow({ id: "late", status: 200 }));
    flows.notify();
    await settle();
    expect(writes).toBe(w2);
    expect(pos).toBe(0);
    expect(reads).toBe(2);

    // Back at the bottom: following again.
    pos = bottom(151);
    el.dispatchEvent(new window.Event("scroll"));
    await frame();
    flows.add(httpFlow({ id: "later", status: 200 }));
    flows.notify();
    await settle();
    expect(pos).toBe(bottom(152));
    expect(rowIds()).toContain("later");
  });

  it("renders a row again only when its flow or its state changes", async () => {
    const { flows } = await mountFlowTable(root, 5);
    const row = (id: string) => root.querySelector(`[data-flow-id="${id}"]`)!;
    const mutated = new Set<string>();
    const mo = new window.MutationObserver((ms: MutationRecord[]) => {
      for (const m of ms) {
        const r = (m.target as Element).closest?.("[data-flow-id]") ?? (m.target.parentElement?.closest("[data-flow-id]") as Element | null);
        if (r) mutated.add(r.getAttribute("data-flow-id")!);
      }
    });
    mo.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    flows.update(httpFlow({ id: "f2", status: 404 }));
    flows.notify();
    await settle();
    mo.disconnect();
    expect([...mutated]).toEqual(["f2"]);
    expect(row("f2").querySelector(".col-status")?.textContent).toBe("404");
  });

  const mount = (n: number, tweak?: (f: HTTPFlow, i: number) => void, columns?: string[]) =>
    mountFlowTable(root, n, { tweak, columns });

  it("reuses the row elements as new flows scroll in: none made, removed or moved", async () => {
    const { flows, rows } = await mount(100);
    const before = rows();
    const body = root.querySelector(".flow-table-body")!;
    let rowAdds = 0;
    let rowRemoves = 0;
    const mo = new window.MutationObserver((ms: MutationRecord[]) => {
      for (const m of ms) {
        if (m.target !== body) continue;
        rowAdds += m.addedNodes.length;
        rowRemoves += m.removedNodes.length;
      }
    });
    mo.observe(body, { childList: true });
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 4; i++) flows.add(httpFlow({ id: `n${b}-${i}`, path: `/new/${b}/${i}`, status: 404 }));
      flows.notify();
      await settle();
    }
    mo.disconnect();
    expect(rowAdds).toBe(0);
    expect(rowRemoves).toBe(0);
    const after = rows();
    // The same elements, in the same order, now showing the newest flows.
    expect(after.length).toBe(before.length);
    after.forEach((r, i) => expect(r).toBe(before[i]));
    const last = after.find((r) => r.getAttribute("data-flow-id") === "n2-3")!;
    expect(last).toBeDefined();
    expect(last.querySelector(".col-path")!.textContent).toBe("http://example.com/new/2/3");
    expect(last.querySelector(".col-status")!.textContent).toBe("404");
    expect(last.style.top).toBe(111 * 26 + "px");
    // Each row shows one flow, each flow in view has one row.
    const ids = after.map((r) => r.getAttribute("data-flow-id"));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("draws icons with classes, not elements", async () => {
    const { rows } = await mount(3, (f, i) => {
      if (i === 1) f.request.scheme = "https";
    });
    const r = rows();
    expect(r.length).toBe(3);
    for (const row of r) expect(row.querySelector("svg")).toBeNull();
    const tls = r.map((row) => row.querySelector(".col-tls")!.className);
    expect(tls.filter((c) => c.includes("tls-on")).length).toBe(1);
    expect(r[0].querySelector(".col-icon")!.className).toMatch(/\bres-/);
    // A path cell without flags is its text alone.
    expect(r[0].querySelector(".col-path")!.childNodes.length).toBe(1);
  });

  it("selects on a row's mouse-down and runs a quick action on its button, with the table's handlers", async () => {
    const calls = fakeFetch({ "POST ./flows/f1/resume": () => ({ body: "" }) });
    const { flows, rows } = await mount(
      3,
      (f, i) => {
        f.intercepted = i === 1;
      },
      ["tls", "path", "quickactions"],
    );
    const row = rows().find((r) => r.getAttribute("data-flow-id") === "f2")!;
    row.querySelector(".col-path")!.dispatchEvent(new window.MouseEvent("mousedown", { bubbles: true, button: 0 }));
    await settle();
    expect(flows.selected).toEqual(["f2"]);
    expect(row.getAttribute("aria-selected")).toBe("true");
    const btn = rows()
      .find((r) => r.getAttribute("data-flow-id") === "f1")!
      .querySelector('[data-action="resume"]') as HTMLElement;
    expect(btn).not.toBeNull();
    btn.dispatchEvent(new window.MouseEvent("click", { bubbles: true, button: 0 }));
    await settle();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(["POST ./flows/f1/resume"]);
  });
});
