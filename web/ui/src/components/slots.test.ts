// assignSlots: which row element (slot) shows which flow, so that the
// virtualised table reuses its elements as flows scroll through them.
import { describe, expect, it } from "vitest";
import { assignSlots, slotCount } from "./FlowTable";

describe("assignSlots", () => {
  const cases: { name: string; prev: Record<string, number>; ids: string[]; slots: number; want: Record<string, number> }[] = [
    { name: "first render: in order", prev: {}, ids: ["a", "b", "c"], slots: 5, want: { a: 0, b: 1, c: 2 } },
    {
      name: "scrolled by one: the new flow takes the slot of the one that left",
      prev: { a: 0, b: 1, c: 2 },
      ids: ["b", "c", "d"],
      slots: 5,
      want: { b: 1, c: 2, d: 0 },
    },
    {
      name: "a freed slot before an empty one",
      prev: { a: 3 },
      ids: ["b"],
      slots: 5,
      want: { b: 3 },
    },
    {
      name: "a flow inserted above keeps the others where they are",
      prev: { a: 0, b: 1 },
      ids: ["x", "a", "b"],
      slots: 4,
      want: { a: 0, b: 1, x: 2 },
    },
    { name: "fewer slots (resized): a slot past the end is given again", prev: { a: 4, b: 0 }, ids: ["a", "b"], slots: 3, want: { a: 1, b: 0 } },
    { name: "more flows than slots: the rest are left out", prev: {}, ids: ["a", "b", "c", "d"], slots: 3, want: { a: 0, b: 1, c: 2 } },
    { name: "nothing to show", prev: { a: 0 }, ids: [], slots: 3, want: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = assignSlots(new Map(Object.entries(c.prev)), c.ids, c.slots);
      expect(Object.fromEntries(got.slotOf)).toEqual(c.want);
      // bySlot is the same assignment seen from the slots.
      const fromSlots: Record<string, number> = {};
      got.bySlot.forEach((k, s) => {
        if (k !== null) fromSlots[c.ids[k]] = s;
      });
      expect(fromSlots).toEqual(c.want);
      expect(got.bySlot.length).toBe(c.slots);
    });
  }

  it("keeps every element while a full window scrolls, whatever the step", () => {
    const slots = slotCount(10 * 26);
    let prev = new Map<string, number>();
    let elements = new Set<number>();
    for (let first = 0; first < 200; first += 1 + (first % 7)) {
      const ids = Array.from({ length: slots }, (_, i) => "f" + (first + i));
      const got = assignSlots(prev, ids, slots);
      const used = new Set(got.slotOf.values());
      expect(used.size).toBe(slots);
      if (elements.size) expect(used).toEqual(elements);
      // A flow still in view stays in its slot.
      for (const [id, s] of got.slotOf) if (prev.has(id)) expect(s).toBe(prev.get(id));
      elements = used;
      prev = got.slotOf;
    }
  });
});
