package proxy

import (
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
	"github.com/mitmgo/mitmgo/internal/spec"
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
	// headBy, when not 0, is when the request head being read must be
	// complete (UnixNano; see limitHead): it caps the read deadline.
	headBy atomic.Int64
}

func newIdleConn(c net.Conn, timeout time.Duration) *idleConn {
	return &idleConn{Conn: c, timeout: timeout, sys: newSysIO(c)}
}

func (c *idleConn) refresh() {
	now := time.Now()
	if last := c.last.Load(); now.UnixNano()-last > int64(c.timeout/8) && c.last.CompareAndSwap(last, now.UnixNano()) {
		d := now.Add(c.timeout)
		if by := c.headBy.Load(); by != 0 && by < d.UnixNano() {
			_ = c.Conn.SetWriteDeadline(d)
			_ = c.Conn.SetReadDeadline(time.Unix(0, by))
			return
		}
		_ = c.Conn.SetDeadline(d)
	}
}

// limitHead bounds the time until a request head, whose first bytes just
// arrived, is complete: moving data keeps a connection alive (see refresh),
// so without it a client trickling a head a byte at a time would hold the
// connection forever. A zero time lifts the bound.
func (c *idleConn) limitHead(by time.Time) {
	if by.IsZero() {
		if c.headBy.Swap(0) != 0 {
			_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		}
		return
	}
	c.headBy.Store(by.UnixNano())
	_ = c.Conn.SetReadDeadline(by)
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

// clientConn is one connection from a client: its life from accept to
// close, and what every layer on it shares. It runs on its own goroutine,
// which passes the connection's stream to the first layer (see serve); an
// HTTP/1 layer runs one flow at a time on it, an HTTP/2 layer one goroutine
// per stream.
type clientConn struct {
	s      *Server
	raw    net.Conn
	conn   *idleConn
	client *flow.Client
	log    *slog.Logger
	// ctx ends when the connection is force-closed or done.
	ctx    context.Context
	cancel context.CancelFunc
	// up reaches the servers this client's flows go to.
	up *upstream
	// mode is the proxy mode the connection came through (modes.go).
	mode *spec.ProxyMode

	mu            sync.Mutex
	state         connState
	closeWhenIdle bool
	// onShutdown, set by a layer that can close gracefully by itself (an
	// HTTP/2 layer sends GOAWAY), replaces closing an idle connection.
	onShutdown func()
}

func (s *Server) newClientConn(conn net.Conn, mode *spec.ProxyMode) *clientConn {
	client := newModeClient(conn, mode)
	ic := newIdleConn(conn, s.Config().IdleTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	log := s.log.With(addon.ClientKey, client.Peername.String())
	return &clientConn{
		s: s, raw: conn, conn: ic, client: client, log: log,
		ctx: ctx, cancel: cancel,
		up: newUpstream(s, client, log, ctx), mode: mode,
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
	if cc.onShutdown != nil {
		cc.onShutdown()
		return
	}
	if cc.state == stateIdle {
		cc.state = stateClosed
		cc.raw.Close()
	}
}

// setOnShutdown registers how a layer closes gracefully; it runs at once
// when shutdown has already begun.
func (cc *clientConn) setOnShutdown(fn func()) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.onShutdown = fn
	if cc.closeWhenIdle && fn != nil {
		fn()
	}
}

// forceClose closes the connection whatever it is doing; the flow in flight
// sees an error. Cancelling the context closes its server connections,
// kept or in use (see upstream.connect).
func (cc *clientConn) forceClose() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.state = stateClosed
	cc.raw.Close()
	cc.cancel()
}

// serve runs the connection: the client hooks, then the first layer, which
// the mode decides (serveMode): for the regular mode HTTP/1 (a proxy
// request or CONNECT).
func (cc *clientConn) serve() {
	m := cc.s.m
	cc.log.Info("client connect")
	m.ClientConnected(cc.client)
	defer func() {
		cc.up.close()
		cc.raw.Close()
		cc.cancel()
		cc.client.SetTimestampEnd(nowSeconds())
		cc.log.Info("client disconnect")
		m.ClientDisconnected(cc.client)
	}()
	if cc.client.Error != "" {
		// An addon (block, proxyauth) refused the client.
		return
	}
	st := plainStream(cc.conn, &cc.s.bufs)
	cc.up.via = modeVia(cc.mode)
	if m := cc.mode.Name; m == spec.ModeRegular || m == spec.ModeUpstream {
		// Upstream mode differs in how servers are reached (see
		// upstream.via), not in what the client speaks.
		// Directly, not through serveMode: an idle connection waits at
		// the bottom of this stack, and the runtime halves a goroutine's
		// stack only while what it uses (plus an 800-byte reserve) stays
		// under a quarter of it. One frame more (serveMode's) kept each
		// idle HTTP connection at an 8 KiB stack instead of 4 KiB
		// (mitmbench -idle 1000: 13.6 -> 17.8 KiB).
		if tunnel := cc.serveHTTP1(st, nil); tunnel != nil {
			tunnel()
		}
		return
	}
	cc.serveMode(st)
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// ioDone reports errors that just mean the peer went away.
func ioDone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) || isConnReset(err)
}
