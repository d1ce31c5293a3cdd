package view

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedListAgainstSlice drives the chunked list and a plain sorted
// slice with the same random inserts and removes, and compares them.
func TestSortedListAgainstSlice(t *testing.T) {
	less := func(a, b *entry) bool {
		if a.size != b.size {
			return a.size < b.size
		}
		return a.seq < b.seq
	}
	r := rand.New(rand.NewPCG(1, 2))
	var l sortedList
	var ref []*entry
	check := func(step int) {
		t.Helper()
		if l.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", step, l.len(), len(ref))
		}
		all := l.all(nil)
		if !slices.Equal(all, ref) {
			t.Fatalf("step %d: order differs", step)
		}
		for _, c := range l.chunks {
			if len(c) == 0 || len(c) > chunkMax {
				t.Fatalf("step %d: chunk of %d", step, len(c))
			}
		}
	}
	seq := uint64(0)
	for step := 0; step < 20000; step++ {
		if len(ref) > 0 && r.IntN(3) == 0 {
			e := ref[r.IntN(len(ref))]
			want := slices.Index(ref, e)
			if got := l.index(e, less); got != want {
				t.Fatalf("step %d: index %d, want %d", step, got, want)
			}
			if got := l.remove(e, less); got != want {
				t.Fatalf("step %d: remove at %d, want %d", step, got, want)
			}
			ref = slices.Delete(ref, want, want+1)
			if l.index(e, less) != -1 || l.remove(e, less) != -1 {
				t.Fatalf("step %d: a removed entry is still found", step)
			}
		} else {
			seq++
			e := &entry{seq: seq, size: int64(r.IntN(200))}
			want, _ := slices.BinarySearchFunc(ref, e, func(a, b *entry) int {
				if less(a, b) {
					return -1
				}
				return 1
			})
			if got := l.rank(e, less); got != want {
				t.Fatalf("step %d: rank %d, want %d", step, got, want)
			}
			if got := l.insert(e, less); got != want {
				t.Fatalf("step %d: inserted at %d, want %d", step, got, want)
			}
			ref = slices.Insert(ref, want, e)
		}
		if step%997 == 0 {
			check(step)
			if len(ref) > 10 {
				from := r.IntN(len(ref))
				to := min(len(ref), from+r.IntN(700))
				if got := l.slice(nil, from, to); !slices.Equal(got, ref[from:to]) {
					t.Fatalf("step %d: slice(%d, %d) differs", step, from, to)
				}
				if l.at(from) != ref[from] {
					t.Fatalf("step %d: at(%d) differs", step, from)
				}
			}
		}
	}
	check(-1)
	l.build(slices.Clone(ref))
	check(-2)
}
