// Keyboard shortcuts of the flow list, as mitmweb's: keyDown maps a key
// press to an action; the app carries actions out. Keys typed into inputs
// and keys with Ctrl/Meta/Alt are left to the browser.

export type Action =
  | { type: "selectRelative"; delta: number }
  | { type: "escape" }
  | { type: "tab"; delta: number }
  | { type: "delete" }
  | { type: "duplicate" }
  | { type: "resume" }
  | { type: "resumeAll" }
  | { type: "replay" }
  | { type: "revert" }
  | { type: "kill" }
  | { type: "killAll" }
  | { type: "clear" }
  | { type: "mark" }
  | { type: "newFlow" }
  | { type: "focusSearch" }
  | { type: "help" };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** target, when given: a key typed into an input is not a shortcut. */
  target?: EventTarget | null;
}

const table: Record<string, Action> = {
  k: { type: "selectRelative", delta: -1 },
  ArrowUp: { type: "selectRelative", delta: -1 },
  j: { type: "selectRelative", delta: 1 },
  ArrowDown: { type: "selectRelative", delta: 1 },
  " ": { type: "selectRelative", delta: 10 },
  PageDown: { type: "selectRelative", delta: 10 },
  PageUp: { type: "selectRelative", delta: -10 },
  End: { type: "selectRelative", delta: 1e10 },
  Home: { type: "selectRelative", delta: -1e10 },
  Escape: { type: "escape" },
  ArrowLeft: { type: "tab", delta: -1 },
  ArrowRight: { type: "tab", delta: 1 },
  Tab: { type: "tab", delta: 1 },
  Delete: { type: "delete" },
  d: { type: "delete" },
  D: { type: "duplicate" },
  a: { type: "resume" },
  A: { type: "resumeAll" },
  r: { type: "replay" },
  v: { type: "revert" },
  x: { type: "kill" },
  X: { type: "killAll" },
  z: { type: "clear" },
  m: { type: "mark" },
  n: { type: "newFlow" },
  "/": { type: "focusSearch" },
  "?": { type: "help" },
};

function isEditable(t: EventTarget | null | undefined): boolean {
  if (!t || typeof (t as Element).tagName !== "string") return false;
  const el = t as HTMLElement;
  const tag = el.tagName.toUpperCase();
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable === true;
}

/** keyDown is the action of a key press, or null when it is not one. */
export function keyDown(e: KeyLike): Action | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (isEditable(e.target)) return null;
  return table[e.key] ?? null;
}

/** The shortcuts, for the help overlay. */
export const shortcutHelp: [string, string][] = [
  ["j / ↓, k / ↑", "next / previous flow"],
  ["Space / PageDown, PageUp", "down / up 10 flows"],
  ["Home, End", "first / last flow"],
  ["← / →, Tab", "previous / next detail tab"],
  ["Esc", "close the dialog, or deselect"],
  ["a, A", "resume the flow, resume all"],
  ["x, X", "kill the flow, kill all intercepted"],
  ["r", "replay"],
  ["D", "duplicate"],
  ["v", "revert changes"],
  ["d / Delete", "delete"],
  ["m", "mark / unmark"],
  ["n", "new request"],
  ["z", "clear all flows"],
  ["/", "focus the search"],
  ["?", "this help"],
];
