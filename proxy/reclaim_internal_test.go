package proxy

import (
	"runtime"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
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

func TestMovedConnsNone(t *testing.T) {
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	var m movedConns
	if !closed(m.none()) {
		t.Fatal("none not closed before any move")
	}
	m.Add(2)
	c := m.none()
	if closed(c) || m.Load() != 2 {
		t.Fatalf("none closed (or count %d) with two moved connections", m.Load())
	}
	m.Add(-1)
	if closed(c) {
		t.Fatal("none closed with one moved connection left")
	}
	m.Add(-1)
	if !closed(c) || !closed(m.none()) {
		t.Fatal("none not closed once the last moved connection let go")
	}
	m.Add(1)
	if closed(m.none()) {
		t.Fatal("none closed after a new move")
	}
	m.Add(-2)
	if m.Load() != 0 || !closed(m.none()) {
		t.Fatalf("a stray decrement left the count at %d", m.Load())
	}
}

// TestWaitMoved: waitMoved returns when the last moved connection lets
// go, at once when the server stops, and false after its bound.
func TestWaitMoved(t *testing.T) {
	tests := []struct {
		name  string
		d     time.Duration
		end   func(s *Server, stop chan struct{})
		want  bool
		moved int32
	}{
		{"the last one lets go", time.Hour, func(s *Server, _ chan struct{}) {
			for range 3 {
				go s.moving.Add(-1)
			}
		}, true, 3},
		{"the server stops", time.Hour, func(_ *Server, stop chan struct{}) { close(stop) }, false, 1},
		{"the bound passes", 10 * time.Millisecond, func(*Server, chan struct{}) {}, false, 1},
		{"none moved", time.Hour, func(*Server, chan struct{}) {}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			s.moving.Add(tt.moved)
			stop := make(chan struct{})
			got := make(chan bool, 1)
			go func() { got <- s.waitMoved(stop, tt.d) }()
			tt.end(s, stop)
			var res bool
			testutil.Eventually(t, 10*time.Second, func() bool {
				select {
				case res = <-got:
					return true
				default:
					return false
				}
			}, "waitMoved did not return")
			if res != tt.want {
				t.Fatalf("waitMoved = %v, want %v", res, tt.want)
			}
		})
	}
}

// fakeMover's waits end as stop does.
type fakeMover struct{ waits int }

func (f *fakeMover) moveIdle() int { return 0 }
func (f *fakeMover) waitMoved(stop <-chan struct{}, _ time.Duration) bool {
	f.waits++
	return !stopped(stop)
}

// TestQuietReclaimerCollectMoved: memory is given back after enough moves,
// at most every reclaimEvery, and not once the server stops.
func TestQuietReclaimerCollectMoved(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name  string
		moved int
		// since is the time since the last collection for moves.
		since     time.Duration
		stop      bool
		want      bool
		wantWaits int
	}{
		{"enough moves", moveCollectMin, reclaimEvery, false, true, 1},
		{"too few moves", moveCollectMin - 1, reclaimEvery, false, false, 0},
		{"too soon after the last", moveCollectMin, reclaimEvery - time.Second, false, false, 0},
		{"the server stops", moveCollectMin, reclaimEvery, true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &quietReclaimer{moved: tt.moved, lastMove: now.Add(-tt.since)}
			stop := make(chan struct{})
			if tt.stop {
				close(stop)
			}
			f := &fakeMover{}
			if got := q.collectMoved(f, now, stop); got != tt.want || f.waits != tt.wantWaits {
				t.Fatalf("collectMoved = %v after %d waits, want %v after %d", got, f.waits, tt.want, tt.wantWaits)
			}
		})
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
