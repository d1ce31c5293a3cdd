// The actions of the menus and the keyboard on the selected flows.
import * as api from "./api";
import type { Flow } from "./flowtypes";
import { canReplay, canResume, canRevert } from "./flowutils";
import type { Stores } from "./hooks";
import type { Action } from "./keyboard";

function selectedFlows(s: Stores): Flow[] {
  return s.flows.selected.map((id) => s.flows.get(id)).filter((f): f is Flow => f !== undefined);
}

/** run runs one API call per flow and reports failures as a notice. */
async function each(s: Stores, flows: Flow[], fn: (f: Flow) => Promise<unknown>, what: string) {
  const results = await Promise.allSettled(flows.map(fn));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) s.app.setNotice(`${what} failed: ${(failed.reason as Error).message}`);
}

async function one(s: Stores, fn: () => Promise<unknown>, what: string) {
  try {
    await fn();
  } catch (e) {
    s.app.setNotice(`${what} failed: ${(e as Error).message}`);
  }
}

export const resume = (s: Stores) => each(s, selectedFlows(s).filter(canResume), (f) => api.resumeFlow(f.id), "Resume");
export const kill = (s: Stores) => each(s, selectedFlows(s).filter(canResume), (f) => api.killFlow(f.id), "Kill");
export const replay = (s: Stores) => each(s, selectedFlows(s).filter(canReplay), (f) => api.replayFlow(f.id), "Replay");
export const revert = (s: Stores) => each(s, selectedFlows(s).filter(canRevert), (f) => api.revertFlow(f.id), "Revert");
export const duplicate = (s: Stores) => each(s, selectedFlows(s), (f) => api.duplicateFlow(f.id), "Duplicate");

export function remove(s: Stores) {
  const flows = selectedFlows(s);
  if (!flows.length) return;
  const next = s.flows.neighbour();
  s.flows.select(next ? [next] : []);
  s.flows.notify();
  return each(s, flows, (f) => api.deleteFlow(f.id), "Delete");
}

/** toggleMark marks the selected flows (unmarks them when the first is
 * marked). */
export function toggleMark(s: Stores, marker = ":default:") {
  const flows = selectedFlows(s);
  if (!flows.length) return;
  const value = flows[0].marked ? "" : marker;
  return each(s, flows, (f) => api.markFlow(f.id, value), "Mark");
}

export const resumeAll = (s: Stores) => one(s, api.resumeAll, "Resume all");
export const killAll = (s: Stores) => one(s, api.killAll, "Kill all");
export const clearAll = (s: Stores) => one(s, api.clearAll, "Clear");

export function newFlow(s: Stores) {
  return one(
    s,
    async () => {
      const r = await api.runCommand("view.flows.create", "get", "https://example.com/");
      if (r.error) throw new Error(r.error);
    },
    "New request",
  );
}

/** setIntercept sets the intercept filter. intercept_active goes with it
 * in the same update: the intercept addon would turn it on itself, but
 * only after the update is answered, and a request in between would pass. */
export function setIntercept(s: Stores, expr: string) {
  return one(
    s,
    () => s.app.queueOptionWrite(() => api.setOptions({ intercept: expr, intercept_active: expr !== "" })),
    "Setting the intercept filter",
  );
}

/** perform carries out a keyboard action. It returns false for an action
 * that did nothing, so the key keeps its default. */
export function perform(s: Stores, a: Action): boolean {
  switch (a.type) {
    case "selectRelative":
      s.flows.selectRelative(a.delta);
      s.flows.notify();
      return true;
    case "escape":
      if (s.ui.modal) s.ui.set("modal", null);
      else if (s.flows.selected.length) {
        s.flows.select([]);
        s.flows.notify();
      } else return false;
      return true;
    case "tab":
      if (!s.flows.selected.length) return false;
      // The detail pane (FlowDetail) switches its tab on this event.
      globalThis.dispatchEvent?.(new CustomEvent("mitmgo:detail-tab", { detail: { delta: a.delta } }));
      return true;
    case "delete":
      void remove(s);
      return true;
    case "duplicate":
      void duplicate(s);
      return true;
    case "resume":
      void resume(s);
      return true;
    case "resumeAll":
      void resumeAll(s);
      return true;
    case "replay":
      void replay(s);
      return true;
    case "revert":
      void revert(s);
      return true;
    case "kill":
      void kill(s);
      return true;
    case "killAll":
      void killAll(s);
      return true;
    case "clear":
      void clearAll(s);
      return true;
    case "mark":
      void toggleMark(s);
      return true;
    case "newFlow":
      void newFlow(s);
      return true;
    case "focusSearch":
      s.ui.set("tab", "start");
      s.ui.set("focusSearchSeq", s.ui.focusSearchSeq + 1);
      return true;
    case "help":
      s.ui.set("modal", s.ui.modal === "help" ? null : "help");
      return true;
  }
}
