import { describe, expect, it } from "vitest";
import type { Option, Options } from "../flowtypes";
import { changed, displayValue, errorText, filterOptions, inputKind, isDefault, mergeOptions, parseValue } from "./optionsmodel";

const opt = (type: string, value: unknown, extra: Partial<Option> = {}): Option => ({
  type,
  value,
  default: value,
  help: "",
  choices: null,
  ...extra,
});

describe("inputs", () => {
  it("pick the input by type", () => {
    expect(inputKind(opt("bool", false))).toBe("bool");
    expect(inputKind(opt("int", 1))).toBe("int");
    expect(inputKind(opt("optional int", null))).toBe("int");
    expect(inputKind(opt("str", "a", { choices: ["a", "b"] }))).toBe("choice");
    expect(inputKind(opt("str", "a"))).toBe("text");
    expect(inputKind(opt("optional str", null))).toBe("text");
    expect(inputKind(opt("sequence of str", []))).toBe("sequence");
  });
  it("show values as text", () => {
    expect(displayValue(opt("optional str", null))).toBe("");
    expect(displayValue(opt("sequence of str", ["a", "b"]))).toBe("a\nb");
    expect(displayValue(opt("int", 8080))).toBe("8080");
  });
});

describe("values", () => {
  it.each<[string, string, unknown]>([
    ["int", "42", 42],
    ["int", " -1 ", -1],
    ["optional int", "", null],
    ["optional str", "", null],
    ["str", "", ""],
    ["str", "x y", "x y"],
    ["sequence of str", "a\n\n b \n", ["a", "b"]],
    ["sequence of str", "", []],
    ["bool", "true", true],
  ])("%s from %j", (type, text, want) => {
    expect(parseValue(opt(type, null), text)).toEqual(want);
  });
  it.each([
    ["int", ""],
    ["int", "1.5"],
    ["int", "x"],
    ["bool", "yes"],
  ])("refuses %s from %j", (type, text) => {
    expect(() => parseValue(opt(type, null), text)).toThrow();
  });
  it("knows defaults and changes", () => {
    const o = opt("sequence of str", ["a"], { default: [] });
    expect(isDefault(o)).toBe(false);
    expect(isDefault({ ...o, value: [] })).toBe(true);
    expect(changed(o, ["a"])).toBe(false);
    expect(changed(o, ["a", "b"])).toBe(true);
    expect(changed(opt("optional str", null), null)).toBe(false);
  });
});

describe("search", () => {
  const opts: Options = {
    listen_port: opt("int", 8080, { help: "Proxy service port." }),
    anticache: opt("bool", true, { default: false, help: "Strip out request headers that might cause the server to return 304." }),
    web_port: opt("int", 8081, { help: "Web UI port." }),
  };
  it("matches every word in name or help, sorted", () => {
    expect(filterOptions(opts, "")).toEqual(["anticache", "listen_port", "web_port"]);
    expect(filterOptions(opts, "PORT")).toEqual(["listen_port", "web_port"]);
    expect(filterOptions(opts, "port web")).toEqual(["web_port"]);
    expect(filterOptions(opts, "304")).toEqual(["anticache"]);
    expect(filterOptions(opts, "", true)).toEqual(["anticache"]);
  });
  it("merges live updates", () => {
    const m = mergeOptions(opts, { web_port: { ...opts.web_port, value: 9000 } });
    expect(m.web_port.value).toBe(9000);
    expect(m.listen_port).toBe(opts.listen_port);
  });
  it("shows the server's error", () => {
    expect(errorText(new Error("view_order: bad"))).toBe("view_order: bad");
    expect(errorText("")).toBe("The server refused the value.");
  });
});
