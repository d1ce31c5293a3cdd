package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/tlshello"
	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// clientHello is the start of every TLS layer toward a client: it reads
// the ClientHello the stream holds and asks the addons (tls_clienthello)
// whether to intercept, the server's handshake first when serverFirst. A
// connection that is not intercepted (no ClientHello that parses, or
// ignored by an addon) is passed through, and hello is nil; otherwise the
// client is recorded as TLS. server is the server the tunnel goes to.
func (cc *clientConn) clientHello(st *stream, tun *tunnel, serverFirst bool) (hello *tlshello.Hello, chd *addon.ClientHelloData, server *flow.Server) {
	hello, err := tlshello.Peek(st.r)
	if err != nil {
		cc.log().Info(fmt.Sprintf("Cannot parse the TLS ClientHello (%v); passing the connection through.", err))
		tun.passThrough(st)
		return nil, nil, nil
	}
	server = tun.server
	if tun.sc != nil {
		server = tun.sc.server
	}
	chd = &addon.ClientHelloData{
		Client: cc.client, Server: server, SNI: hello.SNI, ALPNProtocols: hello.ALPN,
		EstablishServerTLSFirst: serverFirst,
	}
	debug := tun.cfg.Debug
	if debug {
		cc.log().Debug(fmt.Sprintf("TLS ClientHello: sni %q, alpn %q", hello.SNI, hello.ALPN))
	}
	cc.s.m.TLSClientHello(chd)
	if chd.IgnoreConnection {
		if debug {
			cc.log().Debug("TLS connection passed through without interception (ignore_hosts, allow_hosts or an addon)")
		}
		tun.passThrough(st)
		return nil, nil, nil
	}
	cc.client.TLS = true
	cc.client.SNI = hello.SNI
	cc.client.ALPNOffers = hello.ALPN
	return hello, chd, server
}

// interceptTLS is the TLS layer of a tunnel whose client sent a ClientHello:
// the tls_clienthello hook decides whether to intercept; the server's TLS
// comes first when it is connected already (its certificate and ALPN are
// then mirrored), then the client's handshake, with a certificate from our
// CA. The decrypted stream goes to the next layer: HTTP/2 or HTTP/1 as
// ALPN says, or a TCP flow when it carries no HTTP. The result is
// serveHTTP's (see serveTunnel).
func (cc *clientConn) interceptTLS(st *stream, tun *tunnel) movedTunnel {
	growStack() // before the handshakes deepen the stack
	cfg := tun.cfg
	host, port := tun.server.Address.Host, tun.server.Address.Port
	hello, chd, server := cc.clientHello(st, tun, tun.sc != nil)
	if hello == nil {
		return movedTunnel{}
	}
	var err error

	sni := hello.SNI
	if sni == "" && net.ParseIP(host) == nil {
		sni = host
	}
	t := &target{scheme: "https", host: host, port: port, server: server}
	if tun.sc != nil {
		if err := cc.up.startTLS(tun.sc, sni, hello.ALPN, chd, cfg); err != nil {
			// As mitmproxy: the client still gets its handshake, so that
			// its requests can be answered with the reason.
			cc.log().Info(fmt.Sprintf("Unable to establish TLS connection with server (%v). Trying to establish TLS with client anyway.", err))
			t.err = err
		}
	} else {
		// Lazy: the client's handshake comes first, with a certificate
		// for its SNI alone; the server is connected for the first
		// request that needs it, with the same SNI.
		server.TLS, server.SNI, server.ALPNOffers = true, sni, hello.ALPN
		t.sni, t.alpn = sni, hello.ALPN
	}

	tst, alpn, ok := cc.clientHandshake(st, tun, chd, hello.SNI)
	if !ok {
		cc.up.closeServer(tun.sc)
		return movedTunnel{}
	}
	if t.err == nil && tun.isTCPHost(hello.SNI) {
		// tcp_hosts: TLS intercepted, the rest a TCP flow.
		if tun.sc == nil {
			d := dialSpec{scheme: "https", host: host, port: port, sni: sni, alpn: hello.ALPN}
			if tun.sc, err = cc.up.connect(nil, d, cfg); err != nil {
				return movedTunnel{}
			}
		}
		cc.relayTCP(tst, tun.sc)
		return movedTunnel{}
	}
	kind := layerHTTP1
	switch {
	case alpn == "h2" && cfg.HTTP2:
		kind = layerHTTP2
	case tun.sc != nil && t.err == nil && alpn != "http/1.1":
		// The client did not say it speaks HTTP: the first bytes from
		// either side decide, as for a plain tunnel. A connection that
		// ends before either side says anything counts as HTTP, which
		// then ends it.
		kind = cc.decryptedLayer(tst, tun.sc, cfg)
	}
	if kind == layerTCP {
		// Not HTTP inside the TLS (IMAPS, MQTT over TLS...): a TCP flow
		// of the decrypted stream, as in mitmproxy.
		cc.relayTCP(tst, tun.sc)
		return movedTunnel{}
	}
	switch {
	case tun.sc == nil:
	case t.err != nil:
		cc.up.closeServer(tun.sc)
	default:
		tun.sc.key = upstreamKey{"https", host, port}
		cc.up.adopt(tun.sc, cfg)
	}
	return cc.serveHTTP(kind, tst, t)
}

// decryptedLayer decides what an intercepted TLS connection whose client
// did not ask for HTTP in ALPN carries: a server that greets first (IMAPS,
// POP3S) or a client whose first bytes are no HTTP request make it a TCP
// flow, unless rawtcp is off.
func (cc *clientConn) decryptedLayer(st *stream, sc *serverConn, cfg *Config) layerKind {
	head, serverFirst, err := waitFirstBytes(st, sc, cfg)
	switch {
	case err != nil, !cfg.RawTCP:
		return layerHTTP1
	case serverFirst:
		if cfg.Debug {
			cc.log().Debug("the server spoke first inside TLS: relaying the decrypted stream")
		}
		return layerTCP
	}
	return cc.classify(st, head, cfg, false)
}

// clientHandshake runs the TLS handshake with the client (tls_start_client
// gives its configuration) and returns the decrypted stream and the ALPN
// protocol agreed on. It logs and fires tls_failed_client when it fails.
func (cc *clientConn) clientHandshake(st *stream, tun *tunnel, chd *addon.ClientHelloData, sni string) (*stream, string, bool) {
	m := cc.s.m
	server := tun.server
	if tun.sc != nil {
		server = tun.sc.server
	}
	cd := &addon.TLSData{Client: cc.client, Server: server, IsClient: true, ClientHello: chd}
	m.TLSStartClient(cd)
	if cd.Config == nil {
		cc.log().Error("No TLS configuration for the client connection (is the tlsconfig addon loaded?)")
		return nil, "", false
	}
	cfg := cd.Config.Clone()
	recordResumed := recordMitmCert(cfg, cc.client)
	raw := newCoalescingConn(st.conn, cc.s.writeBufs)
	tconn := tls.Server(st.handOff(raw), cfg)
	ctx, done := cc.up.stepCtx(tun.cfg.ConnectTimeout)
	err := tconn.HandshakeContext(ctx)
	done()
	if err != nil {
		cd.Err = err
		name := sni
		if name == "" {
			name = server.Address.Host
		}
		cc.log().Warn(fmt.Sprintf("Client TLS handshake failed. The client does not trust the proxy's certificate for %s (%v). "+
			"Install the mitmproxy CA certificate in the client (browse to http://mitm.it/ through the proxy), "+
			"or the client pins its certificates: add the host to ignore_hosts to pass it through.", name, clientTLSErrorText(err)))
		m.TLSFailedClient(cd)
		return nil, "", false
	}
	state := tconn.ConnectionState()
	if state.DidResume {
		recordResumed()
	}
	cc.client.TimestampTLSSetup = nowSeconds()
	cc.client.TLSVersion = tlsVersionName(state.Version)
	cc.client.Cipher = tlsnames.CipherName(state.CipherSuite) // as mitmproxy (OpenSSL) names it
	cc.client.ALPN = state.NegotiatedProtocol
	if tun.cfg.Debug {
		cc.log().Debug(fmt.Sprintf("TLS with the client established: %s, %s, alpn %q, resumed %v", cc.client.TLSVersion, cc.client.Cipher, state.NegotiatedProtocol, state.DidResume))
	}
	// The client's own certificates, when a tls_start_client hook asked
	// for them (request_client_cert).
	for _, c := range state.PeerCertificates {
		cc.client.CertificateList = append(cc.client.CertificateList, c.Raw)
	}
	m.TLSEstablishedClient(cd)
	return tlsStream(tconn, raw, st, tconn), state.NegotiatedProtocol, true
}

// recordMitmCert makes cfg record the certificate we present to the client
// as its mitmcert, as mitmproxy does. A resumed handshake presents none and
// never asks GetCertificate: the returned function then records the one the
// client was shown for the same hello, which is the one it resumes with.
func recordMitmCert(cfg *tls.Config, client *flow.Client) (recordResumed func()) {
	get := cfg.GetCertificate
	if get == nil {
		return func() {}
	}
	record := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(h)
		if err == nil && c != nil && len(c.Certificate) > 0 {
			client.MitmCert = c.Certificate[0]
		}
		return c, err
	}
	cfg.GetCertificate = record
	var hello *tls.ClientHelloInfo
	next := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = h
		if next != nil {
			return next(h)
		}
		return nil, nil
	}
	return func() {
		if hello != nil && client.MitmCert == nil {
			record(hello)
		}
	}
}

// describeTLSError explains why a server's certificate was refused.
func describeTLSError(addr string, err error) string {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("TLS verification of %s failed: certificate name mismatch (%s)", addr, hostErr.Error())
	case errors.As(err, &authErr):
		return fmt.Sprintf("TLS verification of %s failed: certificate signed by unknown authority (use --ssl-insecure / -k to skip verification, or ssl_verify_upstream_trusted_ca)", addr)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Sprintf("TLS verification of %s failed: certificate has expired or is not yet valid (%s)", addr, invalid.Error())
	case errors.As(err, &invalid):
		return fmt.Sprintf("TLS verification of %s failed: %s", addr, invalid.Error())
	}
	return fmt.Sprintf("TLS handshake with %s failed: %s", addr, tlsErrorText(err))
}

func tlsErrorText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "remote error: ")
	return s
}

// clientTLSErrorText explains why a client's handshake failed. OpenSSL
// clients (curl, Python) that reject the certificate send their alert in a
// way crypto/tls cannot decrypt, and it reports "bad record MAC": said as
// it is, that reads like data corruption.
func clientTLSErrorText(err error) string {
	s := tlsErrorText(err)
	if strings.Contains(s, "bad record MAC") {
		return "the client aborted the handshake after our certificate; " + s
	}
	return s
}

// growStack grows the goroutine's stack, in one step, to what the two
// handshakes below need (crypto/tls with ML-KEM key shares runs 20-30
// frames deep), while the stack is still shallow. Grown on demand instead,
// the stack of a new connection's goroutine (which starts small) was
// copied two or three times in the middle of the handshakes, each copy
// walking every frame on it to adjust pointers. Measured with the real
// mitmdump under callgrind (a new HTTPS connection per request, GOMAXPROCS
// 1): 6.977 M -> 6.961 M instructions per connection with a 16 KiB frame;
// 32 KiB saved no more, 8 KiB nothing. The stack reaches this size in the
// handshake anyway, so it costs no memory.
//
//go:noinline
func growStack() byte {
	var frame [16 << 10]byte
	return keepFrame(frame[:])
}

// keepFrame uses growStack's frame, so that the compiler keeps it.
//
//go:noinline
func keepFrame(b []byte) byte { return b[len(b)-1] }
