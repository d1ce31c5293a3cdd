// The flow store: every flow the server has told of, by id, and the view
// of them the table shows (filtered by the "search" filter, sorted by a
// column). Changes from /updates are applied in their order; the view is
// kept sorted by binary-search insertion so that one flow arriving costs
// O(log n) comparisons plus an array splice, never a re-sort; a burst of
// changes (bulkApply) is merged into the view at once, costing what
// changed (k log k) plus, only when shown flows moved or left, one pass.
import type { Flow } from "../flowtypes";
import { compareKeys, sortKey, type SortKey } from "../flowutils";
import { Topic, type Listener } from "./topic";

export interface Entry {
  flow: Flow;
  /** seq is the order in which the flow arrived (the server's order). */
  seq: number;
  key: SortKey;
  /** mark is the store's generation in which rebuild found the flow
   * among the search filter's ids (an integer compare in the pass over
   * every flow rather than a string lookup). */
  mark: number;
}

export interface Sort {
  /** column is a web_columns name, or null for the server's order. */
  column: string | null;
  desc: boolean;
}

/** The names of the server-side filters (flows/updateFilter). */
export const SEARCH = "search";
export const HIGHLIGHT = "highlight";


export class FlowStore {
  private byId = new Map<string, Entry>();
  private nextSeq = 0;
  /** view is the shown flows in display order. Do not modify. */
  view: Entry[] = [];
  sort: Sort = { column: null, desc: false };
  /** Ids matching the filters; null when the filter is empty (all match). */
  private matches: Record<string, Set<string> | null> = { [SEARCH]: null, [HIGHLIGHT]: null };
  /** selected: the selected ids; the first is the one shown in detail. */
  selected: string[] = [];
  /** version changes with every change that may alter what is shown. */
  version = 0;
  private readonly changes = new Topic();
  /** In bulk, the view is left alone and brought up to date at the end. */
  private bulk = false;
  /** In bulk: the entries to take out of the view (they were in it and
   * moved, left the filter or were removed), those to put in (new, moved,
   * or now matching), the new ones, and whether the whole view must be
   * made anew (the search filter changed). */
  private bulkOut = new Set<Entry>();
  private bulkIn = new Set<Entry>();
  private bulkNew = new Set<Entry>();
  private bulkRebuild = false;
  /** Every flow in display order (sorted by a column), kept between
   * rebuilds so that a filter change is one pass over it rather than a
   * sort; null when a change may have moved a flow. Unused in the
   * server's order, which is byId's (a Map iterates in insertion order,
   * and flows are inserted in seq order). */
  private sortedAll: Entry[] | null = null;
  private gen = 0;

  subscribe(l: Listener): () => void {
    return this.changes.subscribe(l);
  }

  /** notify tells the listeners of changes (once per batch). */
  notify(): void {
    this.version++;
    this.changes.notify();
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Flow | undefined {
    return this.byId.get(id)?.flow;
  }

  all(): Flow[] {
    return Array.from(this.byId.values(), (e) => e.flow);
  }

  /** bulkApply applies many changes at once (a burst of /updates
   * messages): inserting each into a large sorted view would move the
   * array's tail every time, so the changes are noted and merged into the
   * view once at the end (see finishBulk). */
  bulkApply(fn: () => void): void {
    if (this.bulk) {
      fn();
      return;
    }
    this.bulk = true;
    try {
      fn();
    } finally {
      this.bulk = false;
      this.finishBulk();
    }
  }

  /** finishBulk brings the view up to date with the changes noted in
   * bulk: the entries taken out go in one pass over the view (only when
   * there are any), the entries put in are sorted and merged with it, and
   * when they all come after the view's end, as new flows in the server's
   * order do, they are appended. */
  private finishBulk(): void {
    const out = this.bulkOut;
    const ins = Array.from(this.bulkIn).filter((e) => this.byId.get(e.flow.id) === e && this.shown(e.flow.id));
    const rebuild = this.bulkRebuild;
    this.bulkOut = new Set();
    this.bulkIn = new Set();
    this.bulkNew = new Set();
    this.bulkRebuild = false;
    if (rebuild) {
      this.rebuild();
      return;
    }
    let v = this.view;
    if (out.size > 0) v = v.filter((e) => !out.has(e));
    if (ins.length > 0) {
      ins.sort(this.cmp);
      if (v.length === 0 || this.cmp(v[v.length - 1], ins[0]) < 0) {
        if (v === this.view) v = v.slice(); // the view is replaced, never changed in place
        for (const e of ins) v.push(e);
      } else v = mergeSorted(v, ins, this.cmp);
    }
    this.view = v;
  }

  private cmp = (a: Entry, b: Entry): number => {
    const c = this.sort.column === null ? 0 : compareKeys(a.key, b.key);
    const r = c !== 0 ? c : a.seq - b.seq;
    return this.sort.desc ? -r : r;
  };

  /** cmpForTest exposes the view's order to tests. */
  cmpForTest(a: Entry, b: Entry): number {
    return this.cmp(a, b);
  }

  /** lowerBound is the first index of the view not ordered before e. */
  private lowerBound(e: Entry): number {
    let lo = 0;
    let hi = this.view.length;
    // The common case: a new flow goes to the end.
    if (hi > 0 && this.cmp(this.view[hi - 1], e) < 0) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(this.view[mid], e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** indexOf is a flow's position in the view, or -1. */
  indexOf(id: string): number {
    const e = this.byId.get(id);
    if (!e) return -1;
    const i = this.lowerBound(e);
    return this.view[i] === e ? i : -1;
  }

  private shown(id: string): boolean {
    const m = this.matches[SEARCH];
    return m === null || m.has(id);
  }

  isHighlighted(id: string): boolean {
    const m = this.matches[HIGHLIGHT];
    return m !== null && m.has(id);
  }

  private keyOf(f: Flow, seq: number): SortKey {
    return this.sort.column === null ? seq : sortKey(this.sort.column, f, seq);
  }

  private noteMatches(id: string, matching: Record<string, boolean> | undefined): void {
    if (!matching) return;
    for (const name in this.matches) {
      const set = this.matches[name];
      if (set === null || !(name in matching)) continue;
      if (matching[name]) set.add(id);
      else set.delete(id);
    }
  }

  /** add applies flows/add (an add of a known flow is an update). */
  add(f: Flow, matching?: Record<string, boolean>): void {
    if (this.byId.has(f.id)) {
      this.update(f, matching);
      return;
    }
    const seq = this.nextSeq++;
    const e: Entry = { flow: f, seq, key: this.keyOf(f, seq), mark: 0 };
    this.byId.set(f.id, e);
    this.sortedAll = null;
    this.noteMatches(f.id, matching);
    if (this.bulk) {
      this.bulkNew.add(e);
      if (this.shown(f.id)) this.bulkIn.add(e);
    } else if (this.shown(f.id)) this.view.splice(this.lowerBound(e), 0, e);
  }

  /** update applies flows/update; an unknown flow is added. */
  update(f: Flow, matching?: Record<string, boolean>): void {
    const e = this.byId.get(f.id);
    if (!e) {
      this.add(f, matching);
      return;
    }
    if (this.bulk) {
      const wasShown = this.shown(f.id);
      this.noteMatches(f.id, matching);
      const nowShown = this.shown(f.id);
      e.flow = f;
      const k = this.keyOf(f, e.seq);
      const moved = compareKeys(k, e.key) !== 0;
      if (moved) this.sortedAll = null;
      e.key = k;
      if (!moved && wasShown === nowShown) return; // in place
      // It may be in the view (if it was there before the bulk): out of
      // it, and back in its new place if shown.
      if (wasShown && !this.bulkNew.has(e)) this.bulkOut.add(e);
      this.bulkIn.delete(e);
      if (nowShown) this.bulkIn.add(e);
      return;
    }
    const wasShown = this.shown(f.id);
    const oldIdx = wasShown ? this.lowerBound(e) : -1;
    this.noteMatches(f.id, matching);
    const nowShown = this.shown(f.id);
    const key = this.keyOf(f, e.seq);
    if (wasShown && nowShown && compareKeys(key, e.key) === 0) {
      e.flow = f; // same place: replace in situ
      return;
    }
    if (wasShown && this.view[oldIdx] === e) this.view.splice(oldIdx, 1);
    if (compareKeys(key, e.key) !== 0) this.sortedAll = null;
    e.flow = f;
    e.key = key;
    if (nowShown) this.view.splice(this.lowerBound(e), 0, e);
  }

  /** remove applies flows/remove. */
  remove(id: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    if (this.bulk) {
      if (this.shown(id) && !this.bulkNew.has(e)) this.bulkOut.add(e);
      this.bulkIn.delete(e);
    } else if (this.shown(id)) {
      const i = this.lowerBound(e);
      if (this.view[i] === e) this.view.splice(i, 1);
    }
    this.byId.delete(id);
    this.sortedAll = null;
    for (const name in this.matches) this.matches[name]?.delete(id);
    if (this.selected.includes(id)) this.selected = this.selected.filter((s) => s !== id);
  }

  /** reset replaces every flow (GET /flows after flows/reset or at start). */
  reset(flows: Flow[]): void {
    this.byId.clear();
    this.sortedAll = null;
    this.view = [];
    this.nextSeq = 0;
    for (const f of flows) {
      const seq = this.nextSeq++;
      this.byId.set(f.id, { flow: f, seq, key: this.keyOf(f, seq), mark: 0 });
    }
    const keep = new Set(this.selected.filter((id) => this.byId.has(id)));
    this.selected = this.selected.filter((id) => keep.has(id));
    this.rebuild();
  }

  /** setMatches applies flows/filterUpdate: ids is null for no filter. */
  setMatches(name: string, ids: string[] | null): void {
    this.matches[name] = ids === null ? null : new Set(ids);
    if (name !== SEARCH) return;
    if (this.bulk) this.bulkRebuild = true;
    else this.rebuild();
  }

  hasFilter(name: string): boolean {
    return this.matches[name] !== null && this.matches[name] !== undefined;
  }

  setSort(column: string | null, desc: boolean): void {
    this.sort = { column, desc };
    this.sortedAll = null;
    for (const e of this.byId.values()) e.key = this.keyOf(e.flow, e.seq);
    this.rebuild();
  }

  /** rebuild makes the view anew (filter or sort changed). In the
   * server's order, or with a column's order already known, it is one
   * pass that keeps the shown entries; only a new column order sorts. */
  private rebuild(): void {
    const m = this.matches[SEARCH];
    let all: Iterable<Entry>;
    if (this.sort.column === null) {
      all = this.byId.values(); // seq order
    } else {
      if (this.sortedAll === null || this.sortedAll.length !== this.byId.size) {
        const a = Array.from(this.byId.values());
        a.sort(this.cmp);
        this.sortedAll = a;
      }
      all = this.sortedAll;
    }
    let v: Entry[];
    if (m === null) v = Array.from(all);
    else {
      // The matching entries are marked (one lookup per match, none for
      // the flows that do not match), then kept in one pass.
      const g = ++this.gen;
      for (const id of m) {
        const e = this.byId.get(id);
        if (e) e.mark = g;
      }
      v = [];
      for (const e of all) if (e.mark === g) v.push(e);
    }
    // The server's order reversed: byId's order, backwards.
    if (this.sort.column === null && this.sort.desc) v.reverse();
    this.view = v;
  }

  // Selection.

  select(ids: string[]): void {
    this.selected = ids.filter((id) => this.byId.has(id));
  }

  /** selectRelative moves the selection by delta rows in the view (as
   * mitmweb's j/k, PageUp/PageDown, Home/End); with nothing selected it
   * starts at the end for up and at the start for down. */
  selectRelative(delta: number): void {
    if (this.view.length === 0) return;
    const cur = this.selected.length ? this.indexOf(this.selected[0]) : -1;
    let i: number;
    if (cur < 0) i = delta < 0 ? this.view.length - 1 : 0;
    else i = Math.min(this.view.length - 1, Math.max(0, cur + delta));
    this.selected = [this.view[i].flow.id];
  }

  /** selectRange selects the rows between the first selected and id, as a
   * shift-click. */
  selectRange(id: string): void {
    const a = this.selected.length ? this.indexOf(this.selected[0]) : -1;
    const b = this.indexOf(id);
    if (a < 0 || b < 0) {
      this.select([id]);
      return;
    }
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const ids = this.view.slice(lo, hi + 1).map((e) => e.flow.id);
    // The anchor stays first so that the detail pane keeps showing it.
    const anchor = this.selected[0];
    this.selected = [anchor, ...ids.filter((x) => x !== anchor)];
  }

  toggleSelected(id: string): void {
    if (this.selected.includes(id)) this.selected = this.selected.filter((s) => s !== id);
    else this.selected = [id, ...this.selected];
  }

  /** neighbour is the id to select after the selected flows are deleted: the
   * row after the last of them, else the row before. */
  neighbour(): string | undefined {
    const sel = new Set(this.selected);
    const idx = this.selected.map((id) => this.indexOf(id)).filter((i) => i >= 0);
    if (!idx.length) return undefined;
    for (let i = Math.max(...idx) + 1; i < this.view.length; i++) {
      if (!sel.has(this.view[i].flow.id)) return this.view[i].flow.id;
    }
    for (let i = Math.min(...idx) - 1; i >= 0; i--) {
      if (!sel.has(this.view[i].flow.id)) return this.view[i].flow.id;
    }
    return undefined;
  }
}

/** mergeSorted merges two arrays sorted by cmp into a new one. */
export function mergeSorted<T>(a: T[], b: T[], cmp: (x: T, y: T) => number): T[] {
  const out: T[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = cmp(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
