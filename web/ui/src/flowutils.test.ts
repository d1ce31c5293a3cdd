import { describe, expect, it } from "vitest";
import type { DNSFlow, TCPFlow } from "./flowtypes";
import { getMethod, mainPath, resourceType, sortKey, statusClass, totalSize, duration, httpMajor, isTLS } from "./flowutils";
import { httpFlow } from "./testutil";

describe("flow columns", () => {
  it("shows an HTTP flow", () => {
    const f = httpFlow({ id: "h", path: "/a?b=1", status: 404, size: 10 });
    expect(mainPath(f)).toBe("http://example.com/a?b=1");
    f.request.port = 8080;
    expect(mainPath(f)).toBe("http://example.com:8080/a?b=1");
    expect(getMethod(f)).toBe("GET");
    expect(totalSize(f)).toBe(10);
    expect(duration(f)).toBeCloseTo(0.2);
    expect(sortKey("status", f, 0)).toBe(404);
    expect(isTLS(f)).toBe(false);
    expect(httpMajor(f)).toBe("");
    f.request.http_version = "HTTP/2.0";
    f.request.scheme = "https";
    expect(httpMajor(f)).toBe("2");
    expect(isTLS(f)).toBe(true);
  });

  it("picks icons from the response", () => {
    const f = httpFlow({ status: 200 });
    expect(resourceType(f)).toBe("plain");
    f.response!.headers = [["Content-Type", "text/html; charset=utf-8"]];
    expect(resourceType(f)).toBe("html");
    f.response!.headers = [["content-type", "image/png"]];
    expect(resourceType(f)).toBe("image");
    f.response!.status_code = 301;
    expect(resourceType(f)).toBe("redirect");
    f.response!.status_code = 304;
    expect(resourceType(f)).toBe("not-modified");
    f.websocket = {
      messages_meta: { contentLength: 5, count: 1, timestamp_last: 2000 },
      closed_by_client: null,
      close_code: null,
      close_reason: null,
      timestamp_end: null,
    };
    expect(resourceType(f)).toBe("websocket");
    expect(getMethod(f)).toBe("WS");
    expect(totalSize(f)).toBe(5);
  });

  it("shows TCP and DNS flows", () => {
    const base = httpFlow();
    const tcp: TCPFlow = {
      ...base,
      type: "tcp",
      messages_meta: { contentLength: 42, count: 2, timestamp_last: 1001 },
      server_conn: { ...base.client_conn!, address: ["10.0.0.1", 22], timestamp_tcp_setup: null },
    };
    expect(mainPath(tcp)).toBe("127.0.0.1:5000 ↔ 10.0.0.1:22");
    expect(getMethod(tcp)).toBe("TCP");
    expect(resourceType(tcp)).toBe("tcp");
    expect(totalSize(tcp)).toBe(42);
    const msg = {
      id: 1,
      query: true,
      op_code: "QUERY",
      authoritative_answer: false,
      truncation: false,
      recursion_desired: true,
      recursion_available: false,
      response_code: "NOERROR",
      questions: [{ name: "example.com", type: "A", class: "IN" }],
      answers: [],
      authorities: [],
      additionals: [],
      timestamp: 1000,
    };
    const dns: DNSFlow = { ...base, type: "dns", request: msg } as DNSFlow;
    expect(mainPath(dns)).toBe("example.com A = ...");
    dns.response = { ...msg, answers: [{ name: "example.com", type: "A", class: "IN", ttl: 1, data: "1.2.3.4" }] };
    expect(mainPath(dns)).toBe("example.com A = 1.2.3.4");
    expect(getMethod(dns)).toBe("QUERY");
    expect(resourceType(dns)).toBe("dns");
  });

  it("colours status codes", () => {
    expect(statusClass(200)).toBe("status-2xx");
    expect(statusClass(502)).toBe("status-5xx");
    expect(statusClass("NXDOMAIN")).toBe("status-other");
    expect(statusClass("NOERROR")).toBe("status-2xx");
  });
});
