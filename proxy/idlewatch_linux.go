package proxy

import (
	"container/heap"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// idleWatch holds client connections idle between requests (plain HTTP/1,
// and HTTP/1 in an intercepted TLS tunnel) with no goroutine at all: each
// one's socket is in an epoll set of its own (EPOLLONESHOT), whose
// descriptor is itself read through Go's network poller by one goroutine. A connection that becomes readable (a request,
// or the client's close) goes on on a worker goroutine
// (clientConn.resume); one idle for the idle timeout is ended on one.
// Connections come here from their waits for the next request, once idle
// for a tick or two of the quiet reclaimer (see Server.moveIdle).
//
// Why: a goroutine waiting for the next request kept a stack of 2 KiB or
// more and its g (about 450 bytes, which the runtime never frees: a burst
// of 9,900 idle connections left 4.3 MiB of them behind after it closed).
// Parked here, an idle connection costs its socket's registration and the
// few words of clientConn that say it is parked: mitmbench -idle 9900,
// HTTP, 7.7 -> 5.2 KiB of RSS a connection, and 2.39x -> 2.14x the idle
// start 30 s after they closed. Parking at once, at the end of every
// exchange, would also keep the goroutines of a burst at the busy
// connections, but a keep-alive request then cost an epoll_ctl and a
// wake-up through this goroutine: 29k -> 36k instructions a request
// (callgrind, 8 connections, 200 B), where moving after a tick left it
// unchanged.
type idleWatch struct {
	// file is the epoll descriptor, non-blocking, so that the poller
	// reports it readable when any parked socket is.
	file *os.File
	rc   syscall.RawConn
	// events is the loop's buffer for epoll_wait (the loop's alone).
	events []syscall.EpollEvent
	// wake goes on with a connection taken out of the watch, on a new
	// goroutine: it became readable (or the watch closed) with its stream
	// st, or it expired (see clientConn.wake).
	wake func(cc *clientConn, st *stream, expired bool)

	mu sync.Mutex
	// parked are the parked connections by their token (the epoll
	// event's data: a Go pointer cannot be kept in the kernel), and
	// byExpiry the same ones ordered by their idle deadline.
	parked   map[uint64]*clientConn
	byExpiry parkedHeap
	next     uint64
	// timer fires at the earliest deadline (nil while none is parked).
	timer  *time.Timer
	timeAt time.Time
	closed bool
	// done is closed when the loop has ended.
	done chan struct{}

	// jobs hands woken connections to workers waiting for one (see
	// dispatch); quit, closed with the watch, ends them.
	jobs chan wakeJob
	quit chan struct{}
	// woken counts the connections taken out since takeWoken last read
	// it.
	woken atomic.Int64
}

// wakeJob is a connection to go on with (see idleWatch.wake).
type wakeJob struct {
	cc      *clientConn
	st      *stream
	expired bool
}

// workerIdle is how long a worker waits for another connection to go on
// with before it ends.
const workerIdle = 2 * time.Second

// idleEvents is how many readiness events one epoll_wait takes.
const idleEvents = 128

func newIdleWatch(wake func(cc *clientConn, st *stream, expired bool)) (*idleWatch, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("idle watch: %w", os.NewSyscallError("epoll_create1", err))
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("idle watch: %w", err)
	}
	// A non-blocking descriptor gives a File that waits in the poller.
	f := os.NewFile(uintptr(epfd), "idle-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("idle watch: %w", err)
	}
	w := &idleWatch{file: f, rc: rc, events: make([]syscall.EpollEvent, idleEvents), wake: wake,
		parked: map[uint64]*clientConn{}, done: make(chan struct{}),
		jobs: make(chan wakeJob), quit: make(chan struct{})}
	go w.loop()
	return w, nil
}

// loop takes the readiness events of parked sockets and resumes their
// connections, until the watch is closed.
func (w *idleWatch) loop() {
	defer close(w.done)
	var ready []*clientConn
	for {
		err := w.rc.Read(func(fd uintptr) bool {
			n, err := syscall.EpollWait(int(fd), w.events, 0)
			if err != nil || n <= 0 {
				// Nothing (or EINTR): wait in the poller. The epoll
				// descriptor is edge-triggered there, and the callback
				// runs again before each wait, so nothing is missed.
				return errors.Is(err, syscall.EBADF)
			}
			ready = w.take(w.events[:n], ready[:0])
			return true
		})
		for i, cc := range ready {
			w.dispatch(wakeJob{cc, cc.parking.st, false})
			ready[i] = nil
		}
		ready = ready[:0]
		if err != nil {
			return
		}
	}
}

// take unparks the connections of events.
func (w *idleWatch) take(events []syscall.EpollEvent, ready []*clientConn) []*clientConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range events {
		tok := eventToken(&events[i])
		cc, ok := w.parked[tok]
		if !ok {
			// Unparked meanwhile (shutdown, expiry).
			continue
		}
		w.unparkLocked(cc)
		ready = append(ready, cc)
	}
	w.resetTimerLocked()
	return ready
}

// eventToken and setEventToken keep a 64-bit token in the event's data
// (the Fd and Pad fields of syscall.EpollEvent are its two halves).
func eventToken(ev *syscall.EpollEvent) uint64 {
	return *(*uint64)(unsafe.Pointer(&ev.Fd))
}

func setEventToken(ev *syscall.EpollEvent, tok uint64) {
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = tok
}

// park adds cc, idle with its stream st parked until by; an error when it
// did not: the watch is closed (errWatchClosed) or the socket could not be
// added (closed, or the system's limit of watches reached); the caller then
// waits for the connection on its goroutine. The caller holds cc.mu (see
// clientConn.parkIn).
func (w *idleWatch) park(cc *clientConn, st *stream, by time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errWatchClosed
	}
	w.next++
	tok := w.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	setEventToken(&ev, tok)
	p := &cc.parking
	op := syscall.EPOLL_CTL_ADD
	if p.registered {
		op = syscall.EPOLL_CTL_MOD
	}
	var errno error
	err := cc.conn.sys.rc.Control(func(fd uintptr) {
		errno = w.ctl(op, int(fd), &ev)
		if errors.Is(errno, syscall.ENOENT) && op == syscall.EPOLL_CTL_MOD {
			errno = w.ctl(syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if err == nil {
		err = errno
	}
	if err != nil {
		return fmt.Errorf("idle watch: %w", err)
	}
	p.registered, p.token, p.st = true, tok, st
	p.by = by
	w.parked[tok] = cc
	heap.Push(&w.byExpiry, cc)
	if p.index == 0 {
		w.resetTimerLocked()
	}
	return nil
}

// ctl is epoll_ctl on the watch's descriptor.
func (w *idleWatch) ctl(op, fd int, ev *syscall.EpollEvent) error {
	var errno error
	err := w.rc.Control(func(epfd uintptr) {
		errno = syscall.EpollCtl(int(epfd), op, fd, ev)
	})
	if err != nil {
		return err
	}
	return errno
}

// remove unparks cc and returns its stream, or nil when it was not parked.
func (w *idleWatch) remove(cc *clientConn) *stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cc.parking.token == 0 {
		return nil
	}
	st := cc.parking.st
	w.unparkLocked(cc)
	w.resetTimerLocked()
	return st
}

// unparkLocked takes cc out of the watch's sets; its registration stays,
// disarmed or about to be (the socket's close removes it).
func (w *idleWatch) unparkLocked(cc *clientConn) {
	p := &cc.parking
	delete(w.parked, p.token)
	heap.Remove(&w.byExpiry, p.index)
	p.token = 0
}

// resetTimerLocked sets the timer for the earliest deadline.
func (w *idleWatch) resetTimerLocked() {
	if len(w.byExpiry) == 0 || w.closed {
		if w.timer != nil {
			w.timer.Stop()
			w.timeAt = time.Time{}
		}
		return
	}
	by := w.byExpiry[0].parking.by
	if by.Equal(w.timeAt) {
		return
	}
	w.timeAt = by
	d := time.Until(by)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.expire)
		return
	}
	w.timer.Reset(d)
}

// expire ends the connections idle for their idle timeout.
func (w *idleWatch) expire() {
	var expired []*clientConn
	w.mu.Lock()
	now := time.Now()
	w.timeAt = time.Time{}
	for len(w.byExpiry) > 0 && !w.byExpiry[0].parking.by.After(now) {
		cc := w.byExpiry[0]
		w.unparkLocked(cc)
		expired = append(expired, cc)
	}
	w.resetTimerLocked()
	w.mu.Unlock()
	for _, cc := range expired {
		w.dispatch(wakeJob{cc, cc.parking.st, true})
	}
}

// close ends the watch: connections still parked are resumed (the server
// is shutting down and has closed them, so they end), and no more park.
func (w *idleWatch) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	var left []*clientConn
	for len(w.byExpiry) > 0 {
		cc := w.byExpiry[0]
		w.unparkLocked(cc)
		left = append(left, cc)
	}
	w.resetTimerLocked()
	w.mu.Unlock()
	close(w.quit)
	for _, cc := range left {
		go w.wake(cc, cc.parking.st, false)
	}
	w.file.Close()
	<-w.done
}

// dispatch goes on with a woken connection on a worker that waits for
// one, or on a new one.
//
// Why workers: a new goroutine for every wake-up starts on a 2 KiB stack,
// and serving a request grew it twice (to 8 KiB), copying it each time
// (with a wake-up per request, that doubled the instructions of a
// keep-alive request under callgrind: 28.6k -> 55k); and when thousands
// of parked clients close at once, one goroutine each would bring back
// the peak of goroutines (and their g's) that the watch avoids. A worker
// keeps its grown stack from one connection to the next while the proxy
// is busy; the collector shrinks it while the worker waits, and it ends
// after workerIdle without work.
func (w *idleWatch) dispatch(j wakeJob) {
	w.woken.Add(1)
	select {
	case w.jobs <- j:
	default:
		go w.work(j)
	}
}

// takeWoken returns how many connections were taken out of the watch
// since its last call: each took a goroutine, whose stack the proxy may
// want to give back once they are done (see quietReclaimer.collectMoved).
func (w *idleWatch) takeWoken() int { return int(w.woken.Swap(0)) }

// work goes on with j, then with the connections handed to it, until
// none came for workerIdle or the watch closed.
func (w *idleWatch) work(j wakeJob) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		w.wake(j.cc, j.st, j.expired)
		idle.Reset(workerIdle)
		select {
		case j = <-w.jobs:
		case <-idle.C:
			return
		case <-w.quit:
			return
		}
	}
}
