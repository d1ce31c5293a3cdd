import { describe, expect, it } from "vitest";
import { keyDown } from "./keyboard";

describe("keyDown", () => {
  it.each([
    ["j", { type: "selectRelative", delta: 1 }],
    ["ArrowDown", { type: "selectRelative", delta: 1 }],
    ["k", { type: "selectRelative", delta: -1 }],
    ["ArrowUp", { type: "selectRelative", delta: -1 }],
    [" ", { type: "selectRelative", delta: 10 }],
    ["PageUp", { type: "selectRelative", delta: -10 }],
    ["End", { type: "selectRelative", delta: 1e10 }],
    ["Home", { type: "selectRelative", delta: -1e10 }],
    ["Escape", { type: "escape" }],
    ["ArrowRight", { type: "tab", delta: 1 }],
    ["Tab", { type: "tab", delta: 1 }],
    ["ArrowLeft", { type: "tab", delta: -1 }],
    ["a", { type: "resume" }],
    ["A", { type: "resumeAll" }],
    ["x", { type: "kill" }],
    ["X", { type: "killAll" }],
    ["r", { type: "replay" }],
    ["D", { type: "duplicate" }],
    ["d", { type: "delete" }],
    ["Delete", { type: "delete" }],
    ["v", { type: "revert" }],
    ["z", { type: "clear" }],
    ["m", { type: "mark" }],
    ["n", { type: "newFlow" }],
    ["/", { type: "focusSearch" }],
    ["?", { type: "help" }],
  ])("%j", (key, want) => expect(keyDown({ key })).toEqual(want));

  it("ignores unknown keys and modified keys", () => {
    expect(keyDown({ key: "q" })).toBeNull();
    expect(keyDown({ key: "j", ctrlKey: true })).toBeNull();
    expect(keyDown({ key: "a", metaKey: true })).toBeNull();
    expect(keyDown({ key: "x", altKey: true })).toBeNull();
  });

  it("leaves keys typed into inputs alone", () => {
    const input = { tagName: "input" } as unknown as EventTarget;
    const div = { tagName: "DIV" } as unknown as EventTarget;
    const editable = { tagName: "DIV", isContentEditable: true } as unknown as EventTarget;
    expect(keyDown({ key: "j", target: input })).toBeNull();
    expect(keyDown({ key: "j", target: editable })).toBeNull();
    expect(keyDown({ key: "j", target: div })).toEqual({ type: "selectRelative", delta: 1 });
  });
});
