// The model of the request/response editor: header rows, the URL split
// into the fields the server edits, and the update (PUT /flows/<id>) with
// only what changed.

import type { FlowUpdate, Headers, HTTPRequest, HTTPResponse } from "../flowtypes";

/** One header row; key keeps the row's identity while it is edited. */
export interface HeaderRow {
  key: number;
  name: string;
  value: string;
}

let nextKey = 1;

export function headerRows(h: Headers): HeaderRow[] {
  return h.map(([name, value]) => ({ key: nextKey++, name, value }));
}

export function addHeader(rows: HeaderRow[], name = "", value = ""): HeaderRow[] {
  return [...rows, { key: nextKey++, name, value }];
}

export function removeHeader(rows: HeaderRow[], key: number): HeaderRow[] {
  return rows.filter((r) => r.key !== key);
}

export function editHeader(rows: HeaderRow[], key: number, field: "name" | "value", text: string): HeaderRow[] {
  return rows.map((r) => (r.key === key ? { ...r, [field]: text } : r));
}

/** The rows as a header list; rows without a name are dropped. */
export function rowsToHeaders(rows: HeaderRow[]): Headers {
  return rows.filter((r) => r.name.trim() !== "").map((r) => [r.name.trim(), r.value] as [string, string]);
}

/** Header names may not hold separators, spaces or control characters. */
export function invalidHeaderName(name: string): boolean {
  return name.trim() !== "" && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z:]+$/.test(name.trim());
}

export interface ParsedURL {
  scheme: string;
  host: string;
  port: number;
  path: string;
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443 };

/**
 * Splits an absolute URL into scheme, host, port and path (the path kept
 * as written, query included). Throws for what is not one.
 */
export function parseURL(url: string): ParsedURL {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/.exec(url.trim());
  if (!m) throw new Error("Invalid URL: expected scheme://host[:port]/path");
  const scheme = m[1].toLowerCase();
  let authority = m[2];
  const path = m[3] || "/";
  if (authority.includes("@")) authority = authority.slice(authority.lastIndexOf("@") + 1);
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    if (end < 0) throw new Error("Invalid URL: unclosed [ in the host");
    host = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw new Error("Invalid URL: bad port");
      portText = rest.slice(1);
    }
  } else {
    const i = authority.lastIndexOf(":");
    if (i >= 0) {
      host = authority.slice(0, i);
      portText = authority.slice(i + 1);
    } else {
      host = authority;
    }
  }
  if (!host) throw new Error("Invalid URL: no host");
  let port: number;
  if (portText === undefined || portText === "") {
    port = DEFAULT_PORT[scheme] ?? 0;
    if (!port) throw new Error(`Invalid URL: no port for scheme ${scheme}`);
  } else {
    if (!/^\d+$/.test(portText)) throw new Error("Invalid URL: bad port");
    port = Number(portText);
    if (port < 1 || port > 65535) throw new Error("Invalid URL: port out of range");
  }
  return { scheme, host, port, path };
}

/** A request's URL as the editor shows it (the port only when not the default). */
export function requestURL(r: Pick<HTTPRequest, "scheme" | "host" | "port" | "path">): string {
  const host = r.host.includes(":") ? `[${r.host}]` : r.host;
  const port = DEFAULT_PORT[r.scheme] === r.port ? "" : `:${r.port}`;
  return `${r.scheme}://${host}${port}${r.path}`;
}

function sameHeaders(a: Headers, b: Headers): boolean {
  return a.length === b.length && a.every(([n, v], i) => n === b[i][0] && v === b[i][1]);
}

export interface RequestDraft {
  method: string;
  url: string;
  http_version: string;
  headers: HeaderRow[];
  /** undefined while the body is not loaded (it is then left alone). */
  content?: string;
}

export interface ResponseDraft {
  code: string;
  reason: string;
  http_version: string;
  headers: HeaderRow[];
  content?: string;
}

export function requestDraft(r: HTTPRequest): RequestDraft {
  return { method: r.method, url: requestURL(r), http_version: r.http_version, headers: headerRows(r.headers) };
}

export function responseDraft(r: HTTPResponse): ResponseDraft {
  return { code: String(r.status_code), reason: r.reason, http_version: r.http_version, headers: headerRows(r.headers) };
}

/**
 * The update for an edited request: only the fields that changed.
 * originalContent is the body the editor was filled with.
 */
export function requestUpdate(orig: HTTPRequest, d: RequestDraft, originalContent?: string): FlowUpdate["request"] {
  const out: NonNullable<FlowUpdate["request"]> = {};
  const method = d.method.trim();
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(method)) throw new Error("Invalid method");
  if (method !== orig.method) out.method = method;
  const u = parseURL(d.url);
  if (u.scheme !== orig.scheme) out.scheme = u.scheme;
  if (u.host !== orig.host) out.host = u.host;
  if (u.port !== orig.port) out.port = u.port;
  if (u.path !== orig.path) out.path = u.path;
  return messageChanges(out, orig, d, originalContent);
}

export function responseUpdate(orig: HTTPResponse, d: ResponseDraft, originalContent?: string): FlowUpdate["response"] {
  const out: NonNullable<FlowUpdate["response"]> = {};
  if (!/^\d{3}$/.test(d.code.trim())) throw new Error("Invalid status code: three digits expected");
  const code = Number(d.code.trim());
  if (code !== orig.status_code) out.code = code;
  if (d.reason !== orig.reason) out.reason = d.reason;
  return messageChanges(out, orig, d, originalContent);
}

/** The part of a message draft both kinds share: version, headers and body. */
interface MessageDraft {
  http_version: string;
  headers: HeaderRow[];
  content?: string;
}

/**
 * messageChanges adds to out what changed of the fields requests and
 * responses share (version, headers, body) and returns it; an invalid
 * header name is an error.
 */
function messageChanges<U extends { http_version?: string; headers?: Headers; content?: string }>(
  out: U,
  orig: { http_version: string; headers: Headers },
  d: MessageDraft,
  originalContent?: string,
): U {
  if (d.http_version.trim() !== orig.http_version) out.http_version = d.http_version.trim();
  const bad = d.headers.find((r) => invalidHeaderName(r.name));
  if (bad) throw new Error(`Invalid header name: ${bad.name}`);
  const h = rowsToHeaders(d.headers);
  if (!sameHeaders(h, orig.headers)) out.headers = h;
  if (d.content !== undefined && d.content !== originalContent) out.content = d.content;
  return out;
}

export function isEmptyUpdate(u: object | undefined): boolean {
  return !u || Object.keys(u).length === 0;
}
