package proxy

import (
	"fmt"
	"net"
	"strconv"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// tunnelLayers runs a CONNECT tunnel's layers (serveTunnel), called once
// the HTTP/1 layer that answered the CONNECT is off the stack. It returns
// the tunnel's HTTP/1 layer when that layer's wait for the next request was
// moved to the idle watch (the connection parks from there, see
// serveRegular), the zero movedTunnel otherwise.
type tunnelLayers func() movedTunnel

// handleConnect answers a CONNECT request (the http_connect hooks, an eager
// server connection) and returns the tunnel to run (serveTunnel), or nil
// when there is none (refused, or the client left). The client connection
// ends with the tunnel.
func (cc *clientConn) handleConnect(st *stream, f *flow.HTTPFlow, head *h1.RequestHead, cfg *Config) tunnelLayers {
	m := cc.s.m
	req := f.Request
	host, port, err := splitAuthority(head.Target, 0)
	if err != nil || port == 0 {
		sendErrorPage(st, 400, fmt.Sprintf("Bad CONNECT request: target %q must be host:port", head.Target))
		return nil
	}
	req.Authority, req.Host, req.Port, req.Scheme, req.Path = head.Target, host, port, "http", ""
	req.RawContent = []byte{}
	req.TimestampEnd = nowSeconds()
	server := flow.NewServer(flow.Address{Host: host, Port: port})
	f.ServerConn = server
	m.HTTPConnect(f)
	run := cc.newFlowRun(f, &h1Responder{st: st, watcher: &clientWatch{st: st, idle: cfg.IdleTimeout}}, nil, cfg)
	if !run.afterHook() {
		return nil
	}
	var sc *serverConn
	if f.Response == nil && !cfg.Lazy {
		// Eager connection strategy: connect upstream before accepting
		// the tunnel, so that an unreachable server is reported to the
		// client, and TLS can mirror the server's certificate and ALPN.
		sc, err = cc.up.connect(f, dialSpec{scheme: "tcp", host: host, port: port}, cfg)
		if err != nil {
			f.Response = flow.NewResponse(502, []byte(fmt.Sprintf("Cannot connect to %s: %v "+
				"If you plan to redirect requests away from this server, consider setting `connection_strategy` to `lazy` to suppress early connections.",
				net.JoinHostPort(host, strconv.Itoa(port)), err)), nil)
		}
	}
	if f.Response == nil {
		// As mitmproxy: no header at all, which some clients (Android
		// emulators' -http-proxy) need.
		now := nowSeconds()
		f.Response = &flow.Response{
			Message:    flow.Message{HTTPVersion: req.HTTPVersion, Headers: flow.Headers{}, RawContent: []byte{}, TimestampStart: now, TimestampEnd: now},
			StatusCode: 200, Reason: "Connection established",
		}
	}
	f.SetLive(false)
	if f.Response.StatusCode/100 != 2 {
		m.HTTPConnectError(f)
		if writeResponse(st, f.Response, false) == nil {
			_ = st.flush()
		}
		return nil
	}
	m.HTTPConnected(f)
	if err := writeResponse(st, f.Response, false); err != nil || st.flush() != nil {
		cc.up.closeServer(sc)
		return nil
	}
	cc.setState(stateBusy)
	return func() movedTunnel { return cc.serveTunnel(st, sc, server, cfg) }
}

// serveTunnel takes over a CONNECT tunnel after the 200 and runs the layer
// its first bytes call for (see nextLayer): TLS is intercepted (unless an
// addon ignores the connection: then it is relayed untouched), HTTP/1 and
// HTTP/2 are served as such, anything else (or anything to a tcp_hosts
// host) is a TCP flow. sc is the server connection, nil under the lazy
// connection strategy: server describes the server then, and the
// connection is made once something needs it. The result is serveHTTP's:
// the tunnel's HTTP/1 layer when its wait was moved to the idle watch.
func (cc *clientConn) serveTunnel(st *stream, sc *serverConn, server *flow.Server, cfg *Config) movedTunnel {
	host, port := server.Address.Host, server.Address.Port
	tun := &tunnel{cc: cc, server: server, sc: sc, cfg: cfg}
	kind, err := cc.nextLayer(st, sc, cfg)
	if err != nil {
		cc.up.closeServer(sc)
		return movedTunnel{}
	}
	if kind != layerTLS && kind != layerTCP && tun.isTCPHost("") {
		kind = layerTCP
	}
	switch kind {
	case layerTLS:
		return cc.interceptTLS(st, tun)
	case layerTCP:
		if tun.connect() {
			cc.relayTCP(st, tun.sc)
		}
	case layerHTTP1, layerHTTP2:
		if sc != nil {
			server = sc.server
			sc.key = upstreamKey{"http", host, port}
			cc.up.keep(sc, cfg.MaxUpstreamPerClient)
		}
		return cc.serveHTTP(kind, st, &target{scheme: "http", host: host, port: port, server: server})
	}
	return movedTunnel{}
}

// serveHTTP runs the HTTP layer of the version the next-layer decision
// found. It returns the HTTP/1 layer when its wait for the next request
// was moved to the idle watch: the connection parks once the tunnel's
// frames are off the stack (see serveRegular), nothing runs after this
// layer.
func (cc *clientConn) serveHTTP(kind layerKind, st *stream, t *target) movedTunnel {
	if kind == layerHTTP2 {
		cc.serveHTTP2(st, t)
		return movedTunnel{}
	}
	// Inside a tunnel a CONNECT is refused: there is no tunnel to run.
	if _, moved := cc.serveHTTP1(st, t); moved {
		return movedTunnel{st, t}
	}
	return movedTunnel{}
}

// tunnel is a CONNECT tunnel being set up: its server, connected now
// (eager) or on first need (lazy).
type tunnel struct {
	cc     *clientConn
	server *flow.Server
	sc     *serverConn
	cfg    *Config
}

// connect makes the server connection now if the lazy strategy has not
// made it yet.
func (t *tunnel) connect() bool {
	if t.sc == nil {
		var err error
		a := t.server.Address
		if t.sc, err = t.cc.up.connect(nil, dialSpec{scheme: "tcp", host: a.Host, port: a.Port}, t.cfg); err != nil {
			return false
		}
	}
	return true
}

// passThrough relays the tunnel untouched (ignore_hosts, a hello we cannot
// read): no flow, as in mitmproxy.
func (t *tunnel) passThrough(st *stream) {
	if t.connect() {
		relay(st, t.sc.st, &t.cc.s.bodies)
		t.cc.up.closeServer(t.sc)
	}
}

// isTCPHost reports whether tcp_hosts makes the tunnel a TCP flow whatever
// it carries (HTTP included), matching "host:port", the server's address
// once connected, and "sni:port" once the ClientHello is read.
func (t *tunnel) isTCPHost(sni string) bool {
	hosts := t.cfg.TCPHosts
	if len(hosts) == 0 {
		return false
	}
	forms := []string{t.server.Address.String()}
	if sni != "" {
		forms = append(forms, net.JoinHostPort(sni, strconv.Itoa(t.server.Address.Port)))
	}
	if t.sc != nil && t.sc.server.Peername.Host != "" {
		forms = append(forms, t.sc.server.Peername.String())
	}
	return hosts.Match(forms...)
}
