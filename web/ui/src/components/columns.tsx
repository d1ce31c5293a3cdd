// The flow table's columns (the web_columns option names them).
import type { JSX } from "preact";
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
import { Icon } from "../icons";

export interface Column {
  name: string;
  title: string;
  /** width in px; undefined takes the rest of the row. */
  width?: number;
  render(f: Flow, index: number, quick: QuickActions): JSX.Element | string | null;
}

export interface QuickActions {
  resume(f: Flow): void;
  replay(f: Flow): void;
}

const col = (c: Column) => c;

export const columns: Record<string, Column> = {
  tls: col({
    name: "tls",
    title: "",
    width: 22,
    render: (f) =>
      isTLS(f) ? <Icon name="lock" title="TLS encrypted" class="tls-on" /> : <span class="tls-off" title="Plaintext" />,
  }),
  icon: col({
    name: "icon",
    title: "",
    width: 30,
    render: (f) => {
      const t = resourceType(f);
      const v = httpMajor(f);
      return (
        <span class={"res-icon res-" + t} title={t + (v ? ` (HTTP/${v})` : "")}>
          <Icon name={t} />
          {v && <sup class="h2">{v}</sup>}
        </span>
      );
    },
  }),
  index: col({ name: "index", title: "#", width: 56, render: (_f, i) => String(i + 1) }),
  path: col({
    name: "path",
    title: "Path",
    render: (f) => (
      <>
        <span class="path-flags">
          {f.is_replay === "request" && <Icon name="replay" title="Replayed request" class="flag-replay" />}
          {f.intercepted && <Icon name="pause" title="Intercepted: waiting to resume" class="flag-intercepted" />}
          {f.error &&
            (f.error.msg === "Connection killed." ? (
              <Icon name="close" title="Connection killed" class="flag-error" />
            ) : (
              <Icon name="warning" title={f.error.msg} class="flag-error" />
            ))}
          {f.marked && <span class="marker">{f.marked}</span>}
        </span>
        <span class="path-text" title={mainPath(f)}>
          {mainPath(f)}
        </span>
      </>
    ),
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
    render: (f, _i, q) => {
      if (f.intercepted) {
        return (
          <button
            class="quickaction"
            title="Resume"
            onClick={(e) => {
              e.stopPropagation();
              q.resume(f);
            }}
          >
            <Icon name="play" />
          </button>
        );
      }
      if (canReplay(f)) {
        return (
          <button
            class="quickaction"
            title="Replay"
            onClick={(e) => {
              e.stopPropagation();
              q.replay(f);
            }}
          >
            <Icon name="replay" />
          </button>
        );
      }
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
