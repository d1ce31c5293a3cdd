package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// serverConn is a connection to an upstream server.
type serverConn struct {
	key  upstreamKey
	raw  net.Conn
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// direct writes large messages past bw (see writeMessage).
	direct directWriter
	server *flow.Server
	// unwatch stops the watch that closes raw when the client connection
	// is force-closed (see connectUpstream).
	unwatch func() bool
}

// upstreamKey is what a kept server connection can be reused for.
type upstreamKey struct {
	scheme, host string
	port         int
}

// peekUpstream returns the kept connection takeUpstream would return,
// leaving it kept.
func (cc *clientConn) peekUpstream(key upstreamKey) *serverConn {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if i := cc.findUpstream(key); i >= 0 {
		return cc.upstream[i]
	}
	return nil
}

// takeUpstream removes and returns a kept connection for key.
func (cc *clientConn) takeUpstream(key upstreamKey) *serverConn {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	i := cc.findUpstream(key)
	if i < 0 {
		return nil
	}
	sc := cc.upstream[i]
	cc.upstream = append(cc.upstream[:i], cc.upstream[i+1:]...)
	return sc
}

// findUpstream is the index of the most recently kept connection for key,
// or -1. cc.mu must be held.
func (cc *clientConn) findUpstream(key upstreamKey) int {
	for i := len(cc.upstream) - 1; i >= 0; i-- {
		if cc.upstream[i].key == key {
			return i
		}
	}
	return -1
}

// keepUpstream stores a connection for reuse, closing the least recently
// used one when the client already keeps the maximum.
func (cc *clientConn) keepUpstream(sc *serverConn, limit int) {
	cc.mu.Lock()
	if cc.state == stateClosed {
		cc.mu.Unlock()
		cc.closeServer(sc)
		return
	}
	cc.upstream = append(cc.upstream, sc)
	var evict *serverConn
	if len(cc.upstream) > limit {
		evict = cc.upstream[0]
		cc.upstream = cc.upstream[1:]
	}
	cc.mu.Unlock()
	if evict != nil {
		cc.closeServer(evict)
	}
}

// connectUpstream opens a connection to the flow's target, firing the server
// connection hooks. It returns an error message fit for the client and log.
func (cc *clientConn) connectUpstream(f *flow.HTTPFlow, scheme, host string, port int, cfg *Config) (*serverConn, error) {
	m := cc.s.m
	server := flow.NewServer(flow.Address{Host: host, Port: port})
	server.TLS = scheme == "https"
	if server.TLS {
		server.SNI = host
	}
	data := &addon.ServerConnectionData{Server: server, Client: cc.client}
	f.ServerConn = server
	m.ServerConnect(data)
	if server.Error != "" {
		return nil, fmt.Errorf("server connection to %s killed before connect: %s", server.Address, server.Error)
	}
	addr := server.Address.String()
	server.TimestampStart = nowSeconds()
	d := net.Dialer{Timeout: cfg.ConnectTimeout}
	if local := server.Sockname; local.Host != "" {
		// connect_addr, or an addon's choice in server_connect.
		ip, err := netip.ParseAddr(local.Host)
		if err != nil {
			server.Error = fmt.Sprintf("cannot connect from %s: not an IP address", local)
			cc.log.Info("server connect error: " + server.Error)
			m.ServerConnectError(data)
			return nil, errors.New(server.Error)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice(), Port: local.Port}
	}
	raw, err := d.DialContext(cc.ctx(), "tcp", addr)
	if err == nil && cc.s.dialedSelf(raw) {
		// A name or address form the server_connect check does not
		// know still led back to us: every hop would open another.
		raw.Close()
		err = errors.New(errSelfConnect)
	}
	if err != nil {
		server.Error = describeDialError(addr, err, cfg)
		cc.log.Info("server connect error: " + server.Error)
		m.ServerConnectError(data)
		return nil, errors.New(server.Error)
	}
	server.TimestampTCPSetup = nowSeconds()
	server.Peername = flow.AddrFrom(raw.RemoteAddr())
	server.Sockname = flow.AddrFrom(raw.LocalAddr())
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	ic := newIdleConn(raw, cfg.IdleTimeout)
	sc := &serverConn{
		key: upstreamKey{scheme, host, port}, raw: raw, conn: ic,
		br: bufio.NewReaderSize(ic, bufSize), bw: bufio.NewWriterSize(ic, bufSize),
		direct: ic, server: server,
		// A shutdown that runs out of patience cancels the client
		// connection's context; the server connection in use, which no
		// list holds (a flow waiting for its response), must close too,
		// or the flow waits for the server as long as tcp_timeout.
		unwatch: context.AfterFunc(cc.ctx(), func() { raw.Close() }),
	}
	if server.TLS {
		// An https:// request in absolute form: TLS to the server, set up
		// by the addons as for intercepted tunnels.
		sni := host
		if l := cc.lazyTLS; l != nil && l.host == host && l.port == port {
			// The first request of a lazily connected tunnel: the
			// server gets the SNI the client sent.
			sni = l.sni
		}
		if err := cc.startServerTLS(sc, sni, []string{"http/1.1"}, nil); err != nil {
			raw.Close()
			return nil, err
		}
	}
	if server.Peername.Host != "" && server.Peername.Host != server.Address.Host {
		cc.log.Info(fmt.Sprintf("server connect %s (%s)", server.Address, server.Peername))
	} else {
		cc.log.Info("server connect " + server.Address.String())
	}
	m.ServerConnected(data)
	return sc, nil
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
func (cc *clientConn) closeServer(sc *serverConn) {
	if sc == nil {
		return
	}
	sc.conn.Close()
	if sc.unwatch != nil {
		sc.unwatch()
	}
	sc.server.TimestampEnd = nowSeconds()
	cc.log.Info("server disconnect " + sc.server.Address.String())
	cc.s.m.ServerDisconnected(&addon.ServerConnectionData{Server: sc.server, Client: cc.client})
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
