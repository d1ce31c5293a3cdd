// What the flow list shows of a flow: its URL or summary, method, status,
// size, duration and kind, and the sort keys of the columns.
import type { Flow, HTTPFlow, HTTPResponse } from "./flowtypes";
import { formatAddress } from "./format";

const defaultPorts: Record<string, number> = { http: 80, https: 443 };

/** prettyURL is the request's URL with the port only when not the default. */
export function prettyURL(f: HTTPFlow): string {
  const r = f.request;
  const port = defaultPorts[r.scheme] === r.port ? "" : ":" + r.port;
  return `${r.scheme}://${r.pretty_host}${port}${r.path}`;
}

/** mainPath is the text of the Path column. */
export function mainPath(f: Flow): string {
  switch (f.type) {
    case "http":
      return prettyURL(f);
    case "tcp":
    case "udp":
      return `${formatAddress(f.client_conn?.peername)} ↔ ${formatAddress(f.server_conn?.address)}`;
    case "dns": {
      const q = f.request.questions.map((q) => `${q.name} ${q.type}`).join(", ");
      const a = f.response ? f.response.answers.map((a) => a.data).join(", ") || "?" : "...";
      return `${q} = ${a}`;
    }
  }
}

export function getMethod(f: Flow): string {
  switch (f.type) {
    case "http":
      if (f.websocket) return f.client_conn?.tls_established ? "WSS" : "WS";
      return f.request.method;
    case "dns":
      return f.request.op_code;
    default:
      return f.type.toUpperCase();
  }
}

export function getVersion(f: Flow): string {
  return f.type === "http" ? f.request.http_version : "";
}

export function statusCode(f: Flow): number | string | undefined {
  if (f.type === "http") return f.response?.status_code;
  if (f.type === "dns") return f.response?.response_code;
  return undefined;
}

/** statusClass is the CSS class for a status code's colour. */
export function statusClass(code: number | string): string {
  const n = typeof code === "number" ? code : parseInt(code, 10);
  if (Number.isNaN(n)) return code === "NOERROR" ? "status-2xx" : "status-other";
  if (n >= 100 && n < 600) return `status-${Math.floor(n / 100)}xx`;
  return "status-other";
}

export function startTime(f: Flow): number | undefined {
  switch (f.type) {
    case "http":
      return f.request.timestamp_start;
    case "tcp":
    case "udp":
      return f.client_conn?.timestamp_start ?? undefined;
    case "dns":
      return f.request.timestamp ?? undefined;
  }
}

export function endTime(f: Flow): number | undefined {
  switch (f.type) {
    case "http":
      if (f.websocket) {
        return f.websocket.timestamp_end ?? f.websocket.messages_meta.timestamp_last ?? undefined;
      }
      return f.response?.timestamp_end ?? undefined;
    case "tcp":
      return f.server_conn?.timestamp_end ?? undefined;
    case "udp":
      return f.messages_meta.timestamp_last ?? undefined;
    case "dns":
      return f.response?.timestamp ?? undefined;
  }
}

/** duration is the flow's time in seconds, or undefined while it runs. */
export function duration(f: Flow): number | undefined {
  const s = startTime(f);
  const e = endTime(f);
  return s !== undefined && e !== undefined ? e - s : undefined;
}

export function totalSize(f: Flow): number {
  switch (f.type) {
    case "http":
      return (
        (f.request.contentLength ?? 0) +
        (f.response?.contentLength ?? 0) +
        (f.websocket?.messages_meta.contentLength ?? 0)
      );
    case "tcp":
    case "udp":
      return f.messages_meta.contentLength;
    case "dns":
      return 0;
  }
}

export function contentType(r: HTTPResponse): string {
  for (const [k, v] of r.headers) {
    if (k.toLowerCase() === "content-type") return v.split(";")[0].trim().toLowerCase();
  }
  return "";
}

export type ResourceType =
  | "plain"
  | "html"
  | "js"
  | "css"
  | "image"
  | "not-modified"
  | "redirect"
  | "websocket"
  | "tcp"
  | "udp"
  | "dns"
  | "quic";

/** resourceType picks the row's icon. */
export function resourceType(f: Flow): ResourceType {
  if (f.type !== "http") {
    if (f.client_conn?.tls_version === "QUICv1") return "quic";
    return f.type;
  }
  if (f.websocket) return "websocket";
  const r = f.response;
  if (!r) return "plain";
  if (r.status_code === 304) return "not-modified";
  if (r.status_code >= 300 && r.status_code < 400) return "redirect";
  const ct = contentType(r);
  if (ct.includes("image")) return "image";
  if (ct.includes("javascript")) return "js";
  if (ct.includes("css")) return "css";
  if (ct.includes("html")) return "html";
  return "plain";
}

export function isTLS(f: Flow): boolean {
  if (f.type === "http") return f.request.scheme === "https" || f.request.scheme === "wss";
  return !!f.client_conn?.tls_established;
}

/** isHTTP2 reports a flow carried over HTTP/2 or HTTP/3. */
export function httpMajor(f: Flow): string {
  if (f.type !== "http") return "";
  const v = f.request.http_version;
  if (v === "HTTP/2.0" || v === "HTTP/2") return "2";
  if (v === "HTTP/3" || v === "HTTP/3.0") return "3";
  return "";
}

export const canReplay = (f: Flow) => f.type === "http" && !f.websocket;
export const canRevert = (f: Flow) => f.modified;
export const canResume = (f: Flow) => f.intercepted;

export type SortKey = number | string;

/** sortKey is a column's sort key for a flow; flows without a value sort
 * first. */
export function sortKey(column: string, f: Flow, seq: number): SortKey {
  switch (column) {
    case "tls":
      return isTLS(f) ? 1 : 0;
    case "icon":
      return resourceType(f);
    case "index":
      return seq;
    case "path":
      return mainPath(f);
    case "method":
      return getMethod(f);
    case "version":
      return getVersion(f);
    case "status": {
      const c = statusCode(f);
      return c === undefined ? -1 : c;
    }
    case "size":
      return totalSize(f);
    case "time":
      return duration(f) ?? -1;
    case "timestamp":
      return startTime(f) ?? -1;
    case "comment":
      return f.comment;
    default:
      return seq;
  }
}

/** compareKeys orders numbers before strings, each in their natural order. */
export function compareKeys(a: SortKey, b: SortKey): number {
  const ta = typeof a;
  if (ta !== typeof b) return ta === "number" ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
