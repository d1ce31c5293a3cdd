// The flow table's columns (the web_columns option names them).
import type { ComponentChildren } from "preact";
import type { Flow } from "../flowtypes";
import {
  canReplay,
  duration,
  getMethod,
  getVersion,
  httpMajor,
  isTLS,
  mainPath,
  resourceType,
  startTime,
  statusClass,
  statusCode,
  totalSize,
} from "../flowutils";
import { formatSize, formatTimeDelta, formatTimeStamp } from "../format";

export interface Column {
  name: string;
  title: string;
  /** width in px; undefined takes the rest of the row. */
  width?: number;
  /** render gives the cell's contents: text where it can, since every
   * element is made, styled and laid out in each of the rows shown. */
  render(f: Flow, index: number): ComponentChildren;
  /** cls gives classes for the cell: an icon is one (.res-html), drawn by
   * the cell's ::before from the icon classes (icons.tsx), no element. */
  cls?(f: Flow): string;
  /** tip gives the cell's tooltip. */
  tip?(f: Flow): string | undefined;
}

/** The quick actions' buttons carry data-action; the table handles a
 * click on one for every row (no handler per row). */
export type QuickAction = "resume" | "replay";

const col = (c: Column) => c;

/** flag is one of the path cell's small icons (a span, drawn by CSS). */
const flag = (icon: string, title: string, cls: string) => <i class={`ico ico-${icon} ${cls}`} title={title} />;

export const columns: Record<string, Column> = {
  tls: col({
    name: "tls",
    title: "",
    width: 22,
    render: () => null,
    cls: (f) => (isTLS(f) ? "tls-on" : "tls-off"),
    tip: (f) => (isTLS(f) ? "TLS encrypted" : "Plaintext"),
  }),
  icon: col({
    name: "icon",
    title: "",
    width: 30,
    // The HTTP major version (2, 3) as a superscript after the icon.
    render: (f) => httpMajor(f) || null,
    cls: (f) => "res-" + resourceType(f),
    tip: (f) => {
      const v = httpMajor(f);
      return resourceType(f) + (v ? ` (HTTP/${v})` : "");
    },
  }),
  index: col({ name: "index", title: "#", width: 56, render: (_f, i) => String(i + 1) }),
  path: col({
    name: "path",
    title: "Path",
    render: (f) => {
      const path = mainPath(f);
      if (f.is_replay !== "request" && !f.intercepted && !f.error && !f.marked) return path;
      return (
        <>
          <span class="path-flags">
            {f.is_replay === "request" && flag("replay", "Replayed request", "flag-replay")}
            {f.intercepted && flag("pause", "Intercepted: waiting to resume", "flag-intercepted")}
            {f.error &&
              (f.error.msg === "Connection killed."
                ? flag("close", "Connection killed", "flag-error")
                : flag("warning", f.error.msg, "flag-error"))}
            {f.marked && <span class="marker">{f.marked}</span>}
          </span>
          {path}
        </>
      );
    },
    tip: mainPath,
  }),
  method: col({
    name: "method",
    title: "Method",
    width: 76,
    render: (f) => <span class="badge method-badge">{getMethod(f)}</span>,
  }),
  version: col({ name: "version", title: "Version", width: 84, render: (f) => getVersion(f) }),
  status: col({
    name: "status",
    title: "Status",
    width: 76,
    render: (f) => {
      const c = statusCode(f);
      if (c === undefined) return null;
      return <span class={"badge status-badge " + statusClass(c)}>{c}</span>;
    },
  }),
  size: col({ name: "size", title: "Size", width: 72, render: (f) => formatSize(totalSize(f)) }),
  time: col({
    name: "time",
    title: "Time",
    width: 72,
    render: (f) => {
      const d = duration(f);
      return d === undefined ? "..." : formatTimeDelta(d * 1000);
    },
  }),
  timestamp: col({
    name: "timestamp",
    title: "Start time",
    width: 190,
    render: (f) => {
      const s = startTime(f);
      return s === undefined ? "..." : formatTimeStamp(s);
    },
  }),
  quickactions: col({
    name: "quickactions",
    title: "",
    width: 30,
    render: (f) => {
      if (f.intercepted) return <button class="quickaction ico ico-play" data-action="resume" title="Resume" />;
      if (canReplay(f)) return <button class="quickaction ico ico-replay" data-action="replay" title="Replay" />;
      return null;
    },
  }),
  comment: col({ name: "comment", title: "Comment", width: 160, render: (f) => f.comment }),
};

export const defaultColumns = ["tls", "icon", "path", "method", "status", "size", "time"];

/** pickColumns maps web_columns to columns, ignoring unknown names. */
export function pickColumns(names: unknown): Column[] {
  const list = Array.isArray(names) ? (names as string[]) : defaultColumns;
  const out = list.map((n) => columns[n]).filter((c): c is Column => c !== undefined);
  return out.length ? out : defaultColumns.map((n) => columns[n]);
}
