// Component tests of the flow detail, options editor, command bar and
// export dialog in a DOM (happy-dom): the selectors the browser tests rely
// on, and what the components send.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hasDOM, installDOM, fakeFetch, settle, type FakeCall } from "./domtest";
import type { HTTPFlow, Options } from "../flowtypes";

const flow: HTTPFlow = {
  id: "f1",
  type: "http",
  intercepted: false,
  is_replay: null,
  modified: false,
  marked: "",
  comment: "",
  timestamp_created: 1,
  request: {
    method: "GET", scheme: "http", host: "example.com", port: 80, path: "/a", pretty_host: "example.com",
    http_version: "HTTP/1.1", headers: [["Host", "example.com"], ["Accept", "*/*"]], contentLength: 0, contentHash: null,
    timestamp_start: 10, timestamp_end: 11,
  },
  response: {
    http_version: "HTTP/1.1", status_code: 200, reason: "OK", headers: [["Content-Type", "application/json"]],
    contentLength: 20, contentHash: "abc", timestamp_start: 12, timestamp_end: 13,
  },
  error: { msg: "boom", timestamp: 14 },
  client_conn: {
    id: "c", peername: ["127.0.0.1", 5555], sockname: ["127.0.0.1", 8080], tls_established: true, cert: null,
    sni: "example.com", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2", tls_version: "TLSv1.3",
    timestamp_start: 9, timestamp_tls_setup: 9.5, timestamp_end: null,
  },
};

const options: Options = {
  anticache: { type: "bool", default: false, value: false, help: "Strip cache headers.", choices: null },
  view_order: { type: "str", default: "time", value: "time", help: "Flow sort order.", choices: ["time", "method", "url", "size"] },
  listen_port: { type: "int", default: 8080, value: 8080, help: "Proxy service port.", choices: null },
  ignore_hosts: { type: "sequence of str", default: [], value: [], help: "Ignore host and forward all traffic.", choices: null },
  intercept: { type: "optional str", default: null, value: null, help: "Intercept filter expression.", choices: null },
};

const baseRoutes = {
  "GET ./state": () => ({ body: { contentViews: ["auto", "json", "hex dump", "swapcase"] } }),
  "GET ./options": () => ({ body: options }),
  "GET ./flows/f1/response/content/auto.json?lines=513": () => ({
    body: { text: '{\n  "hello": "needle"\n}', view_name: "JSON", syntax_highlight: "json", description: "" },
  }),
  "GET ./flows/f1/response/content/hex%20dump.json?lines=513": () => ({
    body: { text: "0000: 7b 0a", view_name: "Hex Dump", syntax_highlight: "none", description: "" },
  }),
  "GET ./flows/f1/request/content.data": () => ({ body: "" }),
  "GET ./flows/f1/response/content.data": () => ({ body: '{"hello": "needle"}' }),
  "PUT ./flows/f1": () => ({ body: "" }),
  "POST ./flows/f1/resume": () => ({ body: "" }),
  "POST ./commands/export": (b: unknown) => ({ body: { value: `curl ${(b as { arguments: string[] }).arguments.join(" ")}` } }),
  "GET ./flows/f1/har": () => ({ body: '{"log": {"entries": []}}' }),
  "GET ./commands": () => ({
    body: {
      "flow.resume": { help: "Resume flows.", parameters: [{ name: "flows", type: "flow[]", kind: "POSITIONAL_OR_KEYWORD" }], return_type: null, signature_help: "" },
      set: { help: "Set an option.", parameters: [{ name: "option", type: "str", kind: "POSITIONAL_OR_KEYWORD" }, { name: "value", type: "str", kind: "VAR_POSITIONAL" }], return_type: null, signature_help: "" },
    },
  }),
  "POST ./commands/set": () => ({ body: { value: null } }),
  "GET ./commands/set/completions?index=0&text=anti": () => ({ body: ["anticache", "anticomp"] }),
  "GET ./commands/set/completions?index=1&text=&arg=anticache": () => ({ body: ["false", "toggle", "true"] }),
  "GET ./commands/flow.resume/completions?index=0&text=%40m": () => ({ body: ["@marked"] }),
  "POST ./commands/nope": () => ({ body: { error: "Unknown command: nope" } }),
};

describe.skipIf(!hasDOM)("components in a DOM", () => {
  // Imported after the DOM exists: Preact reads it.
  let h: typeof import("preact").h;
  let render: typeof import("preact").render;
  let root: HTMLElement;
  let calls: FakeCall[];

  const $ = (testid: string, n = 0) => root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)[n];
  const all = (testid: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
  const click = async (testid: string, n = 0) => {
    const e = $(testid, n);
    if (!e) throw new Error(`no [data-testid=${testid}]`);
    e.click();
    await settle();
  };
  const type = async (el: HTMLElement, value: string) => {
    (el as HTMLInputElement).value = value;
    el.dispatchEvent(new window.Event("input", { bubbles: true }));
    await settle();
  };
  const key = async (el: HTMLElement, k: string) => {
    el.dispatchEvent(new window.KeyboardEvent("keydown", { key: k, bubbles: true }));
    await settle();
  };

  beforeEach(async () => {
    installDOM();
    calls = fakeFetch(baseRoutes);
    ({ h, render } = await import("preact"));
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    render(null, root);
    vi.unstubAllGlobals();
  });

  async function showDetail(f: HTTPFlow) {
    const { FlowDetail } = await import("./FlowDetail");
    render(h(FlowDetail, { flow: f, onClose: () => {} }), root);
    await settle();
  }

  it("has the tabs and actions of the selectors contract", async () => {
    await showDetail(flow);
    for (const t of ["tab-request", "tab-response", "tab-connection", "tab-timing", "tab-error", "tab-comment"]) expect($(t), t).toBeTruthy();
    expect($("tab-messages")).toBeUndefined();
    for (const a of ["flow-replay", "flow-duplicate", "flow-delete", "flow-mark", "flow-edit", "flow-download", "export-curl", "export-httpie", "export-raw", "export-har"]) {
      expect($(a), a).toBeTruthy();
    }
    // Only for intercepted or modified flows.
    expect($("flow-resume")).toBeUndefined();
    expect($("flow-kill")).toBeUndefined();
    expect($("flow-revert")).toBeUndefined();
    await showDetail({ ...flow, intercepted: true, modified: true });
    expect($("flow-resume")).toBeTruthy();
    expect($("flow-kill")).toBeTruthy();
    expect($("flow-revert")).toBeTruthy();
    await click("flow-resume");
    expect(calls.some((c) => c.method === "POST" && c.url === "./flows/f1/resume" && c.xsrf === "tok")).toBe(true);
  });

  it("renders the body with a content view, search and view choice", async () => {
    await showDetail(flow);
    await click("tab-response");
    await settle();
    expect($("content-body").textContent).toContain('"hello": "needle"');
    const select = $("contentview-select") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["auto", "json", "hex dump", "swapcase"]);
    await type($("content-search"), "NEEDLE");
    expect(all("content-body")[0].querySelectorAll("mark").length).toBe(1);
    select.value = "hex dump";
    select.dispatchEvent(new window.Event("change", { bubbles: true }));
    await settle();
    expect($("content-body").textContent).toContain("0000: 7b 0a");
  });

  it("shows a streamed body growing, and follows the server's view list", async () => {
    const { AppStore } = await import("../store/app");
    const { StoreContext } = await import("../hooks");
    const { FlowDetail } = await import("./FlowDetail");
    const app = new AppStore();
    app.state = { contentViews: ["auto", "json"] } as never;
    const texts = ["data: one", "data: one\n\ndata: two"];
    let n = 0;
    calls = fakeFetch({
      ...baseRoutes,
      "GET ./flows/f1/response/content/auto.json?lines=513": () => ({
        body: { text: texts[Math.min(n++, 1)], view_name: "Raw", syntax_highlight: "none", description: "" },
      }),
    });
    const streaming = (contentLength: number, end: number | null): HTTPFlow => ({
      ...flow,
      error: undefined,
      response: { ...flow.response!, headers: [["Content-Type", "text/event-stream"]], contentLength, contentHash: null, timestamp_end: end },
    });
    const show = async (f: HTTPFlow) => {
      render(h(StoreContext.Provider, { value: { app } as never }, h(FlowDetail, { flow: f, onClose: () => {} })), root);
      await settle();
    };
    await show(streaming(11, null));
    await click("tab-response");
    expect($("content-body").textContent).toBe("data: one");
    expect(root.querySelector(".fd-content-desc")?.textContent).toContain("arriving");
    await show(streaming(22, null));
    await settle();
    expect($("content-body").textContent).toContain("data: two");
    const viewCalls = calls.filter((c) => c.url.startsWith("./flows/f1/response/content/auto.json")).length;
    expect(viewCalls).toBe(2);
    await show(streaming(22, 20));
    expect(root.querySelector(".fd-content-desc")?.textContent).not.toContain("arriving");
    // A script's view arrives by state/update.
    expect([...($("contentview-select") as HTMLSelectElement).options].map((o) => o.value)).toEqual(["auto", "json"]);
    app.state = { contentViews: ["auto", "json", "rot"] } as never;
    app.notify();
    await settle();
    expect([...($("contentview-select") as HTMLSelectElement).options].map((o) => o.value)).toEqual(["auto", "json", "rot"]);
    expect(calls.some((c) => c.url === "./state")).toBe(false);
  });

  it("edits the request and saves only what changed", async () => {
    await showDetail(flow);
    await click("tab-request");
    await click("flow-edit");
    for (const t of ["edit-method", "edit-url", "edit-header-add", "edit-request-body", "edit-save", "edit-cancel"]) expect($(t), t).toBeTruthy();
    expect(all("edit-header-name").length).toBe(2);
    await type($("edit-method"), "POST");
    await click("edit-header-add");
    await type($("edit-header-name", 2), "X-Test");
    await type($("edit-header-value", 2), "1");
    await type($("edit-request-body"), "a=b");
    await click("edit-save");
    const put = calls.find((c) => c.method === "PUT" && c.url === "./flows/f1");
    expect(put?.body).toEqual({
      request: { method: "POST", headers: [["Host", "example.com"], ["Accept", "*/*"], ["X-Test", "1"]], content: "a=b" },
    });
    expect(put?.xsrf).toBe("tok");
    expect($("edit-save")).toBeUndefined();
  });

  it("edits the response status and shows a bad one", async () => {
    await showDetail(flow);
    await click("tab-response");
    await click("flow-edit");
    await settle();
    await type($("edit-status"), "4x4");
    await click("edit-save");
    expect($("edit-error").textContent).toMatch(/status code/);
    await type($("edit-status"), "404");
    await click("edit-save");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ response: { code: 404 } });
  });

  it("shows an export in the dialog", async () => {
    await showDetail(flow);
    await click("export-curl");
    await settle();
    expect(($("export-text") as HTMLTextAreaElement).value).toBe("curl curl @f1");
    await click("export-close");
    expect($("export-text")).toBeUndefined();
    await click("export-har");
    await settle();
    expect(($("export-text") as HTMLTextAreaElement).value).toContain('"entries"');
  });

  it("edits options and shows the server's error", async () => {
    let refuse = false;
    calls = fakeFetch({
      ...baseRoutes,
      "PUT ./options": () => (refuse ? { status: 400, body: "listen_port: expected int, got x" } : { body: "" }),
    });
    const { OptionsEditor } = await import("../options/OptionsEditor");
    render(h(OptionsEditor, { onClose: () => {} }), root);
    await settle();
    expect($("options-editor")).toBeTruthy();
    for (const n of Object.keys(options)) expect($(`option-${n}`), n).toBeTruthy();
    expect(($("option-anticache") as HTMLInputElement).type).toBe("checkbox");
    expect($("option-view_order").tagName).toBe("SELECT");
    expect($("option-ignore_hosts").tagName).toBe("TEXTAREA");
    await click("option-anticache");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ anticache: true });
    refuse = true;
    const port = $("option-listen_port");
    await type(port, "9090");
    await key(port, "Enter");
    await settle();
    expect($("option-error").textContent).toBe("listen_port: expected int, got x");
    // Search.
    await type($("options-search"), "sort");
    expect($("option-view_order")).toBeTruthy();
    expect($("option-anticache")).toBeUndefined();
    // Live updates from the shell.
    await type($("options-search"), "");
    window.dispatchEvent(new window.CustomEvent("mitmgo:options-update", { detail: { anticache: { ...options.anticache, value: true } } }));
    await settle();
    expect(($("option-anticache") as HTMLInputElement).checked).toBe(true);
  });

  it("runs commands with completion and history", async () => {
    const { CommandBar } = await import("../commandbar/CommandBar");
    render(h(CommandBar, {}), root);
    await settle();
    const input = $("command-input") as HTMLInputElement;
    await type(input, "fl");
    await key(input, "Tab");
    expect(input.value).toBe("flow.resume ");
    await type(input, "set anticache true");
    await key(input, "Enter");
    await settle();
    expect(calls.find((c) => c.url === "./commands/set")?.body).toEqual({ arguments: ["anticache", "true"] });
    await type(input, "nope");
    await key(input, "Enter");
    await settle();
    expect($("command-output").textContent).toContain("Unknown command: nope");
    await key(input, "ArrowUp");
    expect(input.value).toBe("nope");
    await key(input, "ArrowUp");
    expect(input.value).toBe("set anticache true");
    await key(input, "ArrowDown");
    await key(input, "ArrowDown");
    expect(input.value).toBe("");
  });

  it("completes arguments from the server", async () => {
    const { CommandBar } = await import("../commandbar/CommandBar");
    render(h(CommandBar, {}), root);
    await settle();
    const input = $("command-input") as HTMLInputElement;
    await type(input, "flow.resume @m");
    await key(input, "Tab");
    await settle();
    expect(input.value).toBe("flow.resume @marked ");
    // Option names for set: the shared prefix, then the candidates shown and cycled.
    await type(input, "set anti");
    await key(input, "Tab");
    await settle();
    expect(input.value).toBe("set antic");
    expect($("command-arg-candidates").textContent).toBe("anticacheanticomp");
    await type(input, "set anticache ");
    await key(input, "Tab");
    await settle();
    expect(input.value).toBe("set anticache false");
    expect($("command-arg-candidates").textContent).toBe("falsetoggletrue");
    await key(input, "Tab");
    expect(input.value).toBe("set anticache toggle");
  });
});
