package proxy

import (
	"errors"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/socks5"
)

// proxyAuthOption is the option that, when set, makes SOCKS5 clients
// authenticate with a user name and password (the proxyauth addon checks
// them in socks5_auth).
const proxyAuthOption = "proxyauth"

// serveSOCKS5 is the first layer of socks5 mode: the SOCKS5 handshake
// (internal/socks5), then the requested destination is a tunnel exactly as
// a CONNECT's (serveTunnel): TLS interception, HTTP/1, HTTP/2 or TCP as
// its first bytes say. As in mitmproxy, with proxyauth set the client must
// authenticate with a user name and password, which socks5_auth judges;
// the server is connected before the client is told it may send
// (connection_strategy eager), and one that cannot be reached is answered
// "host unreachable".
func (cc *clientConn) serveSOCKS5(st *stream) {
	m := cc.s.m
	var auth socks5.Authenticator
	if optString(cc.s.Config().proxyAuth) != "" {
		auth = func(user, password string) bool {
			d := &addon.Socks5AuthData{Client: cc.client, Username: user, Password: password}
			m.Socks5Auth(d)
			return d.Valid
		}
	}
	// Replies go out unbuffered (the stream's writer is empty yet), each
	// before the client's next message is read.
	req, err := socks5.Handshake(st.r, cc.conn, auth)
	if err != nil {
		// mitmproxy's messages; a client gone between two messages is
		// not worth one.
		var closed *socks5.ClosedError
		if !errors.As(err, &closed) || len(closed.Buffered) > 0 {
			cc.log().Info(err.Error())
		}
		return
	}
	if req.Host == "" {
		// An empty domain name would dial this machine.
		cc.log().Info("SOCKS5 request with an empty domain name")
		_, _ = cc.conn.Write(socks5.Reply(socks5.RepHostUnreachable))
		return
	}
	cfg := cc.s.Config()
	server := flow.NewServer(flow.Address{Host: req.Host, Port: req.Port})
	var sc *serverConn
	if !cfg.Lazy {
		if sc, err = cc.up.connect(nil, dialSpec{scheme: "tcp", host: req.Host, port: req.Port}, cfg); err != nil {
			cc.logConnectError(err)
			_, _ = cc.conn.Write(socks5.Reply(socks5.RepHostUnreachable))
			return
		}
	}
	if _, err := cc.conn.Write(socks5.Reply(socks5.RepSucceeded)); err != nil {
		cc.up.closeServer(sc)
		return
	}
	cc.setState(stateBusy)
	cc.serveTunnel(st, sc, server, cfg)
}

// logConnectError logs why the eager server connection of a SOCKS5 or
// transparent client failed, which is all the client learns of it.
// upstream.connect logged a failed dial already; an addon's veto in
// server_connect (the proxy's own address, say) it did not.
func (cc *clientConn) logConnectError(err error) {
	if strings.Contains(err.Error(), "killed before connect") {
		cc.log().Info(err.Error())
	}
}
