package main

import (
	"net"
	"sync"
)

// connServer is what the harness's own servers and relays share: it
// accepts connections on a listener, serves each on a goroutine of its
// own, and keeps the open connections (those accepted and those the
// handlers track), so that close ends them all and waits for the
// goroutines.
type connServer struct {
	ln net.Listener
	wg sync.WaitGroup
	// mu guards conns, and what an embedding type guards with it.
	mu    sync.Mutex
	conns map[net.Conn]struct{} // nil once closing
}

// start accepts connections on ln until close, each handed to handle and
// closed when handle returns.
func (s *connServer) start(ln net.Listener, handle func(c net.Conn)) {
	s.ln = ln
	s.conns = map[net.Conn]struct{}{}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.track(c) {
				return
			}
			s.wg.Go(func() {
				defer s.untrack(c)
				handle(c)
			})
		}
	})
}

func (s *connServer) addr() string { return s.ln.Addr().String() }

// track registers c for close; false (c closed) once closing.
func (s *connServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// untrack closes c and forgets it.
func (s *connServer) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closing reports whether close has begun; s.mu is held.
func (s *connServer) closing() bool { return s.conns == nil }

// close stops accepting, closes every connection and waits for the
// goroutines.
func (s *connServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
}
