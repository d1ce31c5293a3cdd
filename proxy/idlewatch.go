package proxy

import (
	"errors"
	"time"
)

// errWatchClosed: the idle watch is closed (the server shuts down).
var errWatchClosed = errors.New("the idle watch is closed")

// parkState is what a parked connection holds (inside clientConn, so that
// parking allocates nothing).
type parkState struct {
	// token is its key in idleWatch.parked; 0 while not parked.
	token uint64
	// index is its place in idleWatch.byExpiry.
	index int
	// by is when it has been idle for the idle timeout.
	by time.Time
	// st is the connection's stream, parked (no buffers).
	st *stream
	// registered: the socket is in the epoll set (disarmed after each
	// event: EPOLLONESHOT), so that parking again re-arms it.
	registered bool
	// in is the target of the tunnel whose HTTP/1 layer the connection
	// waits in (an intercepted TLS connection), nil outside a tunnel: it
	// goes on there when it wakes (see clientConn.resume).
	in *target
}

// parkedHeap orders parked connections by their deadline
// (container/heap).
type parkedHeap []*clientConn

func (h parkedHeap) Len() int           { return len(h) }
func (h parkedHeap) Less(i, j int) bool { return h[i].parking.by.Before(h[j].parking.by) }
func (h parkedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].parking.index, h[j].parking.index = i, j
}

func (h *parkedHeap) Push(x any) {
	cc := x.(*clientConn)
	cc.parking.index = len(*h)
	*h = append(*h, cc)
}

func (h *parkedHeap) Pop() any {
	old := *h
	cc := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return cc
}
