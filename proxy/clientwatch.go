package proxy

import (
	"sync"
	"time"
)

// An HTTP/1 client that goes away while the proxy waits for the server is
// noticed at once, as mitmproxy does (its event loop always reads): the
// server connection is closed, instead of both being held until
// tcp_timeout. The client side is quiet during that wait (HTTP/1 has no
// pipelining worth the name), so a read of it returns only when the client
// closes, resets, or sends the next request early. The read starts only
// once the server has made the flow wait watchDelay: most answers come
// sooner.
//
// The timer is not reset and stopped for every exchange: on a busy
// keep-alive connection that was two modifications of the runtime's timer
// heap per request (its lock, a sift, and the P's timer lock), about 0.3 µs
// of a 16 µs round trip in BenchmarkRoundTrip's profile. Instead an
// exchange records when it started, and the timer, armed at most once per
// watchDelay, checks on firing whether the exchange it finds has waited
// long enough, and re-arms for the rest if not.
const watchDelay = 50 * time.Millisecond

// clientWatch watches one HTTP/1 client connection, one exchange at a time.
type clientWatch struct {
	st    *stream
	idle  time.Duration
	timer *time.Timer

	mu  sync.Mutex
	run *flowRun
	// since is when the current exchange began waiting; zero when no
	// exchange is being watched.
	since time.Time
	// armed: the timer is pending (it re-arms itself or is armed by
	// start, never both).
	armed bool
	// running is closed when the watching read has returned; nil while
	// no read was started.
	running chan struct{}
}

// start begins watching for the client to go away; r.clientGone is called
// (once, from another goroutine) if it does. It must be followed by stop.
func (w *clientWatch) start(r *flowRun) {
	w.mu.Lock()
	w.run, w.since, w.running = r, time.Now(), nil
	if !w.armed {
		w.arm()
	}
	w.mu.Unlock()
}

// arm arms the timer, under w.mu, which fire takes before it re-arms the
// timer. Out of line: start arms it at most once per watchDelay, and runs
// for every exchange.
//
//go:noinline
func (w *clientWatch) arm() {
	w.armed = true
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, w.fire)
	} else {
		w.timer.Reset(watchDelay)
	}
}

// fire starts the watching read if the exchange being watched has waited
// watchDelay, or re-arms the timer for what is left of it.
func (w *clientWatch) fire() {
	w.mu.Lock()
	if w.since.IsZero() || w.running != nil || w.timer == nil {
		// Nothing watched (the timer stays disarmed until the next
		// start), the read is already going (one read at a time), or
		// the watch was released.
		w.armed = false
		if w.since.IsZero() {
			// Most likely the connection is idle: it holds no timer
			// while it is (start makes another).
			w.timer = nil
		}
		w.mu.Unlock()
		return
	}
	if left := watchDelay - time.Since(w.since); left > 0 {
		w.timer.Reset(left)
		w.mu.Unlock()
		return
	}
	w.armed = false
	done := make(chan struct{})
	w.running = done
	r := w.run
	w.mu.Unlock()
	go func() {
		defer close(done)
		_, err := w.st.r.Peek(1)
		w.mu.Lock()
		// A timeout is the client's idle timeout (or stop's interrupt),
		// not a client that left.
		gone := err != nil && !isTimeout(err) && !w.since.IsZero()
		w.mu.Unlock()
		if gone {
			r.clientGone(err)
		}
	}()
}

// release stops the timer once the layer that watched is done. A
// connection that ends soon after its exchange (a new HTTPS connection per
// request) left its timer to fire watchDelay later and start a goroutine
// to find nothing to watch: one of the three goroutines a new connection
// started (BenchmarkNewConnTLS, goroutines/op).
func (w *clientWatch) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.armed = false
}

// stop ends the watch; a read in progress is interrupted through the
// connection's read deadline, which is then set back to the idle timeout.
// It is safe to call more than once. A pending timer is left to fire and
// find nothing to watch (see the type's comment).
func (w *clientWatch) stop() {
	w.mu.Lock()
	// Drop the flow too: an idle connection must not keep its last one.
	w.run, w.since = nil, time.Time{}
	running := w.running
	w.running = nil
	w.mu.Unlock()
	if running == nil {
		return
	}
	for {
		_ = w.st.tcp.SetReadDeadline(time.Now())
		select {
		case <-running:
			_ = w.st.tcp.SetReadDeadline(time.Now().Add(w.idle))
			return
		case <-time.After(5 * time.Millisecond):
			// The idle-timeout wrapper may have pushed the deadline out
			// just as the read started: set it again.
		}
	}
}

// aborter ends an exchange's server side at once: a server connection
// (while the round trip has not returned) or the exchange.
type aborter interface{ abort() }

func (sc *serverConn) abort() { sc.raw.Close() }

// abortSlot lets a flow's client side abort the server side of the
// exchange from another goroutine: the round trip puts what it waits on in
// the slot, fire aborts it.
type abortSlot struct {
	mu    sync.Mutex
	a     aborter
	fired bool
}

// set puts what the flow waits on in the slot (nil: nothing); if the slot
// fired already, it is aborted at once.
func (s *abortSlot) set(a aborter) {
	s.mu.Lock()
	fired := s.fired
	s.a = a
	s.mu.Unlock()
	if fired && a != nil {
		a.abort()
	}
}

// fire aborts what is in the slot, and anything put there later.
func (s *abortSlot) fire() {
	s.mu.Lock()
	s.fired = true
	a := s.a
	s.mu.Unlock()
	if a != nil {
		a.abort()
	}
}
