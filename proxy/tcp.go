package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/mitmgo/mitmgo/flow"
)

// errTCPKilled ends the relay of a TCP flow an addon killed.
var errTCPKilled = errors.New("TCP flow killed by an addon")

// ErrNotTCP is Server.InjectTCP's error for a flow that is not a TCP flow,
// with mitmproxy's words.
var ErrNotTCP = errors.New("Cannot inject TCP messages into non-TCP flows.")

// InjectTCP sends a message into a live TCP flow, as mitmproxy's inject.tcp
// command: to the client when toClient, else to the server. As in
// mitmproxy, it is handled as if the other side had sent it: it is
// recorded in f.Messages (marked Injected) and goes through tcp_message,
// where an addon may change or drop it, before it is sent. It returns at
// once, so that a hook may inject into its own flow; injected messages go
// out in the order they were injected, each between two pieces of the
// relayed stream. A message for a side whose direction has already ended
// (the other side closed its sending half) is not sent or recorded.
//
// As in mitmproxy, the connection is found by the flow's client
// connection (which carries at most one TCP flow), so a copy of the flow,
// or one rebuilt from its state, does; the message is recorded on the live
// flow. The error says f is not a TCP flow (nil), or its connection is
// gone.
func (s *Server) InjectTCP(f *flow.TCPFlow, toClient bool, content []byte) error {
	if f == nil {
		return ErrNotTCP
	}
	t, err := s.tcpFlows.live(f.ClientConn)
	if err != nil {
		return err
	}
	return t.inject(&flow.TCPMessage{FromClient: !toClient, Content: bytes.Clone(content), Injected: true})
}

// tcpRegistry finds the live TCP flows by the ID of their client
// connection, for injection.
type tcpRegistry = connRegistry[*tcpConn]

// tcpConn is one TCP flow's relay: the forwarder of both directions, and
// the queue of injected messages.
type tcpConn struct {
	s *Server
	f *flow.TCPFlow
	// mu runs one hook at a time (so that the newest message is the one
	// the hook is about); it guards f.Messages.
	mu sync.Mutex
	// toServer and toClient are the two directions.
	toServer, toClient tcpDir
	// bufs and msgs give the messages of each direction their copies
	// and records (index 1: the client's): small ones from slabs, which
	// halved the allocations per message (BenchmarkTCPRelay). Unlike a
	// WebSocket's, large pieces are not pooled: addon.FlowKeeper speaks
	// for the addons that receive HTTP flows only.
	bufs [2]msgBufs
	msgs [2]records[flow.TCPMessage]

	// The injected messages waiting for their hook. A goroutine runs
	// them, started by the first injection and ending when the queue is
	// empty, so that a flow nobody injects into costs nothing more.
	injectMu  sync.Mutex
	queue     []*flow.TCPMessage
	running   bool
	stopped   bool
	injectors sync.WaitGroup
}

// tcpDir is one direction of a TCP flow.
type tcpDir struct {
	// mu is held from a message's hook until it is written, so that a
	// relayed and an injected message go out in the order of f.Messages,
	// and none is written after the direction's write half closed. A peer
	// slow to read holds up only its own direction.
	mu  sync.Mutex
	dst net.Conn
	// ended: the side this direction reads from is done sending (or
	// failed); nothing more is written.
	ended bool
}

func (t *tcpConn) dir(fromClient bool) *tcpDir {
	if fromClient {
		return &t.toServer
	}
	return &t.toClient
}

// relayTCP is the TCP layer: it relays a stream that is not HTTP as a TCP
// flow, as mitmproxy's TCP layer does: tcp_start, then tcp_message for every
// piece either side sends (flow.Messages[len-1]; an addon may change its
// content, or empty it to drop it, or kill the flow), and for every message
// an addon injects (Server.InjectTCP), then tcp_end, or tcp_error when a
// side failed. The two directions run concurrently; their hooks are called
// one at a time, so that the newest message is the one the hook is about.
func (cc *clientConn) relayTCP(client *stream, sc *serverConn) {
	m := cc.s.m
	f := flow.NewTCPFlow(cc.client, sc.server)
	t := &tcpConn{s: cc.s, f: f}
	t.toServer.dst, t.toClient.dst = sc.st.conn, client.conn
	// Messages injected from tcp_start wait for its end.
	cc.s.tcpFlows.add(cc.client.ID, t)
	m.TCPStart(f)
	var err error
	if !f.Killed() {
		err = relayThrough(client, sc.st, &cc.s.bodies, t)
	}
	cc.s.tcpFlows.remove(cc.client.ID, t)
	t.stopInjecting()
	cc.up.closeServer(sc)
	f.SetLive(false)
	if err != nil && f.Error == nil {
		f.Error = flow.NewError(describeIOError(err))
	}
	if f.Error != nil {
		m.TCPError(f)
	} else {
		m.TCPEnd(f)
	}
}

// forward runs tcp_message for a piece one side sent and sends on what the
// hooks leave of it.
func (t *tcpConn) forward(fromClient bool, p []byte) error {
	d := t.dir(fromClient)
	d.mu.Lock()
	defer d.mu.Unlock()
	i := 0
	if fromClient {
		i = 1
	}
	msg := t.msgs[i].next()
	*msg = flow.TCPMessage{FromClient: fromClient, Content: t.bufs[i].clone(p), Timestamp: nowSeconds()}
	content, err := t.hook(msg)
	if err != nil || len(content) == 0 {
		return err
	}
	_, err = d.dst.Write(content)
	return err
}

// ended marks a direction done: its source sent everything (or failed).
// It waits for an injected message being written that way.
func (t *tcpConn) ended(fromClient bool) {
	d := t.dir(fromClient)
	d.mu.Lock()
	d.ended = true
	d.mu.Unlock()
}

// hook records a message and runs tcp_message for it; it returns what to
// send (nothing drops it), or errTCPKilled.
func (t *tcpConn) hook(msg *flow.TCPMessage) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f.Killed() {
		return nil, errTCPKilled
	}
	t.f.Messages = append(t.f.Messages, msg)
	t.s.m.TCPMessage(t.f)
	if t.f.Killed() {
		return nil, errTCPKilled
	}
	return msg.Content, nil
}

// inject queues an injected message for its hook.
func (t *tcpConn) inject(msg *flow.TCPMessage) error {
	t.injectMu.Lock()
	defer t.injectMu.Unlock()
	if t.stopped {
		return ErrNotLive
	}
	t.queue = append(t.queue, msg)
	if !t.running {
		t.running = true
		t.injectors.Add(1)
		go t.injector()
	}
	return nil
}

// injector runs the queued injected messages through the hooks and sends
// them, in order, until the queue is empty or the flow ends.
func (t *tcpConn) injector() {
	defer t.injectors.Done()
	for {
		t.injectMu.Lock()
		if t.stopped || len(t.queue) == 0 {
			t.running = false
			t.queue = nil
			t.injectMu.Unlock()
			return
		}
		msg := t.queue[0]
		t.queue[0] = nil
		t.queue = t.queue[1:]
		t.injectMu.Unlock()

		d := t.dir(msg.FromClient)
		d.mu.Lock()
		if d.ended {
			d.mu.Unlock()
			continue
		}
		msg.Timestamp = nowSeconds()
		content, err := t.hook(msg)
		if err == nil && len(content) > 0 {
			// A write that fails means that side is gone: the relay
			// reading it finds out and ends the flow.
			_, _ = d.dst.Write(content)
		}
		d.mu.Unlock()
		if err != nil {
			// Killed: end both directions, as the relay does.
			t.toServer.dst.Close()
			t.toClient.dst.Close()
		}
	}
}

// stopInjecting drops what is still queued and waits for the injector.
func (t *tcpConn) stopInjecting() {
	t.injectMu.Lock()
	t.stopped = true
	t.queue = nil
	t.injectMu.Unlock()
	t.injectors.Wait()
}

// relay copies bytes both ways until both directions are done. When one side
// finishes sending, the other side's write half is closed so it sees EOF.
func relay(client, server *stream, pool *bodyPool) {
	relayThrough(client, server, pool, nil)
}

// forwarder sends on what a relay reads: forward is handed each piece
// and the side it came from, and sends what should go on (or nothing), or
// returns an error that ends the relay; ended is told when a side is done
// sending, before the other side's write half closes.
type forwarder interface {
	forward(fromClient bool, p []byte) error
	ended(fromClient bool)
}

// relayThrough is relay with a forwarder (nil: copy as is). It returns the
// first error either direction met, nil when both ended cleanly.
func relayThrough(client, server *stream, pool *bodyPool, fw forwarder) error {
	var first struct {
		sync.Mutex
		err error
	}
	note := func(err error) {
		first.Lock()
		if first.err == nil {
			first.err = err
		}
		first.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := copyAndHalfClose(server.conn, client.r, pool, fw, true); err != nil {
			note(err)
		}
	}()
	if err := copyAndHalfClose(client.conn, server.r, pool, fw, false); err != nil {
		note(err)
	}
	wg.Wait()
	return first.err
}

type closeWriter interface{ CloseWrite() error }

// copyAndHalfClose copies src to dst (through fw, see relayThrough) and
// then closes dst's write half; on an error it closes dst entirely, which
// ends the other direction too. It returns the error.
func copyAndHalfClose(dst net.Conn, src io.Reader, pool *bodyPool, fw forwarder, fromClient bool) error {
	write := func(p []byte) error {
		_, err := dst.Write(p)
		return err
	}
	if fw != nil {
		write = func(p []byte) error { return fw.forward(fromClient, p) }
	}
	err := pump(src, pool, write)
	if err == nil {
		if fw != nil {
			fw.ended(fromClient)
		}
		if cw, ok := unwrapConn(dst).(closeWriter); ok {
			if cw.CloseWrite() == nil {
				return nil
			}
		}
	}
	// An error on either side ends both directions. Closing first
	// unblocks an injected message being written to dst.
	dst.Close()
	if fw != nil {
		fw.ended(fromClient)
	}
	return err
}

func unwrapConn(c net.Conn) net.Conn {
	if ic, ok := c.(*idleConn); ok {
		return ic.Conn
	}
	return c
}
