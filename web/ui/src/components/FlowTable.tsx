// The live flow table, virtualised: only the rows in view (and a few
// around them) are in the DOM, each a memoised component that renders
// again only when its flow object or its state changes. The row elements
// are a fixed set of slots that flows scroll through (assignSlots), so
// following new flows or scrolling changes a few rows' text and position
// and makes no elements; icons are classes, and the table has the only
// event handlers.
import { memo } from "preact/compat";
import { useCallback, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import * as api from "../api";
import type { Flow } from "../flowtypes";
import { useSelect, useStores, useSubscribe } from "../hooks";
import type { Column, QuickAction } from "./columns";
import { pickColumns } from "./columns";

export const ROW_HEIGHT = 26;
const OVERSCAN = 6;

/** rowOf is the row element an event's target is in. */
const rowOf = (t: EventTarget | null) => (t as Element | null)?.closest?.("[data-flow-id]");

interface RowProps {
  flow: Flow;
  index: number;
  selected: boolean;
  highlighted: boolean;
  columns: Column[];
}

/** gridColumns is the CSS grid template of the header and every row (the
 * table's --grid, which they read: not a style in each row). */
function gridColumns(columns: Column[]): string {
  return columns.map((c) => (c.width ? c.width + "px" : "minmax(0, 1fr)")).join(" ");
}

/** FlowRow is one row: a div per cell and text in most (icons are the
 * cells' classes); no handlers of its own (the table's handle every row).
 * A row element shows, in turn, the flows that scroll through its slot
 * (see assignSlots): a new flow in it changes its text and attributes. */
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
      style={{ top: p.index * ROW_HEIGHT + "px" }}
      data-testid="flow-row"
      data-flow-id={f.id}
      aria-selected={p.selected ? "true" : "false"}
    >
      {p.columns.map((c) => (
        <div
          key={c.name}
          role="cell"
          class={c.cls ? `cell col-${c.name} ${c.cls(f)}` : `cell col-${c.name}`}
          title={c.tip?.(f)}
        >
          {c.render(f, p.index)}
        </div>
      ))}
    </div>
  );
});

/** slotCount is how many row elements a table of height rowsH uses: the
 * most rows that can be in view, plus the overscan either side. */
export function slotCount(rowsH: number): number {
  return Math.ceil(rowsH / ROW_HEIGHT) + 2 * OVERSCAN + 1;
}

/** Slots is where the rows in view are: slot s holds the flow
 * ids[bySlot[s]], or nothing (null). */
export interface Slots {
  bySlot: (number | null)[];
  /** slotOf: each shown flow's slot, to give to the next assignSlots. */
  slotOf: Map<string, number>;
}

/** assignSlots places the flows to show (ids, at most slots of them) in
 * slots, each row element being one slot. A flow that was shown keeps its
 * slot (prev), so its element stays as it is but for its position; a flow
 * coming into view takes a slot that one leaving it freed, and its element
 * gets the new flow's contents (an empty slot only when none was freed).
 * So as the table scrolls or follows new flows, no element is made,
 * removed or moved, and the rows that stay are not rendered again. */
export function assignSlots(prev: Map<string, number>, ids: string[], slots: number): Slots {
  const bySlot: (number | null)[] = new Array(slots).fill(null);
  const slotOf = new Map<string, number>();
  const waiting: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const s = prev.get(ids[i]);
    if (s !== undefined && s < slots && bySlot[s] === null) {
      bySlot[s] = i;
      slotOf.set(ids[i], s);
    } else waiting.push(i);
  }
  if (waiting.length === 0) return { bySlot, slotOf };
  // Free slots: first those whose element showed a flow that left (it is
  // reused), then empty ones (an element is made).
  const had = new Array<boolean>(slots).fill(false);
  for (const s of prev.values()) if (s < slots) had[s] = true;
  const free: number[] = [];
  for (let s = 0; s < slots; s++) if (bySlot[s] === null && had[s]) free.push(s);
  for (let s = 0; s < slots; s++) if (bySlot[s] === null && !had[s]) free.push(s);
  // More flows than slots would be the caller's error: they are left out.
  for (let j = 0; j < waiting.length && j < free.length; j++) {
    bySlot[free[j]] = waiting[j];
    slotOf.set(ids[waiting[j]], free[j]);
  }
  return { bySlot, slotOf };
}

function SortHeader(props: { columns: Column[] }) {
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
    <div class="flow-table-head" role="row">
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
  // The row elements' flows as last rendered (see assignSlots).
  const slotOf = useRef(new Map<string, number>());

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

  // One handler for the rows' mouse-downs (selection) and one for their
  // quick actions' clicks: the row is found from the event's target.
  const onMouseDown = useCallback(
    (e: MouseEvent) => {
      const id = rowOf(e.target)?.getAttribute("data-flow-id");
      if (e.button !== 0 || !id) return;
      if (e.ctrlKey || e.metaKey) flows.toggleSelected(id);
      else if (e.shiftKey) flows.selectRange(id);
      else flows.select([id]);
      flows.notify();
    },
    [flows],
  );
  const onClick = useCallback(
    (e: MouseEvent) => {
      const button = (e.target as Element | null)?.closest?.("[data-action]");
      const action = button?.getAttribute("data-action") as QuickAction | undefined;
      const id = rowOf(e.target)?.getAttribute("data-flow-id");
      if (!action || !id) return;
      e.stopPropagation();
      if (action === "resume") void api.resumeFlow(id).catch((err) => app.setNotice(`Resume failed: ${err.message}`));
      else void api.replayFlow(id).catch((err) => app.setNotice(`Replay failed: ${err.message}`));
    },
    [app],
  );

  const first = Math.max(0, Math.floor(want / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((want + rowsH) / ROW_HEIGHT) + OVERSCAN);
  const selected = new Set(flows.selected);
  const ids: string[] = [];
  for (let i = first; i < last; i++) ids.push(view[i].flow.id);
  const slots = assignSlots(slotOf.current, ids, slotCount(rowsH));
  slotOf.current = slots.slotOf;
  const rows = slots.bySlot.map((k, slot) => {
    if (k === null) return null;
    const i = first + k;
    const f = view[i].flow;
    return (
      <FlowRow
        key={slot}
        flow={f}
        index={i}
        selected={selected.has(f.id)}
        highlighted={flows.isHighlighted(f.id)}
        columns={columns}
      />
    );
  });

  return (
    <div
      class="flow-table"
      ref={scroller}
      onScroll={onScroll}
      data-testid="flow-table"
      role="table"
      tabIndex={-1}
      style={{ "--grid": grid }}
    >
      <SortHeader columns={columns} />
      <div
        class="flow-table-body"
        role="rowgroup"
        style={{ height: total * ROW_HEIGHT + "px" }}
        onMouseDown={onMouseDown}
        onClick={onClick}
      >
        {rows}
      </div>
      {total === 0 && (
        <div class="empty-table">{flows.size === 0 ? "No flows yet." : "No flows match the search filter."}</div>
      )}
    </div>
  );
}
