import { describe, expect, it } from "vitest";
import { formatHash, parseHash } from "./urlstate";

describe("url state", () => {
  it("round-trips filters and the selection", () => {
    const s = { search: "~u /api & !~c 200", highlight: "~m POST", selected: "abc-123" };
    const h = formatHash(s);
    expect(h.startsWith("#/flows/abc-123/request?")).toBe(true);
    expect(parseHash(h)).toEqual(s);
  });
  it("reads mitmweb's hashes and empty ones", () => {
    expect(parseHash("")).toEqual({ search: "", highlight: "", selected: "" });
    expect(parseHash("#/flows?s=~q")).toEqual({ search: "~q", highlight: "", selected: "" });
    expect(parseHash("#/flows/f1/response")).toEqual({ search: "", highlight: "", selected: "f1" });
    expect(formatHash({ search: "", highlight: "", selected: "" })).toBe("#/flows");
  });
});
