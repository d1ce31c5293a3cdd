package proxy

import (
	"runtime/debug"
	"runtime/metrics"
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
// see Server.moveIdle); every quietTick it decides whether to give memory
// back.
func (q *quietReclaimer) run(stop <-chan struct{}, mover idleMover) {
	t := time.NewTicker(moveTick)
	defer t.Stop()
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
