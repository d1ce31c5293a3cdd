// Logic of the content view pane: which views to offer, which one to ask
// for, how many lines, and where a search matches. No DOM here, so that it
// can be unit-tested.

import type { ContentViewData, HTTPMessage } from "../flowtypes";

/** The views mitmproxy 12 offers when /state cannot be read. */
export const FALLBACK_VIEWS = [
  "auto",
  "css",
  "graphql",
  "grpc",
  "hex dump",
  "hex stream",
  "image",
  "javascript",
  "json",
  "msgpack",
  "multipart form",
  "protobuf",
  "query",
  "raw",
  "url-encoded",
  "wbxml",
  "xml/html",
];

/**
 * The views to offer in the selector: "auto" first, then the server's
 * (built-in and scripts') in its order, without duplicates (any case).
 */
export function viewOptions(serverViews: readonly string[] | undefined): string[] {
  const out = ["auto"];
  const seen = new Set(["auto"]);
  for (const v of serverViews && serverViews.length ? serverViews : FALLBACK_VIEWS) {
    const k = v.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/** The views to offer from the server state, when it lists them. */
export function namesFromState(state: { contentViews?: readonly string[] } | null | undefined): string[] | undefined {
  return state?.contentViews ? viewOptions(state.contentViews) : undefined;
}

/** Whether two lists of view names are the same. */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Picks the view to ask for: the remembered choice if still offered, else auto. */
export function chooseView(options: readonly string[], remembered: string | undefined): string {
  if (remembered) {
    const hit = options.find((o) => o.toLowerCase() === remembered.toLowerCase());
    if (hit) return hit;
  }
  return "auto";
}

/** The view chosen per flow and message part, kept while the page lives. */
export class ViewChoices {
  private m = new Map<string, string>();
  get(flowId: string, part: string): string | undefined {
    return this.m.get(flowId + "/" + part);
  }
  set(flowId: string, part: string, view: string): void {
    this.m.set(flowId + "/" + part, view);
  }
}

export const viewChoices = new ViewChoices();

/** Lines to ask for first (mitmproxy's content_view_lines_cutoff default). */
export const DEFAULT_LINES = 512;

/** Bodies above this many bytes are rendered only when asked for. */
export const LOAD_ON_DEMAND_BYTES = 1 << 20;

/** Whether the text was cut at maxLines (the server sent one line more). */
export function isTruncated(text: string, maxLines: number): boolean {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    if (++n >= maxLines) return true;
  }
  return false;
}

/** The first maxLines lines of text. */
export function firstLines(text: string, maxLines: number): string {
  let i = -1;
  for (let n = 0; n < maxLines; n++) {
    i = text.indexOf("\n", i + 1);
    if (i < 0) return text;
  }
  return text.slice(0, i);
}

/** The next, larger line limit when the user asks for more. */
export function moreLines(current: number): number {
  return Math.max(1024, current * 2);
}

export interface Segment {
  text: string;
  match: boolean;
}

/** Search results: the text cut into matching and other segments. */
export interface SearchResult {
  segments: Segment[];
  count: number;
  /** More matches than were marked (limit). */
  capped: boolean;
}

/**
 * Splits text at the case-insensitive matches of query; at most limit
 * matches are marked.
 */
export function searchText(text: string, query: string, limit = 2000): SearchResult {
  if (!query) return { segments: [{ text, match: false }], count: 0, capped: false };
  const hay = text.toLowerCase();
  const needle = query.toLowerCase();
  const segments: Segment[] = [];
  let pos = 0;
  let count = 0;
  let capped = false;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) {
    if (count >= limit) {
      capped = true;
      break;
    }
    if (i > pos) segments.push({ text: text.slice(pos, i), match: false });
    segments.push({ text: text.slice(i, i + needle.length), match: true });
    pos = i + needle.length;
    count++;
  }
  if (pos < text.length || segments.length === 0) segments.push({ text: text.slice(pos), match: false });
  return { segments, count, capped };
}

export function headerValue(msg: { headers: [string, string][] }, name: string): string | undefined {
  const n = name.toLowerCase();
  return msg.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

const IMAGE_TYPE = /^image\/(png|jpe?g|gif|webp|avif|bmp|vnd\.microsoft\.icon|x-icon|svg\+xml)\b/i;

/** Whether the message is an image the browser can show itself. */
export function isImage(msg: HTTPMessage): boolean {
  return IMAGE_TYPE.test(headerValue(msg, "content-type") ?? "");
}

/**
 * Whether the body is still arriving: the server tells how much of a
 * streamed body the flow keeps so far (contentLength) before the message
 * ends (timestamp_end).
 */
export function isArriving(msg: Pick<HTTPMessage, "contentLength"> & { timestamp_end?: number | null }): boolean {
  return msg.contentLength !== null && msg.timestamp_end === null;
}

/** The title line of a rendered body, as mitmweb shows it. */
export function describe(
  msg: Pick<HTTPMessage, "contentLength"> & { timestamp_end?: number | null },
  data: ContentViewData | undefined,
  error?: string,
): string {
  if (error) return error;
  if (msg.contentLength === 0) return isArriving(msg) ? "Arriving…" : "No content";
  if (msg.contentLength === null) return "Content missing";
  if (!data) return "Loading…";
  const d = `${data.view_name} ${data.description}`.trim();
  return isArriving(msg) ? `${d} (arriving: ${formatSize(msg.contentLength)} so far)` : d;
}

/** The text for a body the server cannot give now (409). */
export function unavailableText(serverMessage: string): string {
  // A body streamed without being kept says so; anything else in flight
  // waits for the flow.
  if (/stream/i.test(serverMessage)) return serverMessage;
  return "The flow is still in progress; its content is shown once it is complete or intercepted.";
}

/** A size in bytes as mitmweb writes it (1.5kb). */
export function formatSize(bytes: number): string {
  if (bytes === 0) return "0";
  const units = ["b", "kb", "mb", "gb", "tb"];
  let i = 0;
  while (i < units.length - 1 && bytes >= Math.pow(1024, i + 1)) i++;
  const v = bytes / Math.pow(1024, i);
  return (bytes % Math.pow(1024, i) === 0 ? v.toFixed(0) : v.toFixed(1)) + units[i];
}

/** A key that changes whenever the body to render changes (streaming, edits). */
export function contentKey(msg: Pick<HTTPMessage, "contentHash" | "contentLength" | "timestamp_end">): string {
  return `${msg.contentHash ?? "-"}:${msg.contentLength ?? "-"}:${msg.timestamp_end ?? "open"}`;
}
