package proxy

import (
	"runtime"
	"testing"
	"time"
)

func TestReclaimer(t *testing.T) {
	var r reclaimer
	t0 := time.Unix(1000, 0)
	for n := 1; n <= 1000; n++ {
		r.opened(n)
	}
	if r.closed(999, t0) || r.closed(251, t0) {
		t.Fatal("reclaimed while most connections were still open")
	}
	if !r.closed(250, t0) {
		t.Fatal("not reclaimed at a quarter of the peak")
	}
	if r.closed(0, t0.Add(time.Second)) {
		t.Fatal("reclaimed again within reclaimEvery, and without a new peak")
	}
	for n := 1; n <= 300; n++ {
		r.opened(n)
	}
	if !r.closed(10, t0.Add(reclaimEvery)) {
		t.Fatal("not reclaimed after a second burst")
	}
	var small reclaimer
	for n := 1; n <= 100; n++ {
		small.opened(n)
	}
	if small.closed(0, t0) {
		t.Fatal("reclaimed after a burst too small to matter")
	}
}

func TestQuietReclaimerDecide(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name   string
		allocs []uint64 // cumulative allocation at each tick, quietTick apart
		want   []bool
	}{
		{"busy all along: never", []uint64{0, 10 << 20, 20 << 20, 30 << 20, 40 << 20, 50 << 20, 60 << 20, 70 << 20}, []bool{false, false, false, false, false, false, false, false}},
		{"quiet after a burst, once reclaimEvery has passed", []uint64{0, 20 << 20, 20 << 20, 20 << 20, 20 << 20, 20 << 20, 20 << 20, 20 << 20}, []bool{false, false, false, true, false, false, false, false}},
		{"quiet with little allocated: never", []uint64{0, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20}, []bool{false, false, false, false, false, false, false}},
		{"a second burst, reclaimed again", []uint64{0, 20 << 20, 20 << 20, 20 << 20, 20 << 20, 20 << 20, 40 << 20, 40 << 20, 40 << 20}, []bool{false, false, false, true, false, false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &quietReclaimer{lastAt: start}
			// Ticks 3 s apart: the first possible reclaim is at 12 s.
			for i, a := range tt.allocs {
				now := start.Add(time.Duration(i+1) * 3 * time.Second)
				quiet, got := q.decide(a, now)
				if wantQuiet := i > 0 && a-tt.allocs[i-1] < quietAlloc || i == 0 && a < quietAlloc; quiet != wantQuiet {
					t.Fatalf("tick %d (allocated %d MiB): quiet %v, want %v", i, a>>20, quiet, wantQuiet)
				}
				if got != tt.want[i] {
					t.Fatalf("tick %d (allocated %d MiB): %v, want %v", i, a>>20, got, tt.want[i])
				}
			}
		})
	}
}

func TestQuietReclaimerReads(t *testing.T) {
	q := newQuietReclaimer()
	before := q.read()
	_ = make([]byte, 1<<20)
	if after := q.read(); after <= before {
		t.Fatalf("allocation count did not grow: %d then %d", before, after)
	}
}

// TestRegrown: the copy holds the same entries in the room they need,
// where the map it copies keeps the room of its peak.
func TestRegrown(t *testing.T) {
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	m := map[int]struct{}{}
	for i := range 10000 {
		m[i] = struct{}{}
	}
	for i := 10; i < 10000; i++ {
		delete(m, i)
	}
	peak := heap() - before
	r := regrown(m)
	m = nil
	after := heap() - before
	if len(r) != 10 {
		t.Fatalf("regrown holds %d entries, want 10", len(r))
	}
	for i := range 10 {
		if _, ok := r[i]; !ok {
			t.Fatalf("regrown lost %d", i)
		}
	}
	if after*4 > peak {
		t.Fatalf("regrown map holds %d bytes, the emptied one %d", after, peak)
	}
	runtime.KeepAlive(m)
}
