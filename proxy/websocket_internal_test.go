package proxy

import "testing"

// TestMsgBufs: where a message's buffer comes from, by size: a slab piece
// whose capacity ends where it does, the body pool (counted, for giving
// back), or an allocation of its own.
func TestMsgBufs(t *testing.T) {
	tests := []struct {
		n      int
		pooled bool
		minCap int
		exact  bool // capacity exactly n (a slab piece, or its own)
	}{
		{n: 0, exact: true},
		{n: 1, exact: true},
		{n: 100, exact: true},
		{n: maxSlabPiece, exact: true},
		{n: maxSlabPiece + 1, exact: true},
		{n: minPooledBody - 1, exact: true},
		{n: minPooledBody, pooled: true, minCap: minPooledBody},
		{n: 64 << 10, pooled: true, minCap: 64 << 10},
		{n: 64<<10 + 1, pooled: true, minCap: 128 << 10},
		{n: maxPooledBody, pooled: true, minCap: maxPooledBody},
		{n: maxPooledBody + 1, exact: true},
	}
	// Each size first thing from a fresh msgBufs, then all in a row from
	// one.
	shared := &msgBufs{pool: &bodyPool{}}
	for i, tc := range append(tests, tests...) {
		b := shared
		if i < len(tests) {
			b = &msgBufs{pool: &bodyPool{}}
		}
		before := len(b.pooled)
		buf := b.alloc(tc.n)
		if len(buf) != 0 {
			t.Errorf("alloc(%d): length %d", tc.n, len(buf))
		}
		if got := len(b.pooled) - before; got != map[bool]int{false: 0, true: 1}[tc.pooled] {
			t.Errorf("alloc(%d): %d buffers from the pool", tc.n, got)
		}
		if tc.exact && cap(buf) != tc.n || cap(buf) < tc.minCap {
			t.Errorf("alloc(%d): capacity %d", tc.n, cap(buf))
		}
	}
	// Pieces of one slab do not overlap: each is filled, then all are
	// checked.
	b := shared
	var pieces [][]byte
	for i := range 2000 {
		p := b.alloc(1 + i%50)[:1+i%50]
		for j := range p {
			p[j] = byte(i)
		}
		pieces = append(pieces, p)
	}
	for i, p := range pieces {
		for _, c := range p {
			if c != byte(i) {
				t.Fatalf("piece %d was overwritten", i)
			}
		}
	}
	if b.slabSize != maxSlab {
		t.Errorf("slab size %d after many pieces, want %d", b.slabSize, maxSlab)
	}
	seen := map[any]bool{}
	var msgs records[int]
	for range 300 {
		m := msgs.next()
		if seen[m] {
			t.Fatal("a message record handed out twice")
		}
		seen[m] = true
	}
	b.recycle()
	if len(b.pooled) != 0 {
		t.Errorf("%d pooled buffers after recycle", len(b.pooled))
	}
	// Without a pool (a TCP flow's), large pieces are allocated.
	nopool := &msgBufs{}
	if p := nopool.clone(make([]byte, 64<<10)); len(p) != 64<<10 || cap(p) != 64<<10 || len(nopool.pooled) != 0 {
		t.Errorf("clone of 64 KiB without a pool: %d/%d bytes, %d pooled", len(p), cap(p), len(nopool.pooled))
	}
	if p := nopool.clone([]byte("abc")); string(p) != "abc" || cap(p) != 3 {
		t.Errorf("clone of 3 bytes: %q, capacity %d", p, cap(p))
	}
}

// TestMsgBufsFree: a pooled buffer a message outgrew goes back to the pool
// at once (it is no longer among those given back at the end); other
// buffers are left alone.
func TestMsgBufsFree(t *testing.T) {
	b := &msgBufs{pool: &bodyPool{}}
	small := b.alloc(100)
	outgrown := b.alloc(minPooledBody)
	kept := b.alloc(minPooledBody)
	if len(b.pooled) != 2 {
		t.Fatalf("%d pooled buffers, want 2", len(b.pooled))
	}
	b.free(small)
	b.free(outgrown[:10])
	if len(b.pooled) != 1 || &(*b.pooled[0])[:1][0] != &kept[:1][0] {
		t.Fatalf("after free: %d pooled buffers, want the one still used", len(b.pooled))
	}
	// Whether the pool hands it out again is sync.Pool's choice (the race
	// detector drops some puts at random): not checked.
}
