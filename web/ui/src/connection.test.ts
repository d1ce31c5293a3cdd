import { describe, expect, it } from "vitest";
import { Connection, type Backend, type Socket } from "./connection";
import type { Flow, UpdateMessage } from "./flowtypes";
import { AppStore } from "./store/app";
import { FlowStore } from "./store/flowstore";
import { httpFlow } from "./testutil";

class FakeSocket implements Socket {
  sent: string[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(d: string) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(m: UpdateMessage) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

function setup(initial: Flow[] = []) {
  const sockets: FakeSocket[] = [];
  const tasks: (() => void)[] = [];
  let flowsAnswer = initial;
  let release: (() => void) | null = null;
  let hold = false;
  const backend: Backend = {
    openSocket() {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    getFlows: () =>
      new Promise((res) => {
        const done = () => res(flowsAnswer);
        if (hold) release = done;
        else done();
      }),
    getEvents: async () => [{ id: 1, message: "hello", level: "info" }],
    getOptions: async () => ({ intercept: { type: "optional str", default: null, value: "~q", help: "", choices: null } }),
    getState: async () => ({ version: "1", contentViews: [], servers: {}, platform: "linux", localModeUnavailable: null }),
    getFilterHelp: async () => ({ commands: [["~q", "Request"]] as [string, string][] }),
    schedule: (fn) => tasks.push(fn),
  };
  const flows = new FlowStore();
  const app = new AppStore();
  const conn = new Connection(flows, app, backend);
  let renders = 0;
  conn.onBatch = () => renders++;
  return {
    flows,
    app,
    conn,
    sockets,
    runFrames: () => tasks.splice(0).forEach((t) => t()),
    setFlows: (f: Flow[]) => (flowsAnswer = f),
    holdFlows: (h: boolean) => (hold = h),
    release: () => release?.(),
    renders: () => renders,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const add = (f: Flow, m: Record<string, boolean> = {}): UpdateMessage => ({
  type: "flows/add",
  payload: { flow: f, matching_filters: m },
});
const ids = (s: FlowStore) => s.view.map((e) => e.flow.id);

describe("Connection", () => {
  it("loads the flows, then applies /updates in order, once per frame", async () => {
    const t = setup([httpFlow({ id: "a" })]);
    t.conn.start();
    t.sockets[0].open();
    await tick();
    expect(t.app.conn).toBe("live");
    expect(ids(t.flows)).toEqual(["a"]);
    expect(t.app.events.map((e) => e.message)).toEqual(["hello"]);
    expect(t.app.option("intercept", "")).toBe("~q");
    const ws = t.sockets[0];
    ws.push(add(httpFlow({ id: "b" })));
    ws.push({ type: "flows/update", payload: { flow: httpFlow({ id: "b", status: 200 }), matching_filters: {} } });
    ws.push(add(httpFlow({ id: "c" })));
    ws.push({ type: "flows/remove", payload: "a" });
    ws.push({ type: "events/add", payload: { id: 2, message: "from a script", level: "warn" } });
    expect(ids(t.flows)).toEqual(["a"]); // nothing before the frame
    const before = t.renders();
    t.runFrames();
    expect(t.renders()).toBe(before + 1);
    expect(ids(t.flows)).toEqual(["b", "c"]);
    expect((t.flows.get("b") as { response?: { status_code: number } }).response?.status_code).toBe(200);
    expect(t.app.events.at(-1)?.message).toBe("from a script");
  });

  it("holds messages that arrive while /flows loads, and applies them after", async () => {
    const t = setup();
    t.holdFlows(true);
    t.conn.start();
    t.sockets[0].open();
    t.sockets[0].push(add(httpFlow({ id: "x" })));
    t.sockets[0].push({ type: "flows/update", payload: { flow: httpFlow({ id: "y", status: 201 }), matching_filters: {} } });
    t.runFrames();
    expect(t.flows.size).toBe(0);
    t.setFlows([httpFlow({ id: "y" })]);
    t.release();
    await tick();
    // y came in /flows; its update and the add of x follow.
    expect(ids(t.flows)).toEqual(["y", "x"]);
    expect((t.flows.get("y") as { response?: { status_code: number } }).response?.status_code).toBe(201);
  });

  it("sends filters and applies their answers and matching_filters", async () => {
    const t = setup([httpFlow({ id: "a" }), httpFlow({ id: "b" })]);
    t.conn.start();
    const ws = t.sockets[0];
    ws.open();
    await tick();
    t.conn.setFilter("search", "~u b");
    expect(JSON.parse(ws.sent[0])).toEqual({ type: "flows/updateFilter", payload: { name: "search", expr: "~u b" } });
    ws.push({ type: "flows/filterUpdate", payload: { name: "search", matching_flow_ids: ["b"] } });
    ws.push(add(httpFlow({ id: "cb" }), { search: true }));
    ws.push(add(httpFlow({ id: "d" }), { search: false }));
    t.runFrames();
    expect(ids(t.flows)).toEqual(["b", "cb"]);
    t.conn.setFilter("search", "");
    ws.push({ type: "flows/filterUpdate", payload: { name: "search", matching_flow_ids: null } });
    t.runFrames();
    expect(ids(t.flows)).toEqual(["a", "b", "cb", "d"]);
  });

  it("reloads the flows on flows/reset", async () => {
    const t = setup([httpFlow({ id: "a" })]);
    t.conn.start();
    const ws = t.sockets[0];
    ws.open();
    await tick();
    t.setFlows([httpFlow({ id: "n1" }), httpFlow({ id: "n2" })]);
    ws.push({ type: "flows/reset" });
    ws.push(add(httpFlow({ id: "n3" })));
    t.runFrames();
    await tick();
    expect(ids(t.flows)).toEqual(["n1", "n2", "n3"]);
  });

  it("applies a large burst in bulk, in order", async () => {
    const t = setup();
    t.conn.start();
    const ws = t.sockets[0];
    ws.open();
    await tick();
    t.flows.setSort("path", true);
    for (let i = 0; i < 1000; i++) ws.push(add(httpFlow({ id: "f" + String(i).padStart(4, "0"), path: "/" + i })));
    ws.push({ type: "flows/remove", payload: "f0005" });
    t.runFrames();
    expect(t.flows.view.length).toBe(999);
    expect(t.flows.indexOf("f0005")).toBe(-1);
    expect(t.flows.view[0].flow.id).toBe("f0999"); // "/999" sorts last, reversed first
  });

  it("remembers a filter the server refused and reconnects", async () => {
    const t = setup();
    t.conn.start();
    const ws = t.sockets[0];
    ws.open();
    await tick();
    t.conn.setFilter("search", "~weird");
    ws.onclose?.({ code: 1011 });
    expect(t.app.rejected.has("~weird")).toBe(true);
    expect(t.app.conn).toBe("error");
    t.conn.stop();
  });

  it("passes options/update on to the store", async () => {
    const t = setup();
    t.conn.start();
    t.sockets[0].open();
    await tick();
    t.sockets[0].push({
      type: "options/update",
      payload: { web_theme: { type: "str", default: "system", value: "dark", help: "", choices: ["system", "dark", "light"] } },
    });
    t.runFrames();
    expect(t.app.option("web_theme", "system")).toBe("dark");
    expect(t.app.option("intercept", "")).toBe("~q");
  });
});

describe("AppStore.queueOptionWrite", () => {
  it("runs writes one after the other, in order, even when one fails", async () => {
    const app = new AppStore();
    const log: string[] = [];
    const slow = (name: string, ms: number, fail = false) => () =>
      new Promise<void>((res, rej) =>
        setTimeout(() => {
          log.push(name);
          if (fail) rej(new Error(name));
          else res();
        }, ms),
      );
    const a = app.queueOptionWrite(slow("a", 30));
    const b = app.queueOptionWrite(slow("b", 1, true));
    const c = app.queueOptionWrite(slow("c", 1));
    await a;
    await expect(b).rejects.toThrow("b");
    await c;
    expect(log).toEqual(["a", "b", "c"]);
  });
});
