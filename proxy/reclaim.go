package proxy

import (
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// reclaimer decides when to give memory back to the system. The Go runtime
// keeps the heap a burst of connections grew (their buffers, flows and
// goroutine stacks) and returns it only slowly: 9,900 connections, once
// closed, left 338 MB resident (issue 18). When the open connections fall
// to a quarter of a peak of some size, the proxy collects and returns what
// is free at once (debug.FreeOSMemory: a full collection, a few
// milliseconds), at most every reclaimEvery.
type reclaimer struct {
	peak int
	last time.Time
}

const (
	// reclaimMinPeak: smaller peaks do not leave enough to be worth a full
	// collection.
	reclaimMinPeak = 256
	reclaimEvery   = 10 * time.Second
)

// opened notes the number of open connections after an accept.
func (r *reclaimer) opened(n int) { r.peak = max(r.peak, n) }

// closed notes the number of open connections after a close, and reports
// whether to give memory back now.
func (r *reclaimer) closed(n int, now time.Time) bool {
	if r.peak < reclaimMinPeak || n > r.peak/4 || now.Sub(r.last) < reclaimEvery {
		return false
	}
	r.peak, r.last = n, now
	return true
}

// quietReclaimer gives memory back once the proxy goes quiet after work.
// The Go runtime lets the heap grow to twice what is live before it
// collects (GOGC=100) and returns free pages to the system slowly, so a
// proxy that has just opened many connections and then holds them idle
// keeps the garbage of that work resident: 1,000 idle HTTPS connections
// cost 82 KiB each in RSS against 34 KiB each live in the heap (mitmbench
// -idle 1000). Every quietTick it reads how much was allocated since the
// last tick; when that is little (the proxy is quiet) and enough was
// allocated since the last reclaim to be worth a full collection, it
// collects and returns the memory, at most every reclaimEvery.
type quietReclaimer struct {
	// allocated is the runtime's cumulative allocation count, read into a
	// sample reused every tick.
	allocated [1]metrics.Sample
	lastTick  uint64
	lastFree  uint64
	lastAt    time.Time
	// moved counts the connections moved to the idle watch, resumed
	// from it or ended since the last collection for them, at lastMove.
	moved    int
	lastMove time.Time
}

const (
	quietTick = time.Second
	// quietAlloc: less than this allocated during a tick is quiet (an
	// idle proxy allocates next to nothing; one request, a few KiB).
	quietAlloc = 1 << 20
	// reclaimAlloc: allocated since the last reclaim before another is
	// worth a full collection.
	reclaimAlloc = 4 << 20
)

// newQuietReclaimer returns a reclaimer that may reclaim at its first quiet
// tick (what starting up allocated is garbage too).
func newQuietReclaimer() *quietReclaimer {
	q := &quietReclaimer{}
	q.allocated[0].Name = "/gc/heap/allocs:bytes"
	q.lastTick = q.read()
	q.lastFree = q.lastTick
	return q
}

func (q *quietReclaimer) read() uint64 {
	metrics.Read(q.allocated[:])
	if q.allocated[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return q.allocated[0].Value.Uint64()
}

// tick notes the allocation count at now and reports whether the proxy
// was quiet, and whether to give memory back.
func (q *quietReclaimer) tick(now time.Time) (quiet, reclaim bool) {
	return q.decide(q.read(), now)
}

func (q *quietReclaimer) decide(total uint64, now time.Time) (quiet, reclaim bool) {
	sinceTick, sinceFree := total-q.lastTick, total-q.lastFree
	q.lastTick = total
	quiet = sinceTick < quietAlloc
	if !quiet || sinceFree < reclaimAlloc || now.Sub(q.lastAt) < reclaimEvery {
		return quiet, false
	}
	q.lastFree, q.lastAt = total, now
	return true, true
}

// run ticks until stop is closed. Every moveTick it moves the
// connections idle since the last one to the idle watch (mover; nil: none,
// see Server.moveIdle); every quietTick it paces the heap (pacer) and
// decides whether to give memory back.
func (q *quietReclaimer) run(stop <-chan struct{}, mover idleMover, pacer *heapPacer) {
	t := time.NewTicker(moveTick)
	defer t.Stop()
	defer pacer.stop()
	for ticks := 1; ; ticks++ {
		select {
		case <-stop:
			return
		case now := <-t.C:
			if mover != nil {
				q.moved += mover.moveIdle()
			}
			if ticks%int(quietTick/moveTick) != 0 {
				continue
			}
			pacer.tick()
			quiet, reclaim := q.tick(now)
			if quiet && mover != nil && q.collectMoved(mover, now, stop) {
				reclaim = true
			}
			if reclaim {
				freeOSMemory()
			}
		}
	}
}

// idleMover moves idle connections to the idle watch (Server.moveIdle)
// and waits until those moved have left their goroutines, at most for a
// duration and not beyond stop (reporting whether they did).
type idleMover interface {
	moveIdle() int
	waitMoved(stop <-chan struct{}, d time.Duration) bool
}

const (
	// moveTick is how often idle connections are moved: a connection
	// idle for one to two of them leaves its goroutine, so that a burst
	// of connections that go idle does not keep a goroutine each (the
	// runtime never frees a goroutine's g, about 450 bytes: 9,900 idle
	// connections left 4.3 MiB behind after they closed), while a
	// keep-alive connection busier than that never moves. Each tick
	// looks at every open connection under the server's lock (about
	// 30 ns each).
	moveTick = 250 * time.Millisecond
	// moveCollectMin: fewer connections moved, resumed or ended (see
	// Server.moveIdle) are not worth collecting for.
	moveCollectMin = 256
	// moveWait bounds the wait for moved connections to leave their
	// goroutines.
	moveWait = time.Second
)

// collectMoved reports, at a quiet tick, whether memory is to be given
// back after moves: the goroutines of the moved connections have ended,
// and their stacks are free. It is after at least moveCollectMin moves, at
// most every reclaimEvery. A stop during the wait ends it without
// collecting: the server is shutting down.
func (q *quietReclaimer) collectMoved(m idleMover, now time.Time, stop <-chan struct{}) (reclaim bool) {
	if q.moved < moveCollectMin || now.Sub(q.lastMove) < reclaimEvery {
		return false
	}
	q.moved, q.lastMove = 0, now
	if !m.waitMoved(stop, moveWait) && stopped(stop) {
		return false
	}
	return true
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// freeOSMemory collects and returns free memory to the system. Twice: the
// first collection only moves the pooled buffers of idle streams to the
// pools' victim caches, the second frees them.
func freeOSMemory() {
	debug.FreeOSMemory()
	debug.FreeOSMemory()
}

// heapPacer caps how far the heap grows between collections while much of
// it is live. With GOGC=100 the runtime lets the heap reach twice what is
// live: 9,900 idle HTTPS connections (190 MiB live) took the heap to
// 395 MiB, and the runtime's bookkeeping for that peak (span structures,
// GC metadata: 13.5 MiB) stays after the connections close, as does what
// the garbage of their handshakes scattered over its pages. While the live
// heap is above paceHeadroom it lowers the GC percent so that the heap
// grows by about paceHeadroom (not below paceMinPercent), and it restores
// the percent in force at start when the live heap falls back. A proxy
// with a small live heap (a few hundred connections: 1-2 MiB) is never
// paced, so its CPU per request does not change. It leaves the runtime
// alone when the operator set GOGC or GOMEMLIMIT (the environment) or
// turned the collector off.
type heapPacer struct {
	// live is the runtime's live-heap count (as of the last GC), read
	// into a sample reused every tick.
	live [1]metrics.Sample
	// base is the GC percent in force at start, set the one in force now.
	base, set int
	off       bool
	// claim is held while this pacer may change the percent (see
	// processPacer).
	claim *atomic.Bool
}

// processPacer is claimed by the one pacer of the process that may change
// the GC percent, a setting of the whole process: a second Server in the
// same process (an embedder's, a test's) would otherwise read a percent
// the first had lowered as its own start, and could restore that.
var processPacer atomic.Bool

const (
	paceHeadroom   = 64 << 20
	paceMinPercent = 25
	// paceStep: the percent moves in steps of this, so that a live heap
	// that drifts does not change it at every tick.
	paceStep = 5
)

// newHeapPacer returns a pacer, off when getenv has GOGC or GOMEMLIMIT
// set, the collector is off, or another pacer holds claim.
func newHeapPacer(getenv func(string) string, claim *atomic.Bool) *heapPacer {
	p := &heapPacer{}
	p.live[0].Name = "/gc/heap/live:bytes"
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(gogc)
	if gogc[0].Value.Kind() != metrics.KindUint64 || getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		p.off = true
		return p
	}
	if !claim.CompareAndSwap(false, true) {
		p.off = true
		return p
	}
	p.claim = claim
	p.base = int(gogc[0].Value.Uint64())
	p.set = p.base
	p.off = p.base <= 0
	return p
}

// percentFor is the GC percent for a live heap of live bytes.
func (p *heapPacer) percentFor(live uint64) int {
	if live == 0 || live*uint64(p.base)/100 <= paceHeadroom {
		return p.base
	}
	pct := int(paceHeadroom * 100 / live)
	pct -= pct % paceStep
	return min(max(pct, paceMinPercent), p.base)
}

// tick sets the GC percent for the live heap now.
func (p *heapPacer) tick() {
	if p.off {
		return
	}
	metrics.Read(p.live[:])
	if p.live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if pct := p.percentFor(p.live[0].Value.Uint64()); pct != p.set {
		debug.SetGCPercent(pct)
		p.set = pct
	}
}

// stop restores the GC percent in force at start and gives up the claim.
func (p *heapPacer) stop() {
	if !p.off && p.set != p.base {
		debug.SetGCPercent(p.base)
		p.set = p.base
	}
	if p.claim != nil {
		p.claim.Store(false)
		p.claim = nil
	}
}
