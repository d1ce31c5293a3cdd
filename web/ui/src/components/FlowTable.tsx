// The live flow table, virtualised: only the rows in view (and a few
// around them) are in the DOM, each a memoised component that renders
// again only when its flow object or its state changes.
import { memo } from "preact/compat";
import { useCallback, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import * as api from "../api";
import type { Flow } from "../flowtypes";
import { useSelect, useStores, useSubscribe } from "../hooks";
import type { Column, QuickActions } from "./columns";
import { pickColumns } from "./columns";

export const ROW_HEIGHT = 26;
const OVERSCAN = 6;

interface RowProps {
  flow: Flow;
  index: number;
  grid: string;
  selected: boolean;
  highlighted: boolean;
  columns: Column[];
  quick: QuickActions;
  onSelect: (id: string, e: MouseEvent) => void;
}

/** gridColumns is the CSS grid template of the header and every row. */
function gridColumns(columns: Column[]): string {
  return columns.map((c) => (c.width ? c.width + "px" : "minmax(0, 1fr)")).join(" ");
}

const FlowRow = memo(function FlowRow(p: RowProps) {
  const f = p.flow;
  let cls = "flow-row";
  if (p.selected) cls += " selected";
  if (f.intercepted) cls += " intercepted";
  if (p.highlighted) cls += " highlighted";
  if (f.marked) cls += " marked";
  if (f.error) cls += " has-error";
  if (p.index % 2) cls += " odd";
  return (
    <div
      class={cls}
      role="row"
      style={{ top: p.index * ROW_HEIGHT + "px", gridTemplateColumns: p.grid }}
      data-testid="flow-row"
      data-flow-id={f.id}
      aria-selected={p.selected ? "true" : "false"}
      onMouseDown={(e) => p.onSelect(f.id, e)}
    >
      {p.columns.map((c) => (
        <div key={c.name} role="cell" class={"cell col-" + c.name}>
          {c.render(f, p.index, p.quick)}
        </div>
      ))}
    </div>
  );
});

function SortHeader(props: { columns: Column[]; grid: string }) {
  const { flows } = useStores();
  const { column, desc } = flows.sort;
  const click = (c: Column) => {
    // Column, then reversed, then the server's order (as mitmweb).
    if (column !== c.name) flows.setSort(c.name, false);
    else if (!desc) flows.setSort(c.name, true);
    else flows.setSort(null, false);
    flows.notify();
  };
  return (
    <div class="flow-table-head" role="row" style={{ gridTemplateColumns: props.grid }}>
      {props.columns.map((c) => (
        <div
          key={c.name}
          role="columnheader"
          class={"cell col-" + c.name + (column === c.name ? (desc ? " sort-desc" : " sort-asc") : "")}
          aria-sort={column === c.name ? (desc ? "descending" : "ascending") : undefined}
          onClick={() => click(c)}
          title={c.title ? `Sort by ${c.title}` : `Sort by ${c.name}`}
        >
          {c.title}
        </div>
      ))}
    </div>
  );
}

export function FlowTable() {
  const stores = useStores();
  const { flows, app } = stores;
  useSubscribe(flows);
  const scroller = useRef<HTMLDivElement>(null);
  // The scroll position as last set or seen; the first row in view is
  // state, so that a scroll within a row does not render.
  const top = useRef(0);
  // applied: the scrollTop last written or read in a scroll event, so
  // that rendering never reads the layout (a read after a render forces a
  // synchronous layout of the whole table).
  const applied = useRef(0);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  // shownRow: the first row in view as last rendered.
  const shownRow = useRef(0);
  const [height, setHeight] = useState(600);
  const heightRef = useRef(600);
  heightRef.current = height;
  // stick: the view follows new flows while scrolled to the bottom.
  const stick = useRef(true);
  const lastSelected = useRef<string | undefined>(undefined);
  const totalRef = useRef(0);
  const frame = useRef(0);

  const colOpt = useSelect(app, () => app.option<unknown>("web_columns", null));
  const colKey = JSON.stringify(colOpt);
  // The same array while web_columns is unchanged, so rows stay memoised.
  const columns = useMemo(() => pickColumns(colOpt), [colKey]);
  const grid = useMemo(() => gridColumns(columns), [columns]);
  const view = flows.view;
  const total = view.length;
  totalRef.current = total;
  // The rows' area is the scroller less the sticky header row.
  const rowsH = Math.max(0, height - ROW_HEIGHT);
  const maxTop = Math.max(0, total * ROW_HEIGHT - rowsH);

  // Where to be: at the bottom while following, at a newly selected row,
  // else where the user scrolled. Worked out here, before rendering, so
  // that a batch of flows costs one render and no forced layout.
  const sel = flows.selected[0];
  if (sel !== lastSelected.current) {
    lastSelected.current = sel;
    const i = sel === undefined ? -1 : flows.indexOf(sel);
    if (i >= 0) {
      const rowTop = i * ROW_HEIGHT;
      if (rowTop < top.current) top.current = rowTop;
      else if (rowTop + ROW_HEIGHT > top.current + rowsH) top.current = rowTop + ROW_HEIGHT - rowsH;
      stick.current = i === total - 1;
    }
  }
  if (stick.current) top.current = maxTop;
  top.current = Math.min(top.current, maxTop);
  const want = top.current;
  shownRow.current = Math.floor(want / ROW_HEIGHT);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame.current);
    };
  }, []);

  // Writes the scroll position only when it is not what was last written
  // or seen (no read: see applied).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && Math.abs(applied.current - want) >= 1) {
      el.scrollTop = want;
      applied.current = want;
    }
  });

  // A scroll event reads scrollTop (the layout is fresh then) and, once
  // per animation frame, renders if the first row in view changed.
  const onScroll = useCallback(() => {
    const t = scroller.current!.scrollTop;
    if (Math.abs(t - applied.current) < 1) return; // our own scrolling
    applied.current = t;
    top.current = t;
    // At the bottom: the header row plus the rows, less the scroller.
    stick.current = t + heightRef.current >= (totalRef.current + 1) * ROW_HEIGHT - ROW_HEIGHT / 2;
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (Math.floor(top.current / ROW_HEIGHT) !== shownRow.current) rerender(undefined);
    });
  }, []);

  const onSelect = useCallback(
    (id: string, e: MouseEvent) => {
      if (e.button !== 0) return;
      if (e.ctrlKey || e.metaKey) flows.toggleSelected(id);
      else if (e.shiftKey) flows.selectRange(id);
      else flows.select([id]);
      flows.notify();
    },
    [flows],
  );

  const quick = useRef<QuickActions>({
    resume: (f) => void api.resumeFlow(f.id).catch((e) => app.setNotice(`Resume failed: ${e.message}`)),
    replay: (f) => void api.replayFlow(f.id).catch((e) => app.setNotice(`Replay failed: ${e.message}`)),
  }).current;

  const first = Math.max(0, Math.floor(want / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((want + rowsH) / ROW_HEIGHT) + OVERSCAN);
  const selected = new Set(flows.selected);
  const rows = [];
  for (let i = first; i < last; i++) {
    const f = view[i].flow;
    rows.push(
      <FlowRow
        key={f.id}
        flow={f}
        index={i}
        grid={grid}
        selected={selected.has(f.id)}
        highlighted={flows.isHighlighted(f.id)}
        columns={columns}
        quick={quick}
        onSelect={onSelect}
      />,
    );
  }

  return (
    <div class="flow-table" ref={scroller} onScroll={onScroll} data-testid="flow-table" role="table" tabIndex={-1}>
      <SortHeader columns={columns} grid={grid} />
      <div class="flow-table-body" role="rowgroup" style={{ height: total * ROW_HEIGHT + "px" }}>
        {rows}
      </div>
      {total === 0 && (
        <div class="empty-table">{flows.size === 0 ? "No flows yet." : "No flows match the search filter."}</div>
      )}
    </div>
  );
}
