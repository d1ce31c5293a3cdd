// Test helpers: flows as the server sends them.
import type { HTTPFlow } from "./flowtypes";

let n = 0;
export function httpFlow(over: Partial<HTTPFlow> & { path?: string; status?: number; size?: number } = {}): HTTPFlow {
  const id = over.id ?? `f${++n}`;
  const f: HTTPFlow = {
    id,
    type: "http",
    intercepted: false,
    is_replay: null,
    modified: false,
    marked: "",
    comment: "",
    timestamp_created: 1000 + n,
    client_conn: {
      id: "c",
      peername: ["127.0.0.1", 5000],
      sockname: ["127.0.0.1", 8080],
      tls_established: false,
      cert: null,
      sni: null,
      cipher: null,
      alpn: null,
      tls_version: null,
      timestamp_start: 1000,
      timestamp_tls_setup: null,
      timestamp_end: null,
    },
    request: {
      method: "GET",
      scheme: "http",
      host: "example.com",
      port: 80,
      path: over.path ?? "/" + id,
      http_version: "HTTP/1.1",
      headers: [],
      contentLength: 0,
      contentHash: null,
      timestamp_start: 1000 + n,
      timestamp_end: 1000 + n,
      pretty_host: "example.com",
    },
    ...over,
  };
  if (over.status !== undefined) {
    f.response = {
      http_version: "HTTP/1.1",
      status_code: over.status,
      reason: "",
      headers: [],
      contentLength: over.size ?? 0,
      contentHash: null,
      timestamp_start: f.request.timestamp_start + 0.1,
      timestamp_end: f.request.timestamp_start + 0.2,
    };
  }
  return f;
}

