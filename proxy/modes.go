package proxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// Proxy modes: the mode option lists the proxy servers to run, each a mode
// spec ("regular@8080", "socks5", "reverse:https://example.com@8443") with
// a listener of its own (ModeListener). The mode decides the first layer
// of every connection its listener accepts (serveMode):
//
//   - regular: HTTP/1, proxy requests and CONNECT (http1.go).
//   - upstream: the same, but servers are reached through the upstream
//     proxy the spec names (mode_upstream.go).
//   - reverse: a tunnel to the spec's server, fixed (mode_reverse.go).
//   - socks5: the SOCKS5 handshake, then a tunnel (socks5.go).
//   - transparent: a tunnel to the connection's original destination
//     (transparent.go; Linux only).
//   - dns, reverse:dns and reverse:udp: UDP (dns.go, udp.go).
//
// Flows record the spec they came through as their client's proxy_mode.

// defaultMode is the mode of connections from a listener that was not made
// by Listen or ListenModes (a Go program's own listener handed to Serve).
var defaultMode = &spec.ProxyMode{FullSpec: spec.ModeRegular, Name: spec.ModeRegular}

// parseModes reads the mode option as mitmproxy 12's proxyserver addon
// does: every spec must parse, and no two servers may listen on one
// address. Modes mitmgo does not have yet are refused with a message that
// says so.
func parseModes(specs []string, c *Config) ([]*spec.ProxyMode, error) {
	modes := make([]*spec.ProxyMode, 0, len(specs))
	for _, s := range specs {
		m, err := spec.ParseProxyMode(s)
		if err != nil {
			return nil, fmt.Errorf("Invalid proxy mode specification: %s (%w)", s, err)
		}
		if why := unsupportedMode(m); why != "" {
			return nil, fmt.Errorf("Invalid proxy mode specification: %s (%s)", s, why)
		}
		modes = append(modes, m)
	}
	type listenAt struct {
		host  string
		port  int
		proto string
	}
	seen := map[listenAt]bool{}
	for _, m := range modes {
		host, port, ok := c.listenAddr(m)
		if !ok || port == 0 {
			// No port, or any free one: never the same address twice.
			continue
		}
		tcp, udp := modeTransports(m)
		for proto, on := range map[string]bool{"tcp": tcp, "udp": udp} {
			if !on {
				continue
			}
			k := listenAt{host, port, proto}
			if seen[k] {
				return nil, fmt.Errorf("Cannot spawn multiple servers on the same address: %s", formatListenAddr(host, port))
			}
			seen[k] = true
		}
	}
	return modes, nil
}

// unsupportedMode says why mitmgo cannot run a mode that parsed, or "".
func unsupportedMode(m *spec.ProxyMode) string {
	switch m.Name {
	case spec.ModeWireGuard, spec.ModeLocal, spec.ModeTun:
		return fmt.Sprintf("mitmgo has no %s mode yet: WireGuard, local and TUN modes come later", m.Name)
	case spec.ModeTransparent:
		// Linux only (transparent_other.go).
		if why := transparentUnsupported(); why != "" {
			return why
		}
	case spec.ModeReverse:
		switch m.Scheme {
		case "http3", "quic", "dtls":
			return fmt.Sprintf("mitmgo has no %s reverse proxy yet: HTTP/3, QUIC and DTLS reverse proxies come later", m.Scheme)
		}
	}
	return ""
}

// modeTransports says what a mode's server listens with: mitmproxy 12's
// transport protocol, less what mitmgo does not serve (HTTP/3 beside a
// reverse proxy to https).
func modeTransports(m *spec.ProxyMode) (tcp, udp bool) {
	switch m.Name {
	case spec.ModeDNS:
		return dnsOverTCP, true
	case spec.ModeReverse:
		switch m.Scheme {
		case "udp":
			return false, true
		case "dns":
			return dnsOverTCP, true
		}
	}
	return true, false
}

// listenAddr is where a mode listens: the spec's address, else the
// listen_host and listen_port options, else the mode's default port.
func (c *Config) listenAddr(m *spec.ProxyMode) (host string, port int, ok bool) {
	var def *int
	if c.listenPortSet {
		def = &c.ListenPort
	}
	port, ok = m.ListenPort(def)
	return m.ListenHost(c.ListenHost), port, ok
}

// formatListenAddr formats a listen address as mitmproxy's
// human.format_address: "*:8080" for every address.
func formatListenAddr(host string, port int) string {
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return "*:" + strconv.Itoa(port)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ModeListener is the server of one proxy mode: its spec and its sockets,
// a TCP listener, a UDP socket, or both (DNS).
type ModeListener struct {
	Mode *spec.ProxyMode
	tcp  net.Listener
	udp  net.PacketConn
}

// TCP is the mode's TCP listener, nil for a UDP-only mode.
func (l *ModeListener) TCP() net.Listener { return l.tcp }

// UDP is the mode's UDP socket, nil for a TCP-only mode.
func (l *ModeListener) UDP() net.PacketConn { return l.udp }

// Addr is the address the mode listens on (the TCP listener's when it has
// one).
func (l *ModeListener) Addr() net.Addr {
	if l.tcp != nil {
		return l.tcp.Addr()
	}
	return l.udp.LocalAddr()
}

// ListeningMessage is the log line mitmproxy 12 writes once a server
// listens: "HTTP(S) proxy listening at *:8080.", "SOCKS v5 proxy listening
// at 127.0.0.1:1080.", "reverse proxy to https://example.com listening at
// *:8443."
func (l *ModeListener) ListeningMessage() string {
	return fmt.Sprintf("%s listening at %s.", l.Mode.Description(), ListenAddrString(l.Addr()))
}

// Close closes the mode's sockets.
func (l *ModeListener) Close() error {
	var errs []error
	if l.tcp != nil {
		errs = append(errs, l.tcp.Close())
	}
	if l.udp != nil {
		errs = append(errs, l.udp.Close())
	}
	return errors.Join(errs...)
}

// modeTCPListener is a TCP listener that knows its mode, so that Serve
// gives its connections their first layer.
type modeTCPListener struct {
	net.Listener
	mode *spec.ProxyMode
}

// ListenModes binds the sockets of every configured mode, in the order of
// the mode option, or none: when one cannot listen, those bound already
// are closed again and the error names the mode and its address.
func (s *Server) ListenModes() ([]*ModeListener, error) {
	if s.cfg.Load() == nil {
		// Without its options the server would listen with defaults
		// nobody chose.
		return nil, errors.New("proxy: the server is not configured: add it to its addon.Manager (Add) and configure the manager (ConfigureAll) before Listen")
	}
	c := s.Config()
	var out []*ModeListener
	for _, m := range c.Modes {
		l, err := c.listenMode(m)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// listenMode binds one mode's sockets.
func (c *Config) listenMode(m *spec.ProxyMode) (*ModeListener, error) {
	host, port, ok := c.listenAddr(m)
	if !ok {
		return nil, fmt.Errorf("%s: no port to listen on", m.Description())
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	fail := func(err error) error {
		msg := fmt.Sprintf("%s failed to listen on %s with %v", m.Description(), formatListenAddr(host, port), err)
		if errors.Is(err, syscall.EADDRINUSE) && !m.HasListenPort {
			msg += fmt.Sprintf("\nTry specifying a different port by using `--mode %s@%d`.", m.FullSpec, port+2)
		}
		return errors.New(msg)
	}
	l := &ModeListener{Mode: m}
	tcp, udp := modeTransports(m)
	if tcp {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fail(err)
		}
		l.tcp = &modeTCPListener{Listener: ln, mode: m}
		if port == 0 {
			// The UDP socket takes the port the TCP listener got.
			addr = ln.Addr().String()
		}
	}
	if udp {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			l.Close()
			return nil, fail(err)
		}
		l.udp = pc
	}
	return l, nil
}

// ServeModes serves every listener until all are closed (Shutdown). The
// error is the first a listener failed with.
func (s *Server) ServeModes(ls []*ModeListener) error {
	var wg sync.WaitGroup
	errs := make([]error, 2*len(ls))
	for i, l := range ls {
		if l.tcp != nil {
			wg.Go(func() { errs[2*i] = s.Serve(l.tcp) })
		}
		if l.udp != nil {
			if !s.trackPacketConn(l.udp) {
				continue
			}
			wg.Go(func() { errs[2*i+1] = s.serveUDP(l) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// modeOf is the mode of a listener's connections.
func modeOf(ln net.Listener) *spec.ProxyMode {
	if ml, ok := ln.(*modeTCPListener); ok {
		return ml.mode
	}
	return defaultMode
}

// serveMode runs the first layer of the connection's mode on st, for the
// modes whose clients do not speak HTTP to a proxy: serve runs the regular
// and upstream modes' HTTP/1 layer itself (see there).
func (cc *clientConn) serveMode(st *stream) {
	switch cc.mode.Name {
	case spec.ModeReverse:
		if cc.mode.Scheme == "dns" {
			// DNS over TCP (dns.go).
			cc.serveDNSOverTCP(st)
			return
		}
		cc.serveReverse(st)
	case spec.ModeSocks5:
		cc.serveSOCKS5(st)
	case spec.ModeTransparent:
		cc.serveTransparent(st)
	case spec.ModeDNS:
		cc.serveDNSOverTCP(st)
	default:
		// parseModes lets no other mode through.
		cc.log().Error(fmt.Sprintf("%s: mitmgo cannot serve this mode", cc.mode.FullSpec))
	}
}

// modeRequest adapts a flow to the connection's mode before its first
// hook: in upstream mode its server records the upstream proxy (which a
// script may then change), in reverse mode the request goes to the
// reverse proxy's target whatever it says (see reverseRequest).
func (cc *clientConn) modeRequest(f *flow.HTTPFlow, t *target, cfg *Config) {
	switch cc.mode.Name {
	case spec.ModeRegular:
	case spec.ModeUpstream:
		if s := f.ServerConn; s != nil && s.Via == nil && s.TimestampStart == 0 {
			s.Via = copyVia(cc.up.via)
		}
	case spec.ModeReverse:
		cc.reverseRequest(f, t, cfg)
	}
}

// connectInTunnelMessage answers a CONNECT request where none can be: in
// a tunnel, and in the modes whose connections are tunnels already
// (mitmproxy's message for them).
func (cc *clientConn) connectInTunnelMessage() string {
	if cc.mode.Name == spec.ModeRegular || cc.mode.Name == spec.ModeUpstream {
		return "CONNECT inside a CONNECT tunnel is not supported"
	}
	return "mitmproxy received an HTTP CONNECT request even though it is not running in regular/upstream mode. " +
		"This usually indicates a misconfiguration, please see the mitmproxy mode documentation for details."
}

// newModeClient is the flow.Client of a connection accepted for mode.
func newModeClient(conn net.Conn, mode *spec.ProxyMode) *flow.Client {
	return flow.NewClient(flow.AddrFrom(conn.RemoteAddr()), flow.AddrFrom(conn.LocalAddr()), mode.FullSpec)
}
