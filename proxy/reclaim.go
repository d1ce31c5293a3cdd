package proxy

import "time"

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
