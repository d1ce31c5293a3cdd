package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// Upstream mode ("upstream:http://proxy:8080"): the client speaks to us as
// to any HTTP proxy, and we reach every server through the upstream proxy,
// as mitmproxy's HttpUpstreamProxy layer: a plain http:// request goes to
// it as it came, in absolute form, and everything else (a CONNECT tunnel,
// an https:// request) goes through a CONNECT we send it, after which TLS
// with the server runs inside as usual. An https:// upstream proxy is
// itself spoken to over TLS.
//
// A server connection records the proxy it goes through as its via; a
// script may change a flow's server_conn.via before the server is
// connected (in requestheaders or request, as mitmproxy's
// change_upstream_proxy example does), in upstream mode or any other, and
// the connection goes through that proxy (or directly, for None).

// modeVia is the upstream proxy of an upstream mode, nil for other modes.
func modeVia(m *spec.ProxyMode) *flow.ServerSpec {
	if m == nil || m.Name != spec.ModeUpstream {
		return nil
	}
	return &flow.ServerSpec{Scheme: m.Scheme, Address: flow.Address{Host: m.Address.Host, Port: m.Address.Port}}
}

// copyVia is a flow's own copy of a via, which an addon may change
// without changing the mode's.
func copyVia(v *flow.ServerSpec) *flow.ServerSpec {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func sameVia(a, b *flow.ServerSpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func viaString(v *flow.ServerSpec) string {
	if v == nil {
		return "direct"
	}
	return v.Scheme + "://" + v.Address.String()
}

// withVia completes d, in place (a dialSpec is large, and copied on every
// request's path), with the upstream proxy the connection goes through:
// the flow's server_conn.via (a CONNECT's, and a connection made
// without a flow, take the mode's). Connections through a proxy other than
// the mode's are kept apart from the others (see dialSpec.key).
func (u *upstream) withVia(f *flow.HTTPFlow, d *dialSpec) {
	if d.viaSet {
		return
	}
	via := u.via
	if f != nil && f.ServerConn != nil && f.Request != nil && f.Request.Method != "CONNECT" {
		via = f.ServerConn.Via
	}
	d.via, d.viaSet = via, true
	if !sameVia(via, u.via) {
		d.viaKey = " via " + viaString(via)
	}
}

// dialVia connects to the upstream proxy via for server, with TLS when its
// scheme is https, and (unless d is a plain http:// request, which goes to
// the proxy in absolute form: absForm) asks it with CONNECT for a tunnel to
// the server; the http_connect_upstream hook sees that CONNECT request
// (upstream_auth adds Proxy-Authorization there).
func (u *upstream) dialVia(dialer *net.Dialer, server *flow.Server, via *flow.ServerSpec, d dialSpec, cfg *Config) (conn net.Conn, absForm bool, err error) {
	addr := via.Address.String()
	if via.Scheme != "http" && via.Scheme != "https" {
		return nil, false, fmt.Errorf("invalid upstream proxy scheme %q for %s (http or https)", via.Scheme, addr)
	}
	ctx, done := u.stepCtx(0)
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	done()
	if err != nil {
		return nil, false, errors.New("upstream proxy: " + describeDialError(addr, err, cfg))
	}
	if u.client != nil && flow.AddrFrom(raw.RemoteAddr()) == u.client.Sockname && u.s.self.dialed(raw) {
		// The listener the client came in on: every hop would open
		// another.
		raw.Close()
		return nil, false, fmt.Errorf("the upstream proxy %s is this proxy server itself", addr)
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	conn = raw
	if via.Scheme == "https" {
		tc, err := u.proxyTLS(raw, server, via, cfg)
		if err != nil {
			raw.Close()
			return nil, false, err
		}
		conn = tc
	}
	if d.scheme == "http" {
		return conn, true, nil
	}
	if conn, err = u.connectUpstream(conn, server, via, cfg); err != nil {
		raw.Close()
		return nil, false, err
	}
	return conn, false, nil
}

// proxyTLS runs TLS with an https:// upstream proxy, configured by the
// addons (tls_start_server) as for a server, for the proxy's name, offering
// HTTP/1.1.
func (u *upstream) proxyTLS(raw net.Conn, server *flow.Server, via *flow.ServerSpec, cfg *Config) (*tls.Conn, error) {
	proxy := flow.NewServer(via.Address)
	proxy.TLS, proxy.SNI, proxy.ALPNOffers = true, via.Address.Host, []string{"http/1.1"}
	proxy.Peername, proxy.Sockname = flow.AddrFrom(raw.RemoteAddr()), flow.AddrFrom(raw.LocalAddr())
	sd := &addon.TLSData{Client: u.client, Server: proxy}
	u.s.m.TLSStartServer(sd)
	if sd.Config == nil {
		return nil, errors.New("no TLS configuration for the upstream proxy connection (is the tlsconfig addon loaded?)")
	}
	tconn := tls.Client(raw, sd.Config)
	ctx, done := u.stepCtx(cfg.ConnectTimeout)
	err := tconn.HandshakeContext(ctx)
	done()
	if err != nil {
		sd.Err = err
		u.s.m.TLSFailedServer(sd)
		return nil, errors.New("upstream proxy: " + describeTLSError(via.Address.String(), err))
	}
	u.s.m.TLSEstablishedServer(sd)
	return tconn, nil
}

// connectUpstream asks the upstream proxy on conn for a tunnel to server.
func (u *upstream) connectUpstream(conn net.Conn, server *flow.Server, via *flow.ServerSpec, cfg *Config) (net.Conn, error) {
	authority := hostPortString(server.Address.Host, server.Address.Port)
	now := nowSeconds()
	req := &flow.Request{
		Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.Headers{}, RawContent: []byte{}, TimestampStart: now, TimestampEnd: now},
		Method:  "CONNECT", Authority: authority, Host: server.Address.Host, Port: server.Address.Port,
	}
	if cfg.ConnectSendHostHeader {
		req.Headers.Set("Host", authority)
	}
	proxyServer := flow.NewServer(via.Address)
	f := flow.NewHTTPFlow(u.client, proxyServer)
	f.Request = req
	u.s.m.HTTPConnectUpstream(f)
	f.SetLive(false)
	bw := bufio.NewWriter(conn)
	bw.Write(h1.AppendRequestHead(nil, "CONNECT", req.Authority, "HTTP/1.1", req.Headers))
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("upstream proxy %s: sending CONNECT: %s", via.Address, describeIOError(err))
	}
	br := bufio.NewReaderSize(conn, 4096)
	rh, err := h1.ReadResponseHead(br, h1.DefaultMaxHeaderBytes, h1.AnyHeaderNames)
	if err != nil {
		return nil, fmt.Errorf("Error connecting to %s: %s", via.Address, describeIOError(err))
	}
	if rh.Status/100 != 2 {
		return nil, fmt.Errorf("Upstream proxy %s refused HTTP CONNECT request: %d %s", via.Address, rh.Status, rh.Reason)
	}
	if n := br.Buffered(); n > 0 {
		// The server spoke first, right behind the proxy's answer.
		b, _ := br.Peek(n)
		return &prefixedConn{Conn: conn, prefix: append([]byte(nil), b...)}, nil
	}
	return conn, nil
}

// prefixedConn is a connection some of whose first bytes were read already.
type prefixedConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// hostPortString joins host and port, bracketing an IPv6 address.
func hostPortString(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// absoluteTarget is the request target of a plain request sent to an
// upstream proxy: the absolute form, scheme://authority/path.
func absoluteTarget(req *flow.Request) string {
	authority := req.Authority
	if authority == "" {
		authority = hostWithDefaultPort(req.Scheme, req.Host, req.Port)
	}
	path := req.Path
	if path == "*" {
		path = ""
	}
	return req.Scheme + "://" + authority + path
}

// hostWithDefaultPort is host[:port], the port left out when it is the
// scheme's default, as mitmproxy's url.hostport.
func hostWithDefaultPort(scheme, host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	if scheme == "http" && port == 80 || scheme == "https" && port == 443 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}
