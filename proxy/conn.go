package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// bufSize is the size of a stream's reader and of its writer. Under
// load each busy stream (client and upstream) holds one of each, and at
// 32 KiB they were half of the in-use heap under 32 HTTPS keep-alive
// connections; 16 KiB took peak RSS from 26.1 to 23.4 MiB (HTTP) and 31.4
// to 29.0 MiB (HTTPS) with the same instruction count per round trip
// (callgrind, BenchmarkRoundTrip): a message head fits easily, and bodies
// larger than the buffer bypass it (bufio reads and writes them directly).
const bufSize = 16 << 10

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

// restoreReadDeadline sets the read deadline back to the idle timeout's
// (see refresh), after Server.moveIdle moved it to interrupt a wait.
func (c *idleConn) restoreReadDeadline() {
	_ = c.Conn.SetReadDeadline(time.Unix(0, c.last.Load()).Add(c.timeout))
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
	// ctx ends when the connection is force-closed or done.
	ctx    context.Context
	cancel context.CancelFunc
	// up reaches the servers this client's flows go to.
	up *upstream
	// mode is the proxy mode the connection came through (modes.go).
	mode *spec.ProxyMode

	// movable: the connection may be moved off its goroutine while it
	// waits for its next request, to the server's idle watch (see
	// Server.moveIdle and park); watch is that watch, and parking what it
	// holds of the connection while it is there. park is where its
	// goroutine is (parkBusy, ...); unwatched, that the watch refused it
	// once (moveIdle no longer moves it).
	movable   bool
	watch     *idleWatch
	parking   parkState
	park      atomic.Int32
	unwatched atomic.Bool

	mu            sync.Mutex
	state         connState
	closeWhenIdle bool
	// onShutdown, set by a layer that can close gracefully by itself (an
	// HTTP/2 layer sends GOAWAY), replaces closing an idle connection.
	onShutdown func()
}

func (s *Server) newClientConn(conn net.Conn, mode *spec.ProxyMode, watch *idleWatch) *clientConn {
	client := newModeClient(conn, mode)
	ic := newIdleConn(conn, s.Config().IdleTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	cc := &clientConn{
		s: s, raw: conn, conn: ic, client: client,
		ctx: ctx, cancel: cancel,
		up: newUpstream(s, client, (*clientPeer)(client)), mode: mode,
	}
	// Only a plain connection of the regular and upstream modes waits
	// for its next request where the idle watch can take it over.
	cc.watch = watch
	cc.movable = cc.regular() && ic.sys != nil && watch != nil
	return cc
}

// log logs for the connection (see connLog).
func (cc *clientConn) log() connLog { return connLog{cc.s.log, (*clientPeer)(cc.client)} }

// connLog logs for one client connection, or one replay: every message
// names the client (addon.ClientKey) as a logger made With the attribute
// does, but nothing is made until a message is logged. Such a logger, kept
// for the connection's life, was 128 bytes of every idle connection.
type connLog struct {
	base *slog.Logger
	// peer is the client's address (a clientPeer), or a clientName.
	// Any other address (or nil) is formatted as flow.AddrFrom does.
	peer net.Addr
}

// clientPeer names a client by the address its flow.Client holds
// (Peername, the connection's RemoteAddr, formatted once when the client
// was made): a new HTTPS connection logs four messages, and formatting the
// socket's address again for each was over a quarter of the proxy's
// logging CPU per connection (perf record, mitmdump -q, https-newconn: 18
// of 65 samples).
type clientPeer flow.Client

func (p *clientPeer) Network() string { return "tcp" }
func (p *clientPeer) String() string  { return p.Peername.String() }

// clientName names the client of connections that have no address (a
// replay).
type clientName string

func (n clientName) Network() string { return "" }
func (n clientName) String() string  { return string(n) }

func (l connLog) name() string {
	switch p := l.peer.(type) {
	case clientName:
		return string(p)
	case *clientPeer:
		return p.String()
	}
	return flow.AddrFrom(l.peer).String()
}

// Logger returns a logger made With the client's attribute, for code that
// takes one.
func (l connLog) Logger() *slog.Logger { return l.base.With(addon.ClientKey, l.name()) }

func (l connLog) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }
func (l connLog) Info(msg string, args ...any)  { l.log(slog.LevelInfo, msg, args) }
func (l connLog) Warn(msg string, args ...any)  { l.log(slog.LevelWarn, msg, args) }
func (l connLog) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

// log makes the record itself rather than through Logger.Log, which
// looks up its caller (runtime.Callers: an unwinding of the stack) for a
// source location no handler of the proxy's reads. A new HTTPS connection
// logs four times (client connect, server connect, server disconnect,
// client disconnect), from deep in its stack: the unwinding was a quarter
// of the proxy's logging CPU per connection (perf record, mitmdump -q,
// https-newconn: 17 of 65 samples, the logging about 1% of the CPU).
func (l connLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	h := l.base.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(slog.String(addon.ClientKey, l.name()))
	r.Add(args...)
	_ = h.Handle(ctx, r)
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
		cc.unwatch()
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
// sees an error. Aborting the upstream closes its server connections, kept
// or in use (see upstream.connect).
func (cc *clientConn) forceClose() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.state = stateClosed
	cc.raw.Close()
	cc.cancel()
	cc.up.abort()
	cc.unwatch()
}

// unwatch takes a closed connection out of the idle watch, if it is
// parked there, and lets a goroutine end it. The caller holds cc.mu.
func (cc *clientConn) unwatch() {
	if cc.watch == nil {
		return
	}
	if st := cc.watch.remove(cc); st != nil {
		go cc.resume(st)
	}
}

// serve runs the connection: the client hooks, then the first layer, which
// the mode decides (serveMode): for the regular mode HTTP/1 (a proxy
// request or CONNECT). It is the connection's goroutine, until the
// connection ends or is moved to the idle watch while idle (see parkIn;
// a worker goroutine goes on with it then, see resume).
func (cc *clientConn) serve() {
	ended := true
	defer func() {
		if ended {
			cc.end()
		}
	}()
	cc.log().Info("client connect")
	cc.s.m.ClientConnected(cc.client)
	if cc.client.Error != "" {
		// An addon (block, proxyauth) refused the client.
		return
	}
	st := plainStream(cc.conn, &cc.s.bufs)
	cc.up.via = modeVia(cc.mode)
	if cc.regular() {
		// Upstream mode differs in how servers are reached (see
		// upstream.via), not in what the client speaks.
		// Directly, not through serveMode: an idle connection waits at
		// the bottom of this stack, and the runtime halves a goroutine's
		// stack only while what it uses (plus an 800-byte reserve) stays
		// under a quarter of it. One frame more (serveMode's) kept each
		// idle HTTP connection at an 8 KiB stack instead of 4 KiB
		// (mitmbench -idle 1000: 13.6 -> 17.8 KiB).
		ended = cc.serveRegular(st, nil)
		return
	}
	cc.serveMode(st)
}

func (cc *clientConn) regular() bool {
	return cc.mode.Name == spec.ModeRegular || cc.mode.Name == spec.ModeUpstream
}

// serveRegular is the regular (and upstream) mode: HTTP/1, then the tunnel
// a CONNECT opened. It reports false when the connection, moved while
// idle, went on to wait in the idle watch, where its goroutine ends (see
// park). t is the tunnel's target when the connection comes back from the
// watch into its tunnel's HTTP/1 layer (see parkState.in), else nil.
func (cc *clientConn) serveRegular(st *stream, t *target) (ended bool) {
	for {
		tunnel, moved := cc.serveHTTP1(st, t)
		if tunnel != nil {
			// When the tunnel's HTTP/1 layer was moved (see serveHTTP),
			// it parks from here, its frames off the stack.
			mt := tunnel()
			if mt.st == nil {
				return true
			}
			st, t, moved = mt.st, mt.t, true
		}
		if moved {
			if st.r != nil {
				// The wait ended with data (read into the stream's
				// buffer) just as moveIdle interrupted it: the socket
				// may have nothing more to wake the watch with. Go on
				// here.
				continue
			}
			if cc.parkIn(st, t) {
				return false
			}
			// The watch did not take it (closed meanwhile, or the
			// system's limit of watches): the connection waits on its
			// goroutine from now on.
			cc.unwatched.Store(true)
			continue
		}
		return true
	}
}

// movedTunnel is the HTTP/1 layer of a tunnel whose wait for the next
// request was interrupted to move the connection to the idle watch: its
// stream (TLS, parked) and target. The tunnel's layers return it (see
// serveHTTP, tunnelLayers) to serveRegular, which parks the connection
// once their frames are off the stack.
type movedTunnel struct {
	st *stream
	t  *target
}

// tunnelMovable reports whether a wait for the next request inside a
// tunnel may be moved to the idle watch: HTTP/1 over TLS on the client's
// own socket. The watch wakes on the socket's readiness, so nothing may
// wait above it, and nothing does when the wait is interrupted in the
// socket's read: crypto/tls reads the socket only when it holds no
// decrypted bytes and less than a whole record (what it holds of a record
// stays in the session, and the record's rest comes on the socket), and
// the bytes peeked before the handshake (bufferedConn) are read before the
// socket is. Plain HTTP/1 in a tunnel would move as well, but is rare; it
// stays on its goroutine.
func (cc *clientConn) tunnelMovable(st *stream) bool {
	_, ok := st.conn.(*tls.Conn)
	return ok && st.tcp == cc.conn.Conn
}

// end is the end of the connection, in whichever goroutine serves it last:
// its server connections close, the hooks hear of it, and the server lets
// go of it.
func (cc *clientConn) end() {
	cc.up.close()
	cc.raw.Close()
	cc.cancel()
	cc.up.abort()
	cc.client.SetTimestampEnd(nowSeconds())
	cc.log().Info("client disconnect")
	cc.s.m.ClientDisconnected(cc.client)
	cc.s.connDone(cc)
}

// Where a movable connection's goroutine is (clientConn.park, the field): idle
// connections are moved off their goroutines to the idle watch (see
// Server.moveIdle).
const (
	// parkBusy: anywhere but in the wait for the next request.
	parkBusy int32 = iota
	// parkIdle: in the wait for the client's next request.
	parkIdle
	// parkSeen: in the same wait since moveIdle last looked.
	parkSeen
	// parkMoving: moveIdle is interrupting the wait (with the read
	// deadline).
	parkMoving
	// parkMoved: the wait is interrupted, and the goroutine must hand the
	// connection to the idle watch.
	parkMoved
)

// unpark ends a wait of a movable connection for the next request, and
// reports whether the wait was interrupted to move the connection: its read
// deadline is then the idle timeout's again, and the caller hands the
// connection to the idle watch.
func (cc *clientConn) unpark() (moved bool) {
	for {
		switch v := cc.park.Load(); v {
		case parkMoving:
			// moveIdle is between its two steps.
			runtime.Gosched()
		case parkMoved:
			cc.park.Store(parkBusy)
			cc.conn.restoreReadDeadline()
			cc.s.moving.Add(-1)
			return true
		default:
			if cc.park.CompareAndSwap(v, parkBusy) {
				return false
			}
		}
	}
}

// parkIn hands the idle connection, its stream parked (no buffers), to the
// idle watch, which resumes it on a new goroutine when the client sends
// or closes, or ends it after the idle timeout; false when the watch did
// not take it. A connection closed meanwhile (shutdown) is not parked:
// nothing would resume it.
func (cc *clientConn) parkIn(st *stream, t *target) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.state == stateClosed {
		return false
	}
	cc.parking.in = t
	// Idle since the wait began: the deadline the wait had.
	err := cc.watch.park(cc, st, time.Unix(0, cc.conn.last.Load()).Add(cc.conn.timeout))
	if err != nil && !errors.Is(err, errWatchClosed) {
		// The system's limit of epoll watches (fs.epoll.max_user_watches),
		// most likely: the connection works on, with its goroutine.
		cc.log().Debug("idle connection not parked: " + err.Error())
	}
	return err == nil
}

// resume goes on with a connection the idle watch held, on a new
// goroutine, as serve does. Its stream is parked: the wait for the next
// request that follows finds what woke it at once.
func (cc *clientConn) resume(st *stream) {
	ended := true
	defer func() {
		if ended {
			cc.end()
		}
	}()
	ended = cc.serveRegular(st, cc.parking.in)
}

// wake goes on with a connection the idle watch held, on a new goroutine:
// it resumes, or it ends when it was idle for the idle timeout.
func (cc *clientConn) wake(st *stream, expired bool) {
	if !expired {
		cc.resume(st)
		return
	}
	cc.idleDone(&net.OpError{Op: "read", Net: "tcp", Source: cc.raw.LocalAddr(), Addr: cc.raw.RemoteAddr(), Err: os.ErrDeadlineExceeded})
	cc.end()
}

// idleDone notes the end of a connection while idle.
func (cc *clientConn) idleDone(err error) {
	if cc.s.Config().Debug {
		cc.log().Debug("client connection done: " + describeIOError(err))
	}
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// ioDone reports errors that just mean the peer went away.
func ioDone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) || isConnReset(err)
}
