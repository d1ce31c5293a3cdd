import { describe, expect, it } from "vitest";
import type { HTTPRequest, HTTPResponse } from "../flowtypes";
import {
  addHeader,
  editHeader,
  headerRows,
  invalidHeaderName,
  isEmptyUpdate,
  parseURL,
  removeHeader,
  requestDraft,
  requestURL,
  requestUpdate,
  responseDraft,
  responseUpdate,
  rowsToHeaders,
} from "./editmodel";

const req: HTTPRequest = {
  method: "GET",
  scheme: "https",
  host: "example.com",
  port: 443,
  path: "/a?b=1",
  pretty_host: "example.com",
  http_version: "HTTP/1.1",
  headers: [
    ["Host", "example.com"],
    ["Accept", "*/*"],
  ],
  contentLength: 0,
  contentHash: null,
  timestamp_start: 1,
  timestamp_end: 2,
};

const resp: HTTPResponse = {
  http_version: "HTTP/1.1",
  status_code: 200,
  reason: "OK",
  headers: [["Content-Type", "text/plain"]],
  contentLength: 5,
  contentHash: "x",
  timestamp_start: 3,
  timestamp_end: 4,
};

describe("header rows", () => {
  it("adds, edits and removes rows by identity", () => {
    let rows = headerRows(req.headers);
    rows = addHeader(rows, "X-New", "1");
    rows = editHeader(rows, rows[1].key, "value", "text/html");
    rows = removeHeader(rows, rows[0].key);
    expect(rowsToHeaders(rows)).toEqual([
      ["Accept", "text/html"],
      ["X-New", "1"],
    ]);
  });
  it("drops rows without a name and keeps duplicates and order", () => {
    let rows = headerRows([
      ["a", "1"],
      ["a", "2"],
    ]);
    rows = addHeader(rows);
    expect(rowsToHeaders(rows)).toEqual([
      ["a", "1"],
      ["a", "2"],
    ]);
  });
  it("refuses bad names", () => {
    expect(invalidHeaderName("X-Ok")).toBe(false);
    expect(invalidHeaderName(":authority")).toBe(false);
    expect(invalidHeaderName("")).toBe(false);
    expect(invalidHeaderName("bad name")).toBe(true);
    expect(invalidHeaderName("a\nb")).toBe(true);
  });
});

describe("URL", () => {
  it.each([
    ["https://example.com/a?b=1", { scheme: "https", host: "example.com", port: 443, path: "/a?b=1" }],
    ["http://h:8080", { scheme: "http", host: "h", port: 8080, path: "/" }],
    ["http://[::1]:81/x", { scheme: "http", host: "::1", port: 81, path: "/x" }],
    ["HTTP://user:pw@h/p q", { scheme: "http", host: "h", port: 80, path: "/p q" }],
  ])("parses %s", (url, want) => {
    expect(parseURL(url)).toEqual(want);
  });
  it.each(["example.com/a", "http://", "http://h:99999/", "http://h:x/", "ftp://h/"])("refuses %s", (url) => {
    expect(() => parseURL(url)).toThrow();
  });
  it("shows the port only when not the default", () => {
    expect(requestURL(req)).toBe("https://example.com/a?b=1");
    expect(requestURL({ ...req, port: 8443 })).toBe("https://example.com:8443/a?b=1");
    expect(requestURL({ ...req, host: "::1" })).toBe("https://[::1]/a?b=1");
  });
});

describe("updates", () => {
  it("sends nothing for an unchanged request", () => {
    expect(isEmptyUpdate(requestUpdate(req, requestDraft(req), ""))).toBe(true);
    expect(isEmptyUpdate(responseUpdate(resp, responseDraft(resp), "hello"))).toBe(true);
  });
  it("sends only the changed request fields", () => {
    const d = requestDraft(req);
    d.method = "POST";
    d.url = "http://example.com:8080/new";
    d.headers = addHeader(d.headers, "X-A", "b");
    d.content = "body";
    expect(requestUpdate(req, d, "")).toEqual({
      method: "POST",
      scheme: "http",
      port: 8080,
      path: "/new",
      headers: [...req.headers, ["X-A", "b"]],
      content: "body",
    });
  });
  it("sends the changed response fields", () => {
    const d = responseDraft(resp);
    d.code = "404";
    d.reason = "Not Found";
    d.content = "gone";
    expect(responseUpdate(resp, d, "hello")).toEqual({ code: 404, reason: "Not Found", content: "gone" });
  });
  it("refuses bad values", () => {
    expect(() => responseUpdate(resp, { ...responseDraft(resp), code: "20" })).toThrow(/status code/);
    expect(() => requestUpdate(req, { ...requestDraft(req), method: "GE T" })).toThrow(/method/);
    expect(() => requestUpdate(req, { ...requestDraft(req), url: "nope" })).toThrow(/URL/);
    const d = requestDraft(req);
    d.headers = addHeader(d.headers, "bad name", "x");
    expect(() => requestUpdate(req, d)).toThrow(/header name/);
  });
});
