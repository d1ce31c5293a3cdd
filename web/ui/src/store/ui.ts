// UI state: the header tab, panes, dialogs and the filter inputs' text.
// Layout choices are kept in localStorage.

import { Topic, type Listener } from "./topic";

export type Tab = "start" | "options" | "flow";
export type Modal = null | "options" | "help";

function load<T>(key: string, fallback: T): T {
  try {
    const v = globalThis.localStorage?.getItem("mitmweb." + key);
    return v === null || v === undefined ? fallback : (JSON.parse(v) as T);
  } catch {
    return fallback;
  }
}

function save(key: string, v: unknown) {
  try {
    globalThis.localStorage?.setItem("mitmweb." + key, JSON.stringify(v));
  } catch {
    /* private mode: not kept */
  }
}

export class UIStore {
  tab: Tab = "start";
  modal: Modal = null;
  showEventLog = load("showEventLog", false);
  showCommandBar = load("showCommandBar", false);
  eventLevels: Record<string, boolean> = load("eventLevels", { debug: false, info: true, warn: true, error: true });
  detailWidth = load("detailWidth", 0.5);
  eventLogHeight = load("eventLogHeight", 200);
  search = "";
  highlight = "";
  /** focusSearch asks the search input to take the focus. */
  focusSearchSeq = 0;
  private readonly changes = new Topic();
  version = 0;

  subscribe(l: Listener): () => void {
    return this.changes.subscribe(l);
  }

  set<K extends keyof this>(key: K, v: this[K]): void {
    this[key] = v;
    if (
      key === "showEventLog" ||
      key === "showCommandBar" ||
      key === "eventLevels" ||
      key === "detailWidth" ||
      key === "eventLogHeight"
    ) {
      save(key as string, v);
    }
    this.version++;
    this.changes.notify();
  }
}
