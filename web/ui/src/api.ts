// Typed access to the mitmgo web server's REST API (web/api.go), as
// mitmproxy 12's mitmweb uses it. Every request that changes something
// carries the XSRF token (the _mitmproxy_xsrf cookie, echoed in the
// X-XSRFToken header; web/auth.go refuses a non-GET request without it).

import type {
  BackendState,
  CommandResult,
  Commands,
  ContentViewData,
  EventEntry,
  Flow,
  FlowUpdate,
  Options,
} from "./flowtypes";

export const XSRF_COOKIE = "_mitmproxy_xsrf";
export const XSRF_HEADER = "X-XSRFToken";

/** An answer that was not 2xx; message is the server's text. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
  }
}

/** Reads a cookie from a document.cookie string. */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      return decodeURIComponent(part.slice(i + 1).trim());
    }
  }
  return undefined;
}

/** The XSRF token, read fresh each time (the server may set it late). */
export function xsrfToken(): string | undefined {
  if (typeof document === "undefined") return undefined;
  return readCookie(document.cookie, XSRF_COOKIE);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * fetch for the API: relative to the page (so that mitmweb works behind a
 * path prefix), with cookies, and the XSRF header on unsafe methods.
 */
export async function fetchApi(url: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  if (!SAFE_METHODS.has(method)) {
    const token = xsrfToken();
    if (token) headers.set(XSRF_HEADER, token);
  }
  if (url.startsWith("/")) url = "." + url;
  return fetch(url, { credentials: "same-origin", ...init, method, headers });
}

/** fetchApi that throws an ApiError for a non-2xx answer. */
export async function request(url: string, init: RequestInit = {}): Promise<Response> {
  const resp = await fetchApi(url, init);
  if (!resp.ok) {
    let text = "";
    try {
      text = await resp.text();
    } catch {
      /* the status is enough */
    }
    throw new ApiError(resp.status, text.trim() || resp.statusText);
  }
  return resp;
}

function jsonInit(method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
}

async function getJSON<T>(url: string): Promise<T> {
  return (await request(url)).json() as Promise<T>;
}

async function send(url: string, method = "POST"): Promise<string> {
  return (await request(url, { method })).text();
}

const enc = encodeURIComponent;

export type MessagePart = "request" | "response";
export type ContentPart = MessagePart | "messages";

// Flows.
export const getFlows = () => getJSON<Flow[]>("/flows");
export const resumeFlow = (id: string) => send(`/flows/${enc(id)}/resume`);
export const killFlow = (id: string) => send(`/flows/${enc(id)}/kill`);
/** Duplicates a flow; resolves to the new flow's id. */
export const duplicateFlow = (id: string) => send(`/flows/${enc(id)}/duplicate`);
export const replayFlow = (id: string) => send(`/flows/${enc(id)}/replay`);
export const revertFlow = (id: string) => send(`/flows/${enc(id)}/revert`);
export const deleteFlow = (id: string) => send(`/flows/${enc(id)}`, "DELETE");
export const resumeAll = () => send("/flows/resume");
export const killAll = () => send("/flows/kill");
export const clearAll = () => send("/clear");

/** Edits a flow (PUT /flows/<id>); the flow becomes modified. */
export async function updateFlow(id: string, upd: FlowUpdate): Promise<void> {
  await request(`/flows/${enc(id)}`, jsonInit("PUT", upd));
}

/** Sets a flow's marker: "" to unmark, or a name such as ":red_circle:". */
export const markFlow = (id: string, marker: string) => updateFlow(id, { marked: marker });
export const commentFlow = (id: string, comment: string) => updateFlow(id, { comment });

// Bodies.
export function contentURL(id: string, part: MessagePart): string {
  return `./flows/${enc(id)}/${part}/content.data`;
}

/** The decoded body of a request or response. */
export async function getContent(id: string, part: MessagePart): Promise<ArrayBuffer> {
  return (await request(contentURL(id, part))).arrayBuffer();
}

export async function getContentText(id: string, part: MessagePart): Promise<string> {
  return (await request(contentURL(id, part))).text();
}

/** Replaces a body (it is encoded again as the message's Content-Encoding says). */
export async function setContent(id: string, part: MessagePart, body: BodyInit): Promise<void> {
  await request(contentURL(id, part), { method: "POST", body });
}

export function contentViewURL(id: string, part: ContentPart, view: string, lines?: number): string {
  let url = `./flows/${enc(id)}/${part}/content/${enc(view)}.json`;
  if (lines !== undefined && lines > 0) url += `?lines=${lines}`;
  return url;
}

/** A body (or, for "messages", each message) rendered by a content view. */
export function getContentView(id: string, part: MessagePart, view: string, lines?: number): Promise<ContentViewData>;
export function getContentView(id: string, part: "messages", view: string, lines?: number): Promise<ContentViewData[]>;
export function getContentView(
  id: string,
  part: ContentPart,
  view: string,
  lines?: number,
): Promise<ContentViewData | ContentViewData[]> {
  return getJSON(contentViewURL(id, part, view, lines));
}

// Flow files.
/** URL of the flow file of all (or the filtered) flows. */
export function dumpURL(filter?: string): string {
  return filter ? `./flows/dump?filter=${enc(filter)}` : "./flows/dump";
}

export async function dumpFlows(filter?: string): Promise<ArrayBuffer> {
  return (await request(dumpURL(filter))).arrayBuffer();
}

/** Replaces all flows with those of a flow file. */
export async function loadFlows(file: Blob): Promise<void> {
  const form = new FormData();
  form.append("file", file);
  await request("/flows/dump", { method: "POST", body: form });
}

// Options.
export const getOptions = () => getJSON<Options>("/options");

/** Sets options; the server's 400 answer (ApiError.message) says what was wrong. */
export async function setOptions(values: Record<string, unknown>): Promise<void> {
  await request("/options", jsonInit("PUT", values));
}

export const saveOptions = () => send("/options/save");

// Commands.
export const getCommands = () => getJSON<Commands>("/commands");

/** Runs a command; the result has value, or error for a failed command. */
export async function runCommand(cmd: string, ...args: string[]): Promise<CommandResult> {
  const resp = await request(`/commands/${enc(cmd)}`, jsonInit("POST", { arguments: args }));
  return resp.json() as Promise<CommandResult>;
}

/**
 * The completions of a command's argument number index (from 0) that
 * start with text; args are the arguments before it (mitmgo's
 * GET /commands/<cmd>/completions).
 */
export function completeArgument(cmd: string, index: number, text: string, args: readonly string[] = []): Promise<string[]> {
  const q = new URLSearchParams({ index: String(index), text });
  for (const a of args) q.append("arg", a);
  return getJSON<string[]>(`/commands/${enc(cmd)}/completions?${q.toString()}`);
}

/** Runs a command and returns its value, throwing its error. */
export async function commandValue(cmd: string, ...args: string[]): Promise<unknown> {
  const res = await runCommand(cmd, ...args);
  if (res.error !== undefined) throw new Error(res.error);
  return res.value;
}

// The rest.
export const getEvents = () => getJSON<EventEntry[]>("/events");
export const getState = () => getJSON<BackendState>("/state");
export const getFilterHelp = () => getJSON<{ commands: [string, string][] }>("/filter-help");

/** The export formats of the `export` command, and HAR (GET /flows/<id>/har). */
export const EXPORT_FORMATS = ["curl", "httpie", "raw", "raw_request", "raw_response", "har"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function harURL(id: string): string {
  return `./flows/${enc(id)}/har`;
}

/** A flow exported as text: the `export` command, or the HAR route. */
export async function exportFlow(id: string, format: ExportFormat): Promise<string> {
  if (format === "har") {
    return (await request(harURL(id))).text();
  }
  const v = await commandValue("export", format, `@${id}`);
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The URL of the /updates WebSocket, relative to the page. */
export function updatesURL(loc: { protocol: string; host: string; pathname: string } = window.location): string {
  const proto = loc.protocol === "https:" ? "wss:" : "ws:";
  const base = loc.pathname.replace(/[^/]*$/, "");
  return `${proto}//${loc.host}${base}updates`;
}
