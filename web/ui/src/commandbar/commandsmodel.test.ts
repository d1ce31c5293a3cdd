import { describe, expect, it } from "vitest";
import type { Commands } from "../flowtypes";
import {
  History,
  argTarget,
  commonPrefix,
  complete,
  completeArg,
  hint,
  matchingCommands,
  parse,
  quoteArg,
  resultText,
  tokenize,
} from "./commandsmodel";

const cmd = (params: [string, string, boolean?][], help = "") => ({
  help,
  parameters: params.map(([name, type, v]) => ({ name, type, kind: v ? "VAR_POSITIONAL" : "POSITIONAL_OR_KEYWORD" })),
  return_type: null,
  signature_help: "sig",
});

const commands: Commands = {
  "flow.resume": cmd([["flows", "flow[]"]], "Resume flows."),
  "flow.mark": cmd([["flows", "flow[]"], ["marker", "marker"]]),
  "flow.kill": cmd([["flows", "flow[]"]]),
  set: cmd([["option", "str"], ["value", "str", true]], "Set an option."),
  "export": cmd([["format", "str"], ["f", "flow"]]),
  "export.file": cmd([["format", "str"], ["flow", "flow"], ["path", "path"]]),
};

describe("parsing", () => {
  it("splits at spaces outside quotes", () => {
    expect(tokenize(`set  intercept "~q ~u /x" 'a b'`).map((t) => t.text)).toEqual(["set", "intercept", "~q ~u /x", "a b"]);
    expect(tokenize(`x "a \\" b"`).map((t) => t.text)).toEqual(["x", 'a " b']);
    expect(tokenize("   ")).toEqual([]);
  });
  it("knows which argument is typed", () => {
    expect(parse("se")).toEqual({ cmd: "se", args: [], argIndex: -1 });
    expect(parse("set ")).toEqual({ cmd: "set", args: [], argIndex: 0 });
    expect(parse("set anti")).toEqual({ cmd: "set", args: ["anti"], argIndex: 0 });
    expect(parse("set anticache ")).toEqual({ cmd: "set", args: ["anticache"], argIndex: 1 });
    expect(parse("")).toEqual({ cmd: "", args: [], argIndex: -1 });
  });
});

describe("completion", () => {
  it("finds command names by prefix", () => {
    expect(matchingCommands(commands, "flow.")).toEqual(["flow.kill", "flow.mark", "flow.resume"]);
    expect(matchingCommands(commands, "zz")).toEqual([]);
    expect(commonPrefix(["flow.kill", "flow.mark"])).toBe("flow.");
    expect(commonPrefix([])).toBe("");
  });
  it("completes a single match with a space", () => {
    expect(complete(commands, "se", -1)).toEqual({ line: "set ", candidates: ["set"] });
  });
  it("completes the shared prefix, then cycles", () => {
    expect(complete(commands, "fl", -1).line).toBe("flow.");
    expect(complete(commands, "flow.", -1).line).toBe("flow.kill");
    expect(complete(commands, "flow.", 1).line).toBe("flow.mark");
    expect(complete(commands, "flow.", 3).line).toBe("flow.kill");
    expect(complete(commands, "exp", -1)).toEqual({ line: "export", candidates: ["export", "export.file"] });
  });
  it("leaves arguments alone", () => {
    expect(complete(commands, "set anti", -1)).toEqual({ line: "set anti", candidates: [] });
    expect(complete(commands, "nope", -1)).toEqual({ line: "nope", candidates: [] });
  });
});

describe("hints", () => {
  it("marks the parameter being typed", () => {
    expect(hint(commands, "nope x")).toBeUndefined();
    const h = hint(commands, "flow.mark @all ")!;
    expect(h.help).toBe("");
    expect(h.params.map((p) => [p.name, p.current])).toEqual([
      ["flows", false],
      ["marker", true],
    ]);
    const v = hint(commands, "set a b c ")!;
    expect(v.params.map((p) => [p.name, p.current, p.variadic])).toEqual([
      ["option", false, false],
      ["value", true, true],
    ]);
    expect(hint(commands, "set")!.params.every((p) => !p.current)).toBe(true);
  });
});

describe("history", () => {
  it("goes back and forth, keeping the draft", () => {
    const h = new History();
    h.add("one");
    h.add("two");
    h.add("two");
    h.add("  ");
    expect(h.entries).toEqual(["one", "two"]);
    expect(h.prev("draft")).toBe("two");
    expect(h.prev("two")).toBe("one");
    expect(h.prev("one")).toBe("one");
    expect(h.next()).toBe("two");
    expect(h.next()).toBe("draft");
    expect(h.next()).toBe("draft");
  });
  it("keeps at most max entries", () => {
    const h = new History(["a", "b", "c"], 3);
    h.add("d");
    expect(h.entries).toEqual(["b", "c", "d"]);
  });
});

describe("results", () => {
  it("shows values and errors", () => {
    expect(resultText({ value: "text" })).toEqual({ text: "text", error: false });
    expect(resultText({ value: null })).toEqual({ text: "(no result)", error: false });
    expect(resultText({ value: ["a", 1] })).toEqual({ text: '[\n  "a",\n  1\n]', error: false });
    expect(resultText({ error: "Unknown command: x" })).toEqual({ text: "Unknown command: x", error: true });
  });
});

describe("argument completion", () => {
  it("finds the argument being typed", () => {
    expect(argTarget(commands, "")).toBeUndefined();
    expect(argTarget(commands, "flow.m")).toBeUndefined();
    expect(argTarget(commands, "no.such ")).toBeUndefined();
    const name = Object.keys(commands)[0];
    expect(argTarget(commands, name + " ")).toEqual({ cmd: name, index: 0, text: "", args: [], start: name.length + 1 });
    expect(argTarget(commands, name + "  @fo")).toEqual({ cmd: name, index: 0, text: "@fo", args: [], start: name.length + 2 });
    expect(argTarget(commands, name + ' "a b" c')).toEqual({ cmd: name, index: 1, text: "c", args: ["a b"], start: name.length + 7 });
    expect(argTarget(commands, name + ' "a b" ')).toMatchObject({ index: 1, text: "", args: ["a b"] });
  });

  it("quotes what the lexer would split", () => {
    expect(quoteArg("@all")).toBe("@all");
    expect(quoteArg("a b")).toBe('"a b"');
    expect(quoteArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteArg("")).toBe('""');
    expect(tokenize("x " + quoteArg('a "b" \\c'))[1].text).toBe('a "b" \\c');
  });

  it("completes one, then the shared prefix, then cycles", () => {
    const line = "set web_th";
    const t = argTarget({ set: commands[Object.keys(commands)[0]] }, line)!;
    expect(completeArg(line, t, [])).toEqual({ line, candidates: [] });
    expect(completeArg(line, t, ["web_theme"])).toEqual({ line: "set web_theme ", candidates: ["set web_theme"] });
    const dir = completeArg("save.file ./d", { cmd: "save.file", index: 0, text: "./d", args: [], start: 10 }, ["./dir/"]);
    expect(dir.line).toBe("save.file ./dir/");
    const t2 = { cmd: "flow.mark", index: 0, text: "@", args: [], start: 10 };
    expect(completeArg("flow.mark @", t2, ["@marked", "@mine"]).line).toBe("flow.mark @m");
    const c = completeArg("flow.mark @m", { ...t2, text: "@m" }, ["@marked", "@mine"]);
    expect(c).toEqual({ line: "flow.mark @m", candidates: ["flow.mark @marked", "flow.mark @mine"] });
    // A shared prefix with a space leaves the quote open, to type on in it.
    const q = completeArg("x ", { cmd: "x", index: 0, text: "", args: [], start: 2 }, ["a b1", "a b2"]);
    expect(q.line).toBe('x "a b');
    expect(tokenize(q.line)[1].text).toBe("a b");
  });
});
