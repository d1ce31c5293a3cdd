import { describe, expect, it } from "vitest";
import { MAX_HIGHLIGHT, pieces, tokenize } from "./syntax";

const colour = (text: string, syntax: string) =>
  tokenize(text, syntax).map((t) => [text.slice(t.start, t.end), t.cls]);

describe("tokenize", () => {
  it("colours JSON as YAML", () => {
    expect(colour('{\n  "a": "x: y",\n  "n": -1.5e3,\n  "t": true, "z": null\n}', "yaml")).toEqual([
      ['"a"', "key"],
      ['"x: y"', "string"],
      ['"n"', "key"],
      ["-1.5e3", "number"],
      ['"t"', "key"],
      ["true", "keyword"],
      ['"z"', "key"],
      ["null", "keyword"],
    ]);
  });
  it("colours YAML keys, comments and escaped quotes", () => {
    expect(colour('name: "say \\"hi\\"" # note\n- item: 3\nurl: http://x/#frag', "yaml")).toEqual([
      ["name", "key"],
      ['"say \\"hi\\""', "string"],
      ["# note", "comment"],
      ["item", "key"],
      ["3", "number"],
      ["url", "key"],
    ]);
  });
  it("colours XML tags, attributes and comments", () => {
    expect(colour('<?xml version="1.0"?>\n<a href="x" b=\'y\'>text "q"</a><!-- c -->', "xml")).toEqual([
      ['<?xml version="1.0"?>', "meta"],
      ["a", "tag"],
      ["href", "attr"],
      ['"x"', "string"],
      ["b", "attr"],
      ["'y'", "string"],
      ["a", "tag"],
      ["<!-- c -->", "comment"],
    ]);
  });
  it("leaves other and huge texts alone", () => {
    expect(tokenize('{"a": 1}', "none")).toEqual([]);
    expect(tokenize('{"a": 1}', undefined)).toEqual([]);
    expect(tokenize('"' + "x".repeat(MAX_HIGHLIGHT) + '"', "yaml")).toEqual([]);
  });
});

describe("pieces", () => {
  it("merges colours with search matches", () => {
    const text = '"key": "value"';
    const r = pieces(text, tokenize(text, "yaml"), "Y\": \"V");
    expect(r.count).toBe(1);
    expect(r.pieces).toEqual([
      { text: '"ke', cls: "key" },
      { text: 'y"', cls: "key", match: 0 },
      { text: ': ', match: 0 },
      { text: '"v', cls: "string", match: 0 },
      { text: 'alue"', cls: "string" },
    ]);
    expect(r.pieces.map((p) => p.text).join("")).toBe(text);
  });
  it("works without tokens or query", () => {
    expect(pieces("abc", [], "")).toEqual({ pieces: [{ text: "abc" }], count: 0, capped: false });
    expect(pieces("", [], "x")).toEqual({ pieces: [{ text: "" }], count: 0, capped: false });
    expect(pieces("abab", [], "b")).toEqual({
      pieces: [{ text: "a" }, { text: "b", match: 0 }, { text: "a" }, { text: "b", match: 1 }],
      count: 2,
      capped: false,
    });
  });
  it("caps the matches", () => {
    const r = pieces("aaaa", [], "a", 3);
    expect(r.count).toBe(3);
    expect(r.capped).toBe(true);
    expect(r.pieces.map((p) => p.text).join("")).toBe("aaaa");
  });
});
