package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

const bufSize = 32 << 10

// idleConn refreshes its deadline as data moves, so that a connection is
// closed after Timeout of silence but a long transfer that keeps moving is
// never cut. Deadlines are refreshed at most every timeout/8 to keep the
// per-read cost low.
type idleConn struct {
	net.Conn
	timeout time.Duration
	// last is when the deadline was last pushed out (UnixNano); reads and
	// writes may run on different goroutines.
	last atomic.Int64
	// sys does the reads and writes of TCP connections (see sysIO); nil
	// for others, which use Conn's.
	sys *sysIO
}

func newIdleConn(c net.Conn, timeout time.Duration) *idleConn {
	return &idleConn{Conn: c, timeout: timeout, sys: newSysIO(c)}
}

func (c *idleConn) refresh() {
	now := time.Now()
	if last := c.last.Load(); now.UnixNano()-last > int64(c.timeout/8) && c.last.CompareAndSwap(last, now.UnixNano()) {
		_ = c.Conn.SetDeadline(now.Add(c.timeout))
	}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.refresh()
	if c.sys != nil {
		return c.sys.read(p)
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.refresh()
	if c.sys != nil {
		return c.sys.writev(p, nil)
	}
	return c.Conn.Write(p)
}

// writeHeadBody writes both with one writev (net.Buffers does that for TCP
// connections, not for wrappers like this one).
func (c *idleConn) writeHeadBody(head, body []byte) error {
	c.refresh()
	if c.sys != nil {
		_, err := c.sys.writev(head, body)
		return err
	}
	bufs := net.Buffers{head, body}
	_, err := bufs.WriteTo(c.Conn)
	return err
}

// isTimeout reports an idle timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

type connState int

const (
	stateIdle connState = iota
	stateBusy
	stateClosed
)

// clientConn is one connection from a client. It runs on its own goroutine,
// which calls the hooks for every flow on it, one request at a time.
type clientConn struct {
	s    *Server
	raw  net.Conn
	conn *idleConn
	// stream is what the client's bytes travel on: conn, or the TLS
	// connection over it once intercepted.
	stream net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	// direct writes large messages past bw (see writeMessage).
	direct directWriter
	client *flow.Client
	log    *slog.Logger
	// ctx ends when the connection is force-closed.
	ctx    func() context.Context
	cancel context.CancelFunc

	mu            sync.Mutex
	state         connState
	closeWhenIdle bool

	// tunnelErr is set when the server of an intercepted tunnel could not
	// be reached over TLS: every request in the tunnel gets it as a 502.
	tunnelErr error
	// lazyTLS is the TLS the client spoke to an intercepted tunnel whose
	// server was not connected yet (connection_strategy=lazy): the server
	// connection made later for its host uses the client's SNI.
	lazyTLS *lazyTLS

	// upstream holds idle server connections kept for this client's next
	// requests, most recently used last.
	upstream []*serverConn

	// pooled are the recycled buffers holding the bodies of the flow in
	// progress.
	pooled []*[]byte
}

func (s *Server) newClientConn(conn net.Conn) *clientConn {
	client := flow.NewClient(flow.AddrFrom(conn.RemoteAddr()), flow.AddrFrom(conn.LocalAddr()), "regular")
	cfg := s.Config()
	ic := newIdleConn(conn, cfg.IdleTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	return &clientConn{
		ctx: func() context.Context { return ctx }, cancel: cancel,
		s: s, raw: conn, conn: ic, stream: ic, direct: ic,
		br:     bufio.NewReaderSize(ic, bufSize),
		bw:     bufio.NewWriterSize(ic, bufSize),
		client: client,
		log:    s.log.With(addon.ClientKey, client.Peername.String()),
	}
}

func (cc *clientConn) setState(st connState) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.state == stateClosed {
		return false
	}
	if st == stateIdle && cc.closeWhenIdle {
		cc.state = stateClosed
		cc.raw.Close()
		return false
	}
	cc.state = st
	return true
}

// shutdown closes the connection now if it is idle, else after the request
// in flight.
func (cc *clientConn) shutdown() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.closeWhenIdle = true
	if cc.state == stateIdle {
		cc.state = stateClosed
		cc.raw.Close()
	}
}

// forceClose closes the connection whatever it is doing; the flow in flight
// sees an error. Cancelling the context closes its server connections,
// kept or in use (see connectUpstream).
func (cc *clientConn) forceClose() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.state = stateClosed
	cc.raw.Close()
	cc.cancel()
}

// debug reports whether proxy_debug is on: the core then logs its inner
// workings at debug level (shown with termlog_verbosity=debug), as
// mitmproxy's does. Callers check it before building a message, so that
// the hot path pays nothing while it is off.
func (cc *clientConn) debug() bool { return cc.s.Config().Debug }

func (cc *clientConn) serve() {
	m := cc.s.m
	cc.log.Info("client connect")
	m.ClientConnected(cc.client)
	defer func() {
		cc.closeUpstreams()
		cc.raw.Close()
		cc.cancel()
		cc.client.TimestampEnd = nowSeconds()
		cc.log.Info("client disconnect")
		m.ClientDisconnected(cc.client)
	}()
	if cc.client.Error != "" {
		// An addon (block, proxyauth) refused the client.
		return
	}
	cc.httpLoop(nil)
}

// closeUpstreams closes the kept server connections.
func (cc *clientConn) closeUpstreams() {
	cc.mu.Lock()
	ups := cc.upstream
	cc.upstream = nil
	cc.mu.Unlock()
	for _, sc := range ups {
		cc.closeServer(sc)
	}
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// ioDone reports errors that just mean the peer went away.
func ioDone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) || isConnReset(err)
}
