import { describe, expect, it } from "vitest";
import type { HTTPResponse } from "../flowtypes";
import {
  FALLBACK_VIEWS,
  ViewChoices,
  chooseView,
  contentKey,
  describe as describeBody,
  firstLines,
  isArriving,
  isImage,
  isTruncated,
  moreLines,
  namesFromState,
  sameNames,
  searchText,
  unavailableText,
  viewOptions,
} from "./contentview";

const resp = (headers: [string, string][], contentLength: number | null = 10): HTTPResponse => ({
  http_version: "HTTP/1.1",
  status_code: 200,
  reason: "OK",
  headers,
  contentLength,
  contentHash: "h",
  timestamp_start: 1,
  timestamp_end: 2,
});

describe("view selection", () => {
  it("offers auto first, then the server's views, scripts' included, once each", () => {
    expect(viewOptions(["auto", "json", "xml/html", "JSON", "swapcase"])).toEqual(["auto", "json", "xml/html", "swapcase"]);
  });
  it("falls back to mitmproxy's list", () => {
    expect(viewOptions(undefined)).toEqual(FALLBACK_VIEWS);
    expect(viewOptions([])).toContain("hex dump");
  });
  it("keeps a remembered view only while it is offered", () => {
    const opts = viewOptions(["json", "hex dump"]);
    expect(chooseView(opts, "HEX DUMP")).toBe("hex dump");
    expect(chooseView(opts, "gone")).toBe("auto");
    expect(chooseView(opts, undefined)).toBe("auto");
  });
  it("remembers per flow and part", () => {
    const c = new ViewChoices();
    c.set("f1", "request", "json");
    expect(c.get("f1", "request")).toBe("json");
    expect(c.get("f1", "response")).toBeUndefined();
    expect(c.get("f2", "request")).toBeUndefined();
  });
});

describe("lines", () => {
  it("knows a cut text by its extra line", () => {
    expect(isTruncated("a\nb\nc", 2)).toBe(true);
    expect(isTruncated("a\nb", 2)).toBe(false);
    expect(firstLines("a\nb\nc", 2)).toBe("a\nb");
    expect(firstLines("a", 2)).toBe("a");
    expect(moreLines(512)).toBe(1024);
    expect(moreLines(2048)).toBe(4096);
  });
});

describe("search", () => {
  it("marks every match, any case", () => {
    const r = searchText("Foo bar foo", "foo");
    expect(r.count).toBe(2);
    expect(r.segments).toEqual([
      { text: "Foo", match: true },
      { text: " bar ", match: false },
      { text: "foo", match: true },
    ]);
  });
  it("keeps the text whole without a query or a match", () => {
    expect(searchText("abc", "").segments).toEqual([{ text: "abc", match: false }]);
    expect(searchText("abc", "x")).toEqual({ segments: [{ text: "abc", match: false }], count: 0, capped: false });
    expect(searchText("", "x").segments).toEqual([{ text: "", match: false }]);
  });
  it("caps the marks", () => {
    const r = searchText("aaaa", "a", 2);
    expect(r.count).toBe(2);
    expect(r.capped).toBe(true);
    expect(r.segments.map((s) => s.text).join("")).toBe("aaaa");
  });
});

describe("messages", () => {
  it("shows images the browser can show", () => {
    expect(isImage(resp([["content-type", "image/png"]]))).toBe(true);
    expect(isImage(resp([["Content-Type", "image/svg+xml; charset=utf-8"]]))).toBe(true);
    expect(isImage(resp([["content-type", "image/x-unknown"]]))).toBe(false);
    expect(isImage(resp([]))).toBe(false);
  });
  it("describes the body", () => {
    expect(describeBody(resp([], 0), undefined)).toBe("No content");
    expect(describeBody(resp([], null), undefined)).toBe("Content missing");
    expect(describeBody(resp([]), undefined)).toBe("Loading…");
    expect(describeBody(resp([]), { text: "", view_name: "JSON", description: "[decoded gzip]", syntax_highlight: "" })).toBe("JSON [decoded gzip]");
    expect(describeBody(resp([]), undefined, "in progress")).toBe("in progress");
  });
  it("changes its key as the body grows or completes", () => {
    const a = resp([]);
    expect(contentKey(a)).not.toBe(contentKey({ ...a, contentLength: 20 }));
    expect(contentKey({ ...a, timestamp_end: null })).not.toBe(contentKey(a));
    expect(contentKey(a)).toBe(contentKey({ ...a }));
  });
});

describe("views from the server state", () => {
  it("follows state/update's contentViews", () => {
    expect(namesFromState(null)).toBeUndefined();
    expect(namesFromState({})).toBeUndefined();
    expect(namesFromState({ contentViews: ["Raw", "JSON", "my view"] })).toEqual(["auto", "Raw", "JSON", "my view"]);
    expect(sameNames(["auto", "a"], ["auto", "a"])).toBe(true);
    expect(sameNames(["auto", "a"], ["auto", "a", "b"])).toBe(false);
    expect(sameNames(["auto", "a"], ["auto", "b"])).toBe(false);
  });
});

describe("a body still arriving", () => {
  it("says so in the title until the message ends", () => {
    const data = { text: "data: one", view_name: "Raw", syntax_highlight: "none", description: "" };
    expect(isArriving({ contentLength: 12, timestamp_end: null })).toBe(true);
    expect(isArriving({ contentLength: 12, timestamp_end: 5 })).toBe(false);
    expect(isArriving({ contentLength: null, timestamp_end: null })).toBe(false);
    expect(isArriving({ contentLength: 12 })).toBe(false);
    expect(describeBody({ contentLength: 2048, timestamp_end: null }, data)).toBe("Raw (arriving: 2kb so far)");
    expect(describeBody({ contentLength: 0, timestamp_end: null }, undefined)).toBe("Arriving…");
    expect(describeBody({ contentLength: 2048, timestamp_end: 1 }, data)).toBe("Raw");
  });

  it("explains why a body cannot be shown", () => {
    expect(unavailableText("The body is streamed and not kept (see store_streamed_bodies and event_stream_store).")).toMatch(/not kept/);
    expect(unavailableText("Flow is in progress; intercept it to change it.")).toMatch(/still in progress/);
  });
});
