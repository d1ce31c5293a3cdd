import { describe, expect, it } from "vitest";

declare const process: { env: Record<string, string | undefined> };
import type { HTTPFlow } from "../flowtypes";
import { httpFlow } from "../testutil";
import { FlowStore, HIGHLIGHT, SEARCH } from "./flowstore";

const ids = (s: FlowStore) => s.view.map((e) => e.flow.id);

describe("FlowStore", () => {
  it("applies add, update and remove in order", () => {
    const s = new FlowStore();
    s.add(httpFlow({ id: "a" }));
    s.add(httpFlow({ id: "b" }));
    s.add(httpFlow({ id: "c" }));
    expect(ids(s)).toEqual(["a", "b", "c"]);
    const b2 = httpFlow({ id: "b", status: 200 });
    s.update(b2);
    expect(s.get("b")).toBe(b2);
    expect(ids(s)).toEqual(["a", "b", "c"]);
    s.remove("a");
    expect(ids(s)).toEqual(["b", "c"]);
    expect(s.size).toBe(2);
    s.remove("nope"); // unknown ids are ignored
    expect(s.size).toBe(2);
  });

  it("treats an add of a known flow as an update and an update of an unknown one as an add", () => {
    const s = new FlowStore();
    s.update(httpFlow({ id: "x" }));
    s.add(httpFlow({ id: "x", status: 204 }));
    expect(s.size).toBe(1);
    expect(s.get("x")?.type === "http" && (s.get("x") as HTTPFlow).response?.status_code).toBe(204);
  });

  it("keeps the view sorted when flows arrive and change", () => {
    const s = new FlowStore();
    s.setSort("size", false);
    s.add(httpFlow({ id: "big", status: 200, size: 500 }));
    s.add(httpFlow({ id: "small", status: 200, size: 5 }));
    s.add(httpFlow({ id: "mid", status: 200, size: 50 }));
    expect(ids(s)).toEqual(["small", "mid", "big"]);
    s.update(httpFlow({ id: "small", status: 200, size: 5000 }));
    expect(ids(s)).toEqual(["mid", "big", "small"]);
    s.setSort("size", true);
    expect(ids(s)).toEqual(["small", "big", "mid"]);
    s.add(httpFlow({ id: "tiny", status: 200, size: 1 }));
    expect(ids(s)).toEqual(["small", "big", "mid", "tiny"]);
    s.setSort(null, false);
    expect(ids(s)).toEqual(["big", "small", "mid", "tiny"]);
  });

  it("sorts equal keys by arrival and mixed keys numbers first", () => {
    const s = new FlowStore();
    s.setSort("status", false);
    s.add(httpFlow({ id: "p1" })); // no response: -1
    s.add(httpFlow({ id: "ok", status: 200 }));
    s.add(httpFlow({ id: "p2" }));
    expect(ids(s)).toEqual(["p1", "p2", "ok"]);
    expect(s.indexOf("p2")).toBe(1);
  });

  it("shows only the flows of the search filter, following matching_filters", () => {
    const s = new FlowStore();
    s.add(httpFlow({ id: "a" }));
    s.add(httpFlow({ id: "b" }));
    s.setMatches(SEARCH, ["b"]);
    expect(ids(s)).toEqual(["b"]);
    s.add(httpFlow({ id: "c" }), { search: true });
    s.add(httpFlow({ id: "d" }), { search: false });
    expect(ids(s)).toEqual(["b", "c"]);
    // A flow that starts to match appears in its place.
    s.update(httpFlow({ id: "a", status: 200 }), { search: true });
    expect(ids(s)).toEqual(["a", "b", "c"]);
    s.update(httpFlow({ id: "b", status: 500 }), { search: false });
    expect(ids(s)).toEqual(["a", "c"]);
    expect(s.size).toBe(4);
    s.setMatches(SEARCH, null);
    expect(ids(s)).toEqual(["a", "b", "c", "d"]);
  });

  it("tracks highlighted flows", () => {
    const s = new FlowStore();
    s.add(httpFlow({ id: "a" }));
    expect(s.isHighlighted("a")).toBe(false);
    s.setMatches(HIGHLIGHT, ["a"]);
    expect(s.isHighlighted("a")).toBe(true);
    s.add(httpFlow({ id: "b" }), { highlight: true, search: false });
    expect(s.isHighlighted("b")).toBe(true);
    expect(ids(s)).toEqual(["a", "b"]); // no search filter: all shown
    s.update(httpFlow({ id: "a" }), { highlight: false });
    expect(s.isHighlighted("a")).toBe(false);
  });

  it("resets to a new list, keeping the selection of flows that remain", () => {
    const s = new FlowStore();
    s.add(httpFlow({ id: "a" }));
    s.add(httpFlow({ id: "b" }));
    s.select(["b"]);
    s.reset([httpFlow({ id: "b" }), httpFlow({ id: "c" })]);
    expect(ids(s)).toEqual(["b", "c"]);
    expect(s.selected).toEqual(["b"]);
    s.reset([]);
    expect(s.selected).toEqual([]);
  });

  it("moves the selection as j/k, Home/End", () => {
    const s = new FlowStore();
    for (const id of ["a", "b", "c", "d"]) s.add(httpFlow({ id }));
    s.selectRelative(1);
    expect(s.selected).toEqual(["a"]);
    s.selectRelative(1);
    s.selectRelative(1);
    expect(s.selected).toEqual(["c"]);
    s.selectRelative(-1);
    expect(s.selected).toEqual(["b"]);
    s.selectRelative(1e10);
    expect(s.selected).toEqual(["d"]);
    s.selectRelative(-1e10);
    expect(s.selected).toEqual(["a"]);
    s.select([]);
    s.selectRelative(-1);
    expect(s.selected).toEqual(["d"]);
  });

  it("selects ranges and toggles, and finds the neighbour of a deletion", () => {
    const s = new FlowStore();
    for (const id of ["a", "b", "c", "d", "e"]) s.add(httpFlow({ id }));
    s.select(["b"]);
    s.selectRange("d");
    expect(s.selected).toEqual(["b", "c", "d"]);
    expect(s.neighbour()).toBe("e");
    s.toggleSelected("c");
    expect(s.selected).toEqual(["b", "d"]);
    s.select(["e"]);
    expect(s.neighbour()).toBe("d");
    s.remove("e");
    expect(s.selected).toEqual([]);
  });

  it("takes 100,000 flows in bulk, then single flows quickly", () => {
    const s = new FlowStore();
    s.setSort("size", false);
    const t0 = performance.now();
    s.bulkApply(() => {
      for (let i = 0; i < 100_000; i++) s.add(httpFlow({ id: "p" + i, status: 200, size: (i * 7919) % 10007 }));
      s.update(httpFlow({ id: "p5", status: 200, size: 999_999 }));
      s.remove("p6");
    });
    const t1 = performance.now();
    for (let i = 0; i < 1000; i++) s.add(httpFlow({ id: "q" + i, status: 200, size: (i * 31) % 10007 }));
    const t2 = performance.now();
    for (let i = 1000; i < 2000; i++) s.update(httpFlow({ id: "p" + i, status: 200, size: i }));
    const t3 = performance.now();
    expect(s.view.length).toBe(100_999);
    expect(s.view[s.view.length - 1].flow.id).toBe("p5");
    expect(s.indexOf("p6")).toBe(-1);
    let sorted = true;
    for (let i = 1; i < s.view.length; i++) sorted &&= s.cmpForTest(s.view[i - 1], s.view[i]) < 0;
    expect(sorted).toBe(true);
    if (process.env.TIMINGS) {
      console.log(
        `100k bulk: ${(t1 - t0).toFixed(0)}ms, 1000 single adds: ${(t2 - t1).toFixed(0)}ms, ` +
          `1000 updates: ${(t3 - t2).toFixed(0)}ms`,
      );
    }
    // Generous bounds (machines vary); the point is no O(n) work per flow
    // beyond one array splice.
    expect(t1 - t0).toBeLessThan(5000);
    expect(t2 - t1).toBeLessThan(5000);
  });

  // The view after a filter or sort change is one pass over a known order;
  // it must be what a sort of the matching flows gives, whatever changed
  // between (adds, updates that move a flow, removes, a new sort).
  it("rebuilds the view as a sort of the matching flows would", () => {
    const s = new FlowStore();
    const check = (want: Set<string> | null) => {
      const v = s.view;
      for (let i = 1; i < v.length; i++) expect(s.cmpForTest(v[i - 1], v[i])).toBeLessThan(0);
      const all = s.all().map((f) => f.id);
      expect(new Set(ids(s))).toEqual(new Set(want === null ? all : all.filter((id) => want.has(id))));
    };
    for (let i = 0; i < 50; i++) s.add(httpFlow({ id: "f" + i, status: 200, size: (i * 37) % 11 }));
    const odd = new Set(Array.from({ length: 25 }, (_, i) => "f" + (2 * i + 1)));
    const sorts: [string | null, boolean][] = [[null, false], [null, true], ["size", false], ["size", true]];
    for (const [col, desc] of sorts) {
      s.setSort(col, desc);
      s.setMatches(SEARCH, [...odd]);
      check(odd);
      s.add(httpFlow({ id: "n" + col + desc, status: 200, size: 3 }), { [SEARCH]: true });
      odd.add("n" + col + desc);
      s.update(httpFlow({ id: "f3", status: 200, size: 1000 })); // moves in the size order
      s.remove("f5");
      odd.delete("f5");
      check(odd);
      s.setMatches(SEARCH, null);
      check(null);
      s.setMatches(SEARCH, [...odd]);
      check(odd);
      s.bulkApply(() => {
        s.update(httpFlow({ id: "f7", status: 200, size: 0 }));
        s.add(httpFlow({ id: "b" + col + desc, status: 200, size: 4 }), { [SEARCH]: false });
      });
      check(odd);
    }
  });

  it("applies a filter to 100,000 flows in one pass", () => {
    const s = new FlowStore();
    s.reset(Array.from({ length: 100_000 }, (_, i) => httpFlow({ id: "p" + i, status: 200, size: i % 977 })));
    const half = Array.from({ length: 50_000 }, (_, i) => "p" + 2 * i);
    const t0 = performance.now();
    s.setMatches(SEARCH, half);
    const t1 = performance.now();
    s.setMatches(SEARCH, ["p77"]);
    const t2 = performance.now();
    s.setMatches(SEARCH, null);
    const t3 = performance.now();
    expect(s.view.length).toBe(100_000);
    s.setMatches(SEARCH, ["p77"]);
    expect(ids(s)).toEqual(["p77"]);
    s.setSort("size", true);
    s.setMatches(SEARCH, half);
    const t4 = performance.now();
    s.setMatches(SEARCH, ["p77", "p78"]);
    const t5 = performance.now();
    expect(ids(s)).toEqual(["p78", "p77"]);
    if (process.env.TIMINGS) {
      console.log(
        `filter 100k: half ${(t1 - t0).toFixed(0)}ms, one ${(t2 - t1).toFixed(0)}ms, none ${(t3 - t2).toFixed(0)}ms; ` +
          `sorted by size, again: ${(t5 - t4).toFixed(0)}ms`,
      );
    }
    // Generous (machines vary): no sort, no per-flow allocation.
    expect(t2 - t1).toBeLessThan(1000);
    expect(t5 - t4).toBeLessThan(1000);
  });

  // A burst applied in bulk must leave the view that the same changes
  // applied one by one leave, in every order and with a filter; and a
  // burst of new flows at the end must not copy or sort the view.
  describe("bulk changes give the view of single changes", () => {
    const orders: { name: string; column: string | null; desc: boolean; filter: boolean }[] = [
      { name: "server order", column: null, desc: false, filter: false },
      { name: "server order, reversed", column: null, desc: true, filter: false },
      { name: "by size", column: "size", desc: false, filter: false },
      { name: "by size, reversed, filtered", column: "size", desc: true, filter: true },
      { name: "by status, filtered", column: "status", desc: false, filter: true },
    ];
    for (const o of orders) {
      it(o.name, () => {
        // A small linear congruential generator: the same changes every run.
        let seed = 12345;
        const rnd = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed % n;
        };
        const one = new FlowStore();
        const bulk = new FlowStore();
        for (const s of [one, bulk]) {
          s.setSort(o.column, o.desc);
          if (o.filter) s.setMatches(SEARCH, []);
        }
        let next = 0;
        for (let round = 0; round < 20; round++) {
          const ops: ((s: FlowStore) => void)[] = [];
          for (let k = 0; k < 1 + rnd(60); k++) {
            const r = rnd(10);
            const id = "f" + (r < 5 || next === 0 ? next++ : rnd(next));
            const m = o.filter ? { search: rnd(3) > 0 } : undefined;
            const status = rnd(4) === 0 ? undefined : [200, 404, 500][rnd(3)];
            const size = rnd(50);
            if (r < 9) ops.push((s) => s.add(httpFlow({ id, status, size }), m));
            else ops.push((s) => s.remove(id));
          }
          if (round === 10 && o.filter) ops.push((s) => s.setMatches(SEARCH, Array.from({ length: next }, (_, i) => "f" + i).filter((_, i) => i % 3 === 0)));
          for (const op of ops) op(one);
          bulk.bulkApply(() => {
            for (const op of ops) op(bulk);
          });
          expect(ids(bulk)).toEqual(ids(one));
        }
        expect(one.view.length).toBeGreaterThan(10);
      });
    }

    it("appends a burst of new flows in the server's order without sorting the view", () => {
      const s = new FlowStore();
      s.bulkApply(() => {
        for (let i = 0; i < 1000; i++) s.add(httpFlow({ id: "a" + i }));
      });
      let calls = 0;
      const inner = s as unknown as { cmp: (a: unknown, b: unknown) => number };
      const cmp = inner.cmp;
      // Count the comparisons of the next burst: about one per new flow
      // (the sort of the burst, already in order, and the check of the
      // view's end), not n log n of the view.
      inner.cmp = (a, b) => (calls++, cmp(a, b));
      s.bulkApply(() => {
        for (let i = 0; i < 300; i++) s.add(httpFlow({ id: "b" + i }));
      });
      expect(s.view.length).toBe(1300);
      expect(s.view[1299].flow.id).toBe("b299");
      expect(calls).toBeLessThan(2 * 300);
    });
  });
});
