package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// upstream is the server side of one client connection, or of one replay:
// it dials servers (firing the server connection hooks), runs their TLS,
// keeps idle connections for the client's next requests, and does the
// round trips. It knows nothing of the client side: what the server sends
// before its final response (1xx) goes to a callback.
type upstream struct {
	s      *Server
	client *flow.Client
	// peer names the client in the log (see connLog).
	peer net.Addr
	// via is the upstream proxy of upstream mode, nil in other modes
	// (mode_upstream.go).
	via *flow.ServerSpec

	mu sync.Mutex
	// idle are HTTP/1 server connections kept for reuse, most recently
	// used last.
	idle []*serverConn
	// h2 are the HTTP/2 server connections, which every flow to their
	// server shares.
	h2     map[upstreamKey]*h2Upstream
	closed bool
	// aborts run when the upstream is aborted (see onAbort); aborted: it
	// was.
	aborts  []*abortEntry
	aborted bool
}

// abortEntry is one registration of onAbort.
type abortEntry struct{ fn func() }

// onAbort registers fn to run when the upstream is aborted (abort: its
// client connection force-closed or done, its replay cancelled), or at once
// if it was; stopAbort unregisters it. Server connections and the steps
// that open them (dials, handshakes) register here, not on the client
// connection's context: context.AfterFunc and a dial's context made that
// context keep, for as long as the connection lived, its Done channel and
// its map of children (600 bytes an idle connection), where an entry here
// is gone once stopped.
func (u *upstream) onAbort(fn func()) *abortEntry {
	u.mu.Lock()
	if u.aborted {
		u.mu.Unlock()
		fn()
		return nil
	}
	e := &abortEntry{fn: fn}
	u.aborts = append(u.aborts, e)
	u.mu.Unlock()
	return e
}

// stopAbort unregisters e (nil: nothing).
func (u *upstream) stopAbort(e *abortEntry) {
	if e == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.aborts {
		if x == e {
			last := len(u.aborts) - 1
			u.aborts[i], u.aborts[last] = u.aborts[last], nil
			u.aborts = u.aborts[:last]
			if last == 0 {
				u.aborts = nil
			}
			return
		}
	}
}

// abort runs what is registered (see onAbort), and anything registered
// later at once.
func (u *upstream) abort() {
	u.mu.Lock()
	fns := u.aborts
	u.aborts, u.aborted = nil, true
	u.mu.Unlock()
	for _, e := range fns {
		e.fn()
	}
}

// stepCtx is the context of one step in opening a server connection (a
// dial, a TLS handshake): it ends after timeout, or when the upstream is
// aborted (see onAbort). done must be called when the step is over.
func (u *upstream) stepCtx(timeout time.Duration) (ctx context.Context, done func()) {
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	e := u.onAbort(cancel)
	return ctx, func() {
		u.stopAbort(e)
		cancel()
	}
}

// newUpstream returns the server side of a client connection or replay,
// whose owner calls abort when it is force-closed or done: every server
// connection made for it closes then, kept or in use.
func newUpstream(s *Server, client *flow.Client, peer net.Addr) *upstream {
	return &upstream{s: s, client: client, peer: peer}
}

// log logs for the client (see connLog).
func (u *upstream) log() connLog { return connLog{u.s.log, u.peer} }

// serverConn is a connection to a server.
type serverConn struct {
	key upstreamKey
	raw net.Conn
	st  *stream
	// server is the connection as flows and hooks see it.
	server *flow.Server
	// unwatch is the registration that closes raw when the upstream is
	// aborted (see connect).
	unwatch *abortEntry
	// absForm: the connection goes to an upstream proxy, which takes
	// requests in absolute form (mode_upstream.go).
	absForm bool
}

// upstreamKey is what a kept server connection can be reused for.
type upstreamKey struct {
	scheme, host string
	port         int
}

func (k upstreamKey) String() string {
	return k.scheme + "://" + net.JoinHostPort(k.host, strconv.Itoa(k.port))
}

// takeConn returns a connection for key: an HTTP/2 one that can take
// another stream (it stays shared), or else a kept HTTP/1 one (taken), or
// neither.
//
// One lock for both, and no map lookup (a hash of the key's strings) while
// the client has no HTTP/2 server connection: this runs for every request.
func (u *upstream) takeConn(key upstreamKey) (*h2Upstream, *serverConn) {
	u.mu.Lock()
	if len(u.h2) > 0 {
		if c := u.h2[key]; c != nil && c.cc.CanTakeNewStream() {
			u.mu.Unlock()
			return c, nil
		}
	}
	i := u.find(key)
	if i < 0 {
		u.mu.Unlock()
		return nil, nil
	}
	sc := u.idle[i]
	u.idle = append(u.idle[:i], u.idle[i+1:]...)
	u.mu.Unlock()
	// Taken: no one else uses it now.
	sc.st.unpark()
	return nil, sc
}

// adopt keeps a tunnel's server connection for the flows in the tunnel:
// as an HTTP/2 connection when the server chose h2, else as an idle
// HTTP/1 one.
func (u *upstream) adopt(sc *serverConn, cfg *Config) {
	if sc.server.ALPN == "h2" && cfg.HTTP2 {
		if _, err := u.adoptH2(sc, cfg); err != nil {
			u.log().Info(err.Error())
		}
		return
	}
	u.keep(sc, cfg.MaxUpstreamPerClient)
}

// adoptH2 starts HTTP/2 on sc and shares it for its key until it ends; its
// end closes sc (server_disconnected).
func (u *upstream) adoptH2(sc *serverConn, cfg *Config) (*h2Upstream, error) {
	c, err := u.startH2(sc, cfg)
	if err != nil {
		u.closeServer(sc)
		return nil, err
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		c.cc.Close()
		u.closeServer(sc)
		return nil, errors.New("client connection closed")
	}
	if u.h2 == nil {
		u.h2 = map[upstreamKey]*h2Upstream{}
	}
	old := u.h2[sc.key]
	u.h2[sc.key] = c
	u.mu.Unlock()
	if old != nil {
		// A second connection to the same server (the first one could
		// take no more streams): the first ends once its streams are done.
		old.cc.Shutdown()
	}
	go func() {
		<-c.cc.Done()
		u.mu.Lock()
		if u.h2[sc.key] == c {
			delete(u.h2, sc.key)
		}
		u.mu.Unlock()
		c.close(u)
	}()
	return c, nil
}

// peek returns the kept HTTP/1 connection takeConn would return, leaving it
// kept.
func (u *upstream) peek(key upstreamKey) *serverConn {
	var sc *serverConn
	u.mu.Lock()
	if i := u.find(key); i >= 0 {
		sc = u.idle[i]
	}
	u.mu.Unlock()
	return sc
}

// find is the index of the most recently kept connection for key, or -1.
// u.mu must be held.
func (u *upstream) find(key upstreamKey) int {
	for i := len(u.idle) - 1; i >= 0; i-- {
		if u.idle[i].key == key {
			return i
		}
	}
	return -1
}

// keep stores a connection for reuse, closing the least recently used one
// when the client already keeps the maximum, and closing sc itself when
// the client connection is gone.
func (u *upstream) keep(sc *serverConn, limit int) {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		u.closeServer(sc)
		return
	}
	// Idle, it holds no buffers.
	sc.st.park()
	u.idle = append(u.idle, sc)
	var evict *serverConn
	if len(u.idle) > limit {
		evict = u.idle[0]
		u.idle = u.idle[1:]
	}
	u.mu.Unlock()
	if evict != nil {
		u.closeServer(evict)
	}
}

// close closes the kept connections; later ones are closed as they come
// back. It returns once each has fired its server_disconnected hook.
func (u *upstream) close() {
	u.mu.Lock()
	idle, h2s := u.idle, u.h2
	u.idle, u.h2, u.closed = nil, nil, true
	u.mu.Unlock()
	for _, sc := range idle {
		u.closeServer(sc)
	}
	for _, c := range h2s {
		c.cc.Close()
		c.close(u)
	}
}

// dialSpec says how to reach a server: the scheme ("http", "https", or
// "tcp" for a tunnel's connection), its address, and for https the SNI and
// ALPN offers.
type dialSpec struct {
	scheme string
	host   string
	port   int
	sni    string
	alpn   []string
	// via is the upstream proxy to go through (viaSet once decided, see
	// upstream.withVia); viaKey tells connections through another proxy
	// than the mode's apart.
	via    *flow.ServerSpec
	viaSet bool
	viaKey string
}

func (d dialSpec) key() upstreamKey {
	if d.viaKey == "" {
		// No concatenation: even one that allocates nothing runs code of
		// the runtime's, on every request's path.
		return upstreamKey{d.scheme, d.host, d.port}
	}
	return upstreamKey{d.scheme + d.viaKey, d.host, d.port}
}

// connect opens a connection to the server d names for flow f (nil for a
// tunnel's connection made before any flow), firing the server connection
// hooks. Its error is a message fit for the client and the log.
func (u *upstream) connect(f *flow.HTTPFlow, d dialSpec, cfg *Config) (*serverConn, error) {
	u.withVia(f, &d)
	// The host (and SNI) may be part of the request's head, which the
	// connection, kept for reuse, would otherwise hold whole.
	d.host, d.sni = strings.Clone(d.host), strings.Clone(d.sni)
	server := flow.NewServer(flow.Address{Host: d.host, Port: d.port})
	server.Via = copyVia(d.via)
	server.TLS = d.scheme == "https"
	if server.TLS {
		server.SNI = d.sni
	}
	data := &addon.ServerConnectionData{Server: server, Client: u.client}
	if f != nil {
		f.ServerConn = server
	}
	u.s.m.ServerConnect(data)
	if server.Error != "" {
		return nil, fmt.Errorf("server connection to %s killed before connect: %s", server.Address, server.Error)
	}
	addr := server.Address.String()
	server.TimestampStart = nowSeconds()
	dialer := net.Dialer{Timeout: cfg.ConnectTimeout}
	if local := server.Sockname; local.Host != "" {
		// connect_addr, or an addon's choice in server_connect.
		ip, err := netip.ParseAddr(local.Host)
		if err != nil {
			server.Error = fmt.Sprintf("cannot connect from %s: not an IP address", local)
			u.log().Info("server connect error: " + server.Error)
			u.s.m.ServerConnectError(data)
			return nil, errors.New(server.Error)
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip.AsSlice(), Port: local.Port}
	}
	var raw net.Conn
	var err error
	absForm := false
	if server.Via != nil {
		// Through an upstream proxy (an addon may have changed it in
		// server_connect).
		raw, absForm, err = u.dialVia(&dialer, server, server.Via, d, cfg)
		if err != nil {
			server.Error = err.Error()
			u.log().Info("server connect error: " + server.Error)
			u.s.m.ServerConnectError(data)
			return nil, err
		}
	} else {
		ctx, done := u.stepCtx(0)
		raw, err = dialer.DialContext(ctx, "tcp", addr)
		done()
	}
	if err == nil && server.Via == nil && u.s.self.dialed(raw) {
		// A name or address form the server_connect check does not
		// know still led back to us: every hop would open another.
		raw.Close()
		err = errors.New(errSelfConnect)
	}
	if err != nil {
		server.Error = describeDialError(addr, err, cfg)
		u.log().Info("server connect error: " + server.Error)
		u.s.m.ServerConnectError(data)
		return nil, errors.New(server.Error)
	}
	server.TimestampTCPSetup = nowSeconds()
	server.Peername = flow.AddrFrom(raw.RemoteAddr())
	server.Sockname = flow.AddrFrom(raw.LocalAddr())
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	sc := &serverConn{
		key: d.key(), raw: raw, absForm: absForm,
		st:     plainStream(newIdleConn(raw, cfg.IdleTimeout), &u.s.bufs),
		server: server,
		// A shutdown that runs out of patience aborts the client
		// connection's upstream; the server connection in use, which no
		// list holds (a flow waiting for its response), must close too,
		// or the flow waits for the server as long as tcp_timeout.
		unwatch: u.onAbort(func() { raw.Close() }),
	}
	if server.TLS {
		// An https:// request, or the first request of a lazily
		// connected tunnel: TLS to the server, set up by the addons as
		// for intercepted tunnels.
		if err := u.startTLS(sc, d.sni, d.alpn, nil, cfg); err != nil {
			raw.Close()
			u.stopAbort(sc.unwatch)
			return nil, err
		}
	}
	if server.Via != nil {
		u.log().Info(fmt.Sprintf("server connect %s via %s", server.Address, viaString(server.Via)))
	} else if server.Peername.Host != "" && server.Peername.Host != server.Address.Host {
		u.log().Info(fmt.Sprintf("server connect %s (%s)", server.Address, server.Peername))
	} else {
		u.log().Info("server connect " + server.Address.String())
	}
	u.s.m.ServerConnected(data)
	return sc, nil
}

// startTLS runs the TLS handshake with the server, asking the addons
// (tls_start_server) for its configuration. On success sc's stream is the
// TLS session.
func (u *upstream) startTLS(sc *serverConn, sni string, alpn []string, chd *addon.ClientHelloData, cfg *Config) error {
	sc.server.TLS = true
	sc.server.SNI = sni
	sc.server.ALPNOffers = alpn
	sd := &addon.TLSData{Client: u.client, Server: sc.server, ClientHello: chd}
	u.s.m.TLSStartServer(sd)
	if sd.Config == nil {
		return errors.New("no TLS configuration for the server connection (is the tlsconfig addon loaded?)")
	}
	tcfg, certWatch := watchClientCert(sd.Config)
	raw := newCoalescingConn(sc.st.conn, u.s.writeBufs)
	tconn := tls.Client(raw, tcfg)
	ctx, done := u.stepCtx(cfg.ConnectTimeout)
	err := tconn.HandshakeContext(ctx)
	done()
	if err != nil {
		sd.Err = err
		// TLS 1.2: a server that wanted a client certificate fails the
		// handshake with a generic alert; say what it lacked.
		msg := describeTLSError(sc.server.Address.String(), certWatch.explain(err))
		sc.server.Error = msg
		u.log().Info("Server TLS handshake failed. " + msg)
		u.s.m.TLSFailedServer(sd)
		return errors.New(msg)
	}
	st := tconn.ConnectionState()
	recordServerTLS(sc.server, st)
	if cfg.Debug {
		u.log().Debug(fmt.Sprintf("TLS with the server %s established: %s, %s, alpn %q, resumed %v", sc.server.Address, sc.server.TLSVersion, sc.server.Cipher, st.NegotiatedProtocol, st.DidResume))
	}
	u.s.m.TLSEstablishedServer(sd)
	var r io.Reader = tconn
	if certWatch.asked && !certWatch.sent {
		// TLS 1.3: the server checks the certificate after our side of the
		// handshake is done, and its alert comes with the response.
		r = &clientCertReader{r: tconn, w: certWatch}
	}
	plain := sc.st
	// The plain stream was never read (the session reads the connection):
	// its buffers go back first, for the session's stream to take.
	plain.park()
	sc.st = tlsStream(tconn, raw, plain, r)
	return nil
}

func recordServerTLS(server *flow.Server, st tls.ConnectionState) {
	server.TimestampTLSSetup = nowSeconds()
	server.ALPN = st.NegotiatedProtocol
	server.TLSVersion = tlsVersionName(st.Version)
	server.Cipher = tlsnames.CipherName(st.CipherSuite) // as mitmproxy (OpenSSL) names it
	server.CertificateList = server.CertificateList[:0]
	for _, c := range st.PeerCertificates {
		server.CertificateList = append(server.CertificateList, c.Raw)
	}
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// closeServer closes a server connection; nil (none made yet) is fine.
func (u *upstream) closeServer(sc *serverConn) {
	if sc == nil {
		return
	}
	sc.st.conn.Close()
	u.stopAbort(sc.unwatch)
	sc.server.SetTimestampEnd(nowSeconds())
	u.log().Info("server disconnect " + sc.server.Address.String())
	u.s.m.ServerDisconnected(&addon.ServerConnectionData{Server: sc.server, Client: u.client})
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// describeDialError turns a dial error into one clear line.
func describeDialError(addr string, err error, cfg *Config) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection to %s refused", addr)
	case isTimeout(err):
		return fmt.Sprintf("connection to %s timed out after %s", addr, cfg.ConnectTimeout)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("%s is unreachable", addr)
	}
	return fmt.Sprintf("cannot connect to %s: %v", addr, err)
}

// describeIOError names what happened to a connection.
func describeIOError(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case isConnReset(err):
		return "connection reset"
	case isTimeout(err):
		return "idle timeout"
	}
	var pe *h1.ProtocolError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}
