package proxy

import (
	"fmt"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/tlshello"
)

// Reverse mode ("reverse:https://example.com"): every connection is a
// tunnel whose server is fixed by the spec, as mitmproxy 12's ReverseProxy
// layer and its next-layer rules for it:
//
//   - http, https: HTTP flows, whatever the requests say, to the target;
//     https speaks TLS to it (SNI: the target's name, unless
//     keep_host_header). The Host header (HTTP/2: :authority) names the
//     target unless keep_host_header.
//   - tcp, tls: a TCP flow to the target; tls speaks TLS to it.
//
// With any of them, a client that starts with a TLS ClientHello gets TLS,
// with a certificate for the target's name; HTTP/2 where the client offers
// it. The server is connected before the client's first bytes (unless
// connection_strategy is lazy), as for a CONNECT tunnel, whose layers do
// the rest (serveHTTP, relayTCP, clientHandshake).

// serveReverse is the first layer of reverse mode.
func (cc *clientConn) serveReverse(st *stream) {
	m, cfg := cc.mode, cc.s.Config()
	host, port := m.Address.Host, m.Address.Port
	tun := &tunnel{cc: cc, server: flow.NewServer(flow.Address{Host: host, Port: port}), cfg: cfg}
	cc.setState(stateBusy)
	if !cfg.Lazy {
		sc, err := cc.up.connect(nil, dialSpec{scheme: "tcp", host: host, port: port}, cfg)
		if err != nil {
			// As mitmproxy: the client's connection is closed.
			return
		}
		tun.sc = sc
	}
	_, serverFirst, err := waitFirstBytes(st, tun.sc, cfg)
	if err != nil {
		cc.up.closeServer(tun.sc)
		return
	}
	if !serverFirst {
		if head, _ := st.r.Peek(3); tlshello.LooksLikeTLS(head) {
			cc.reverseTLS(st, tun)
			return
		}
	}
	serverTLS := m.Scheme == "https" || m.Scheme == "tls"
	switch m.Scheme {
	case "tcp", "tls":
		if serverTLS && tun.sc != nil {
			if err := cc.up.startTLS(tun.sc, cc.reverseSNI(cfg, ""), nil, nil, cfg); err != nil {
				cc.up.closeServer(tun.sc)
				return
			}
		}
		if tun.sc == nil {
			d := dialSpec{scheme: "tcp", host: host, port: port}
			if serverTLS {
				d = dialSpec{scheme: "https", host: host, port: port, sni: cc.reverseSNI(cfg, "")}
			}
			if tun.sc, err = cc.up.connect(nil, d, cfg); err != nil {
				return
			}
		}
		cc.relayTCP(st, tun.sc)
	default: // http, https
		kind := layerHTTP1
		if h, _ := st.r.Peek(st.r.Buffered()); !serverFirst && cc.classify(st, h, cfg, false) == layerHTTP2 {
			kind = layerHTTP2
		}
		alpn := []string{"http/1.1"}
		if kind == layerHTTP2 {
			alpn = []string{"h2", "http/1.1"}
		}
		t := &target{scheme: "http", host: host, port: port, server: tun.server}
		if serverTLS {
			t.scheme = "https"
			sni := cc.reverseSNI(cfg, "")
			if tun.sc != nil {
				if err := cc.up.startTLS(tun.sc, sni, alpn, nil, cfg); err != nil {
					t.err = err
				}
			} else {
				tun.server.TLS, tun.server.SNI, tun.server.ALPNOffers = true, sni, alpn
				t.sni, t.alpn = sni, alpn
			}
		}
		cc.reverseHTTP(kind, st, tun, t)
	}
}

// reverseSNI is the server name sent to a reverse proxy's TLS server: the
// target's, or with keep_host_header the client's (its SNI, else the
// target's name).
func (cc *clientConn) reverseSNI(cfg *Config, clientSNI string) string {
	if cfg.KeepHostHeader && clientSNI != "" {
		return clientSNI
	}
	return cc.mode.Address.Host
}

// reverseHTTP serves the HTTP layer of a reverse proxy to t; the tunnel's
// server connection, when made, carries its flows.
func (cc *clientConn) reverseHTTP(kind layerKind, st *stream, tun *tunnel, t *target) {
	switch {
	case tun.sc == nil:
	case t.err != nil:
		cc.up.closeServer(tun.sc)
	default:
		t.server = tun.sc.server
		tun.sc.key = upstreamKey{t.scheme, t.host, t.port}
		cc.up.adopt(tun.sc, tun.cfg)
	}
	cc.serveHTTP(kind, st, t)
}

// reverseTLS is the TLS layer of a reverse proxy whose client sent a
// ClientHello: as interceptTLS for a CONNECT tunnel, but the server speaks
// TLS only when the spec says so (https, tls), with the target's name, and
// the spec, not the bytes, says what the decrypted stream carries.
func (cc *clientConn) reverseTLS(st *stream, tun *tunnel) {
	cfg, spec := tun.cfg, cc.mode
	host, port := spec.Address.Host, spec.Address.Port
	serverTLS := spec.Scheme == "https" || spec.Scheme == "tls"
	hello, chd, server := cc.clientHello(st, tun, tun.sc != nil && serverTLS)
	if hello == nil {
		return
	}
	var err error
	isHTTP := spec.Scheme == "http" || spec.Scheme == "https"
	// The client's ALPN offers go to the server as they are (an HTTP
	// client that made none gets HTTP/1.1).
	alpn := hello.ALPN
	if isHTTP && len(alpn) == 0 {
		alpn = []string{"http/1.1"}
	}
	t := &target{scheme: "http", host: host, port: port, server: server}
	if serverTLS {
		t.scheme = "https"
		sni := cc.reverseSNI(cfg, hello.SNI)
		if tun.sc != nil {
			if err := cc.up.startTLS(tun.sc, sni, alpn, chd, cfg); err != nil {
				cc.log().Info(fmt.Sprintf("Unable to establish TLS connection with server (%v). Trying to establish TLS with client anyway.", err))
				t.err = err
			}
		} else {
			server.TLS, server.SNI, server.ALPNOffers = true, sni, alpn
			t.sni, t.alpn = sni, alpn
		}
	}
	tst, negotiated, ok := cc.clientHandshake(st, tun, chd, hello.SNI)
	if !ok {
		cc.up.closeServer(tun.sc)
		return
	}
	if !isHTTP {
		if t.err != nil {
			cc.up.closeServer(tun.sc)
			return
		}
		if tun.sc == nil {
			d := dialSpec{scheme: "tcp", host: host, port: port}
			if serverTLS {
				d = dialSpec{scheme: "https", host: host, port: port, sni: t.sni, alpn: t.alpn}
			}
			if tun.sc, err = cc.up.connect(nil, d, cfg); err != nil {
				return
			}
		}
		cc.relayTCP(tst, tun.sc)
		return
	}
	kind := layerHTTP1
	if negotiated == "h2" && cfg.HTTP2 {
		kind = layerHTTP2
	}
	cc.reverseHTTP(kind, tst, tun, t)
}

// reverseRequest sends a reverse proxy's request to its target whatever
// its URL says, and (unless keep_host_header) names the target in its Host
// header, as mitmproxy: "example.com", with the port when it is not the
// scheme's default.
func (cc *clientConn) reverseRequest(f *flow.HTTPFlow, t *target, cfg *Config) {
	if t == nil {
		return
	}
	req := f.Request
	req.Scheme, req.Host, req.Port = t.scheme, t.host, t.port
	if !req.IsHTTP2() {
		// Origin form for the server, as the request came in a tunnel.
		req.Authority = ""
	}
	if cfg.KeepHostHeader {
		return
	}
	hp := hostWithDefaultPort(t.scheme, t.host, t.port)
	if req.IsHTTP2() {
		req.Authority = hp
		if req.Headers.Has("host") {
			req.Headers.Set("host", hp)
		}
		return
	}
	req.Headers.Set("Host", hp)
}
