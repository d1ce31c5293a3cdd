import { describe, expect, it } from "vitest";
import type { DNSFlow, Flow, HTTPFlow, TCPFlow } from "../flowtypes";
import { activeTab, nextTab, tabsFor, timingRows, toggledMarker } from "./tabs";

const base = { intercepted: false, is_replay: null, modified: false, marked: "", comment: "", timestamp_created: 1 };

const http: HTTPFlow = {
  ...base,
  id: "h",
  type: "http",
  request: {
    method: "GET", scheme: "http", host: "h", port: 80, path: "/", pretty_host: "h", http_version: "HTTP/1.1",
    headers: [], contentLength: 0, contentHash: null, timestamp_start: 10, timestamp_end: 11,
  },
  server_conn: {
    id: "s", peername: null, sockname: null, address: ["h", 80], tls_established: false, cert: null, sni: null,
    cipher: null, alpn: null, tls_version: null, timestamp_start: 10.5, timestamp_tcp_setup: 10.6, timestamp_tls_setup: null, timestamp_end: null,
  },
};

const ids = (f: Flow) => tabsFor(f).map((t) => t.id);

describe("tabs", () => {
  it("follow the flow type", () => {
    expect(ids(http)).toEqual(["request", "connection", "timing", "comment"]);
    const full: HTTPFlow = {
      ...http,
      response: { http_version: "HTTP/1.1", status_code: 200, reason: "OK", headers: [], contentLength: 0, contentHash: null, timestamp_start: 12, timestamp_end: 13 },
      websocket: { messages_meta: { contentLength: 0, count: 0, timestamp_last: null }, closed_by_client: null, close_code: null, close_reason: null, timestamp_end: null },
      error: { msg: "boom", timestamp: 14 },
    };
    expect(ids(full)).toEqual(["request", "response", "messages", "connection", "timing", "error", "comment"]);
    expect(tabsFor(full)[2].label).toBe("WebSocket");
    const tcp: TCPFlow = { ...base, id: "t", type: "tcp", messages_meta: { contentLength: 1, count: 1, timestamp_last: 3 } };
    expect(ids(tcp)).toEqual(["messages", "connection", "timing", "comment"]);
    expect(tabsFor({ ...tcp, type: "udp" } as Flow)[0].label).toBe("UDP Messages");
    const dns = { ...base, id: "d", type: "dns", request: { timestamp: 5 } } as unknown as DNSFlow;
    expect(ids(dns)).toEqual(["request", "connection", "timing", "comment"]);
  });
  it("keep the chosen tab where the flow has it", () => {
    const tabs = tabsFor(http);
    expect(activeTab(tabs, "timing")).toBe("timing");
    expect(activeTab(tabs, "response")).toBe("request");
    expect(activeTab(tabs, undefined)).toBe("request");
  });
  it("step with the arrow keys, wrapping around", () => {
    const tabs = tabsFor(http);
    expect(nextTab(tabs, "request", 1)).toBe("connection");
    expect(nextTab(tabs, "request", -1)).toBe("comment");
    expect(nextTab(tabs, "comment", 1)).toBe("request");
  });
});

describe("timing", () => {
  it("lists the timestamps earliest first", () => {
    expect(timingRows(http).map((r) => r.label)).toEqual([
      "First request byte",
      "Server conn. initiated",
      "Server conn. TCP handshake",
      "Request complete",
    ]);
  });
});

describe("mark", () => {
  it("toggles mitmproxy's default marker", () => {
    expect(toggledMarker("")).toBe(":default:");
    expect(toggledMarker("🔴")).toBe("");
  });
});
