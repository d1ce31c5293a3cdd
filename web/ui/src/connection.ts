// The connection to the server: the initial GETs, then the /updates
// WebSocket, whose messages are applied to the stores in their order, in
// one batch per animation frame so that a burst of flows costs one render.
import * as api from "./api";
import type { Flow, UpdateMessage } from "./flowtypes";
import type { AppStore } from "./store/app";
import type { FlowStore } from "./store/flowstore";

export interface Socket {
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  readyState: number;
}

/** The backend the connection talks to; tests replace it. */
export interface Backend {
  openSocket(): Socket;
  getFlows(): Promise<Flow[]>;
  getEvents: typeof api.getEvents;
  getOptions: typeof api.getOptions;
  getState: typeof api.getState;
  getFilterHelp: typeof api.getFilterHelp;
  /** schedule runs fn soon (an animation frame in the browser). */
  schedule(fn: () => void): void;
}

export const browserBackend: Backend = {
  openSocket: () => new WebSocket(api.updatesURL()) as unknown as Socket,
  getFlows: api.getFlows,
  getEvents: api.getEvents,
  getOptions: api.getOptions,
  getState: api.getState,
  getFilterHelp: api.getFilterHelp,
  schedule(fn) {
    // An animation frame when the page is shown; a timer when it is
    // hidden (frames stop), whichever comes first.
    let done = false;
    const run = () => {
      if (!done) {
        done = true;
        fn();
      }
    };
    requestAnimationFrame(run);
    setTimeout(run, 100);
  },
};

export class Connection {
  private ws: Socket | null = null;
  private queue: UpdateMessage[] = [];
  private scheduled = false;
  /** While fetching /flows, messages wait in pending. */
  private fetching = false;
  private pending: UpdateMessage[] = [];
  private filters: Record<string, string> = {};
  private lastFilter: { expr: string; at: number } | null = null;
  private retry = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** onBatch runs after each batch is applied (the app re-renders). */
  onBatch: () => void = () => {};

  constructor(
    private flows: FlowStore,
    private app: AppStore,
    private backend: Backend = browserBackend,
  ) {}

  start(): void {
    this.stopped = false;
    this.app.setConn("connecting");
    const ws = this.backend.openSocket();
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      void this.fetchAll();
      for (const [name, expr] of Object.entries(this.filters)) this.sendFilter(name, expr);
    };
    ws.onmessage = (ev) => {
      let msg: UpdateMessage;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      this.queue.push(msg);
      this.schedule();
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // The server closes the connection (1011) on a filter it cannot
      // parse: remember the expression so it is not sent again.
      const lf = this.lastFilter;
      if (ev.code === 1011 && lf && Date.now() - lf.at < 2000) {
        this.app.rejected.add(lf.expr);
        for (const [name, expr] of Object.entries(this.filters)) {
          if (expr === lf.expr) delete this.filters[name];
        }
      }
      if (this.stopped) return;
      this.app.setConn("error", "Connection to the server lost; reconnecting…");
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      this.retryTimer = setTimeout(() => this.start(), delay);
    };
    ws.onerror = () => {};
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = null;
  }

  /** setFilter sets a server-side filter ("" for none); the answer,
   * flows/filterUpdate, comes through /updates. */
  setFilter(name: string, expr: string): void {
    if (expr === "") delete this.filters[name];
    else this.filters[name] = expr;
    this.sendFilter(name, expr);
  }

  private sendFilter(name: string, expr: string) {
    if (!this.ws || this.ws.readyState !== 1) return;
    if (expr !== "") this.lastFilter = { expr, at: Date.now() };
    this.ws.send(JSON.stringify({ type: "flows/updateFilter", payload: { name, expr } }));
  }

  private async fetchAll(): Promise<void> {
    this.fetching = true;
    this.app.setConn("fetching");
    try {
      const [flows, events, options, state, help] = await Promise.all([
        this.backend.getFlows(),
        this.backend.getEvents(),
        this.backend.getOptions(),
        this.backend.getState(),
        this.backend.getFilterHelp().catch(() => ({ commands: [] as [string, string][] })),
      ]);
      this.flows.reset(flows);
      this.app.setEvents(events);
      this.app.setOptions(options);
      this.app.state = state;
      this.app.setFilterHelp(help.commands);
      globalThis.dispatchEvent?.(new CustomEvent("mitmgo:options-update", { detail: options }));
      this.fetching = false;
      this.app.conn = "live";
      this.apply(this.drainPending());
    } catch (e) {
      this.fetching = false;
      this.app.setConn("error", `Cannot load the flows: ${(e as Error).message}`);
      this.ws?.close();
      return;
    }
    this.flows.notify();
    this.app.notify();
    this.app.notifyEvents();
    this.onBatch();
  }

  private drainPending(): UpdateMessage[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  private async refetchFlows(): Promise<void> {
    this.fetching = true;
    try {
      const flows = await this.backend.getFlows();
      this.flows.reset(flows);
    } catch (e) {
      this.app.setConn("error", `Cannot load the flows: ${(e as Error).message}`);
    }
    this.fetching = false;
    this.apply(this.drainPending());
    this.flows.notify();
    this.onBatch();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.backend.schedule(() => this.flush());
  }

  /** flush applies the queued messages and tells the stores once. */
  flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    if (q.length === 0) return;
    const { flowsChanged, appChanged } = this.apply(q);
    if (flowsChanged) this.flows.notify();
    if (appChanged) this.app.notify();
    this.onBatch();
  }

  /** BULK is the batch size from which the flow view is made anew once
   * rather than changed flow by flow. */
  static BULK = 256;

  private apply(msgs: UpdateMessage[]) {
    if (msgs.length < Connection.BULK) return this.applyMessages(msgs);
    let r = { flowsChanged: false, appChanged: false };
    this.flows.bulkApply(() => (r = this.applyMessages(msgs)));
    return r;
  }

  /** applyMessages applies messages in order; while /flows is fetched
   * (at start and after flows/reset) they wait. */
  applyMessages(msgs: UpdateMessage[]): { flowsChanged: boolean; appChanged: boolean } {
    let flowsChanged = false;
    let appChanged = false;
    let eventsChanged = false;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      if (this.fetching) {
        this.pending.push(m);
        continue;
      }
      switch (m.type) {
        case "flows/add":
          this.flows.add(m.payload.flow, m.payload.matching_filters);
          flowsChanged = true;
          break;
        case "flows/update":
          this.flows.update(m.payload.flow, m.payload.matching_filters);
          flowsChanged = true;
          break;
        case "flows/remove":
          this.flows.remove(m.payload);
          flowsChanged = true;
          break;
        case "flows/reset":
          this.fetching = true;
          flowsChanged = true;
          void this.refetchFlows();
          break;
        case "flows/filterUpdate":
          // An answer for a filter changed since is stale: the next one follows.
          this.flows.setMatches(m.payload.name, m.payload.matching_flow_ids);
          flowsChanged = true;
          break;
        case "events/add":
          this.app.addEvent(m.payload);
          eventsChanged = true;
          break;
        case "events/reset":
          this.app.setEvents([]);
          eventsChanged = true;
          break;
        case "options/update":
          this.app.updateOptions(m.payload);
          globalThis.dispatchEvent?.(new CustomEvent("mitmgo:options-update", { detail: m.payload }));
          appChanged = true;
          break;
        case "state/update":
          this.app.state = { ...(this.app.state ?? ({} as never)), ...m.payload };
          appChanged = true;
          break;
      }
    }
    if (eventsChanged) this.app.notifyEvents();
    return { flowsChanged, appChanged };
  }
}
