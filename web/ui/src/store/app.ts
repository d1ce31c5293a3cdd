// The state of the page besides the flows: the event log, the options and
// the server state as /updates tells of them, and the connection status.
import type { BackendState, EventEntry, Options } from "../flowtypes";
import { defaultOperators, operatorsFromHelp, type OperatorTable } from "../filterexpr";
import { Topic, type Listener } from "./topic";

export type ConnState = "connecting" | "fetching" | "live" | "error";

/** The event log keeps as many entries as the server (web/web.go). */
export const MAX_EVENTS = 10000;

export const LEVELS = ["debug", "info", "warn", "error"] as const;

export class AppStore {
  conn: ConnState = "connecting";
  connError = "";
  events: EventEntry[] = [];
  options: Options = {};
  state: BackendState | null = null;
  filterHelp: [string, string][] = [];
  operators: OperatorTable = defaultOperators;
  /** Expressions the server refused (it closed /updates on them). */
  rejected = new Set<string>();
  /** optionWrites orders the page's PUT /options: a later value must not
   * be overtaken by an earlier one (the debounced intercept input sends
   * several as the user types). */
  private optionWrites: Promise<unknown> = Promise.resolve();

  /** queueOptionWrite runs write after the writes queued before it. */
  queueOptionWrite<T>(write: () => Promise<T>): Promise<T> {
    const p = this.optionWrites.then(write, write);
    this.optionWrites = p.catch(() => undefined);
    return p;
  }

  /** notice is a message for the user (a failed action), shown briefly. */
  notice = "";
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  version = 0;
  private readonly changes = new Topic();
  /** The event log has its own listeners: a busy proxy logs several
   * lines per flow, and only the log (and the status bar) show them. */
  eventsVersion = 0;
  readonly eventsTopic = new Topic();

  subscribe(l: Listener): () => void {
    return this.changes.subscribe(l);
  }

  notify(): void {
    this.version++;
    this.changes.notify();
  }

  notifyEvents(): void {
    this.eventsVersion++;
    this.eventsTopic.notify();
  }

  setConn(c: ConnState, err = ""): void {
    this.conn = c;
    this.connError = err;
    this.notify();
  }

  setNotice(msg: string): void {
    this.notice = msg;
    clearTimeout(this.noticeTimer);
    if (msg) this.noticeTimer = setTimeout(() => this.setNotice(""), 6000);
    this.notify();
  }

  /** errors counts the error entries in the log (the status bar's mark). */
  errors = 0;

  setEvents(evs: EventEntry[]): void {
    this.events = evs.slice(-MAX_EVENTS);
    this.errors = this.events.filter((e) => e.level === "error").length;
  }

  addEvent(e: EventEntry): void {
    this.events.push(e);
    if (e.level === "error") this.errors++;
    if (this.events.length > MAX_EVENTS + 1000) this.setEvents(this.events);
  }

  setOptions(o: Options): void {
    this.options = o;
  }

  updateOptions(o: Options): void {
    this.options = { ...this.options, ...o };
  }

  setFilterHelp(cmds: [string, string][]): void {
    this.filterHelp = cmds;
    const ops = operatorsFromHelp(cmds);
    if (ops.size > 0) this.operators = ops;
  }

  option<T>(name: string, fallback: T): T {
    const o = this.options[name];
    return o === undefined || o.value === undefined || o.value === null ? fallback : (o.value as T);
  }
}
