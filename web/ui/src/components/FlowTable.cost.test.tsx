// A measurement, not a test (`npm run cost`; skipped by `npm test`): the
// DOM work of the table following 1,020 new flows (each added, then
// updated with its response) in batches of 17, as 1,000 flows/s arrive
// at 60 frames/s, counted with a MutationObserver (the same on any
// machine), and the CPU time of the process (happy-dom's DOM, not a
// browser's: a ratio between two versions, not a figure for Chrome).
import { describe, it } from "vitest";
import { hasDOM, installDOM, settle } from "../detail/domtest";
import { httpFlow } from "../testutil";
import { mountFlowTable } from "./tabletest";

declare const process: {
  env: Record<string, string | undefined>;
  cpuUsage(prev?: { user: number; system: number }): { user: number; system: number };
};

describe.skipIf(!hasDOM || !process.env.WEBUI_COST)("cost", () => {
  it("follows 1,020 flows", { timeout: 120_000 }, async () => {
    const win = installDOM();
    Object.defineProperty(win.HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 1500 });
    const { vi } = await import("vitest");
    vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} });
    const root = document.createElement("div");
    document.body.appendChild(root);
    const { flows } = await mountFlowTable(root, 200);
    const c = { recs: 0, added: 0, removed: 0, attrs: 0, text: 0 };
    const count = (n: Node): number => 1 + Array.from(n.childNodes).reduce((a, ch) => a + count(ch), 0);
    const mo = new window.MutationObserver((ms: MutationRecord[]) => {
      for (const m of ms) {
        c.recs++;
        if (m.type === "attributes") c.attrs++;
        else if (m.type === "characterData") c.text++;
        else {
          for (const a of m.addedNodes) c.added += count(a);
          for (const r of m.removedNodes) c.removed += count(r);
        }
      }
    });
    mo.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    const cpu0 = process.cpuUsage();
    let n = 0;
    for (let b = 0; b < 60; b++) {
      for (let i = 0; i < 17; i++) {
        const id = "n" + n++;
        flows.add(httpFlow({ id }));
        flows.update(httpFlow({ id, status: 200, size: 100 }));
      }
      flows.notify();
      await settle(2);
    }
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setTimeout(r, 0));
    mo.disconnect();
    console.log(
      `COST per 1,000 flows: nodes added ${((c.added * 1000) / n).toFixed(0)}, removed ${((c.removed * 1000) / n).toFixed(0)}, ` +
        `attribute changes ${((c.attrs * 1000) / n).toFixed(0)}, text changes ${((c.text * 1000) / n).toFixed(0)}; ` +
        `process CPU ${(((cpu.user + cpu.system) / 1000) * 1000 / n).toFixed(0)} ms; DOM nodes in the table ${count(root)}`,
    );
  });
});
