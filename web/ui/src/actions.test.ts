import { describe, expect, it } from "vitest";
import { perform } from "./actions";
import type { Connection } from "./connection";
import type { Stores } from "./hooks";
import { keyDown } from "./keyboard";
import { AppStore } from "./store/app";
import { FlowStore } from "./store/flowstore";
import { UIStore } from "./store/ui";
import { httpFlow } from "./testutil";

function stores(): Stores {
  const flows = new FlowStore();
  for (const id of ["a", "b", "c"]) flows.add(httpFlow({ id }));
  return { flows, app: new AppStore(), ui: new UIStore(), conn: {} as Connection };
}

const press = (s: Stores, key: string) => {
  const a = keyDown({ key });
  if (!a) throw new Error("no action for " + key);
  return perform(s, a);
};

describe("keyboard actions", () => {
  it("moves the selection and tells the table once per key", () => {
    const s = stores();
    let notified = 0;
    s.flows.subscribe(() => notified++);
    press(s, "j");
    press(s, "j");
    expect(s.flows.selected).toEqual(["b"]);
    press(s, "k");
    expect(s.flows.selected).toEqual(["a"]);
    press(s, "End");
    expect(s.flows.selected).toEqual(["c"]);
    expect(notified).toBe(4);
  });

  it("closes a dialog with Escape before it deselects", () => {
    const s = stores();
    s.flows.select(["b"]);
    s.ui.set("modal", "help");
    expect(press(s, "Escape")).toBe(true);
    expect(s.ui.modal).toBeNull();
    expect(s.flows.selected).toEqual(["b"]);
    expect(press(s, "Escape")).toBe(true);
    expect(s.flows.selected).toEqual([]);
    // Nothing to do: the key keeps its default.
    expect(press(s, "Escape")).toBe(false);
  });

  it("opens the help and focuses the search", () => {
    const s = stores();
    s.ui.set("tab", "options");
    press(s, "/");
    expect(s.ui.tab).toBe("start");
    expect(s.ui.focusSearchSeq).toBe(1);
    press(s, "?");
    expect(s.ui.modal).toBe("help");
    press(s, "?");
    expect(s.ui.modal).toBeNull();
  });

  it("switches detail tabs only with a selected flow", () => {
    const s = stores();
    expect(press(s, "ArrowRight")).toBe(false);
    const got: number[] = [];
    const on = (e: Event) => got.push((e as CustomEvent).detail.delta);
    const target = globalThis as unknown as Partial<EventTarget>;
    target.addEventListener?.("mitmgo:detail-tab", on);
    s.flows.select(["a"]);
    expect(press(s, "ArrowLeft")).toBe(true);
    target.removeEventListener?.("mitmgo:detail-tab", on);
    if (target.addEventListener) expect(got).toEqual([-1]);
  });
});
