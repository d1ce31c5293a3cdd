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
// sooner, and cost then one timer reset and stop.
const watchDelay = 50 * time.Millisecond

// clientWatch watches one HTTP/1 client connection, one exchange at a time.
type clientWatch struct {
	st    *stream
	idle  time.Duration
	timer *time.Timer

	mu      sync.Mutex
	run     *flowRun
	stopped bool
	// running is closed when the watching read has returned; nil while
	// no read was started.
	running chan struct{}
}

// start begins watching for the client to go away; r.clientGone is called
// (once, from another goroutine) if it does. It must be followed by stop.
func (w *clientWatch) start(r *flowRun) {
	w.mu.Lock()
	w.run, w.stopped, w.running = r, false, nil
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, w.fire)
	} else {
		w.timer.Reset(watchDelay)
	}
}

// fire starts the watching read.
func (w *clientWatch) fire() {
	w.mu.Lock()
	if w.stopped || w.running != nil {
		// Stopped, or a late fire of an earlier exchange's timer that
		// found this one's read already going: one read at a time.
		w.mu.Unlock()
		return
	}
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
		gone := err != nil && !isTimeout(err) && !w.stopped
		w.mu.Unlock()
		if gone {
			r.clientGone(err)
		}
	}()
}

// stop ends the watch; a read in progress is interrupted through the
// connection's read deadline, which is then set back to the idle timeout.
// It is safe to call more than once.
func (w *clientWatch) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Lock()
	w.stopped = true
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
