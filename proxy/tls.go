package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/tlshello"
	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// bufferedConn reads through a bufio.Reader that may already hold bytes
// peeked from the connection (the ClientHello); once those are read, it
// reads the connection directly, saving crypto/tls a copy.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() == 0 {
		return c.Conn.Read(p)
	}
	return c.r.Read(p)
}

// httpStarts are the first four bytes of HTTP/1 requests.
var httpStarts = []string{"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "TRAC"}

// looksLikeHTTP reports whether a tunnel starts with an HTTP/1 request.
func looksLikeHTTP(b []byte) bool {
	for _, m := range httpStarts {
		if strings.HasPrefix(string(b), m) {
			return true
		}
	}
	return false
}

// mayBecomeHTTP reports whether b, shorter than four bytes, is the start
// of an HTTP/1 request, so that more of it is worth waiting for.
func mayBecomeHTTP(b []byte) bool {
	for _, m := range httpStarts {
		if len(b) < len(m) && strings.HasPrefix(m, string(b)) {
			return true
		}
	}
	return false
}

// lazyTLS is what the client's TLS said about a server not connected yet.
type lazyTLS struct {
	host string
	port int
	sni  string
}

// interceptTunnel takes over a CONNECT tunnel after the 200: TLS is
// intercepted (unless an addon ignores the connection: then it is relayed
// untouched), plain HTTP is served as HTTP, anything else (or anything to a
// tcp_hosts host) is a TCP flow. sc is the server connection,
// nil under the lazy connection strategy: server describes the server then,
// and the connection is made once something needs it.
func (cc *clientConn) interceptTunnel(f *flow.HTTPFlow, sc *serverConn, server *flow.Server) {
	m := cc.s.m
	host, port := server.Address.Host, server.Address.Port
	// connect makes the server connection now if the lazy strategy has
	// not made it yet.
	connect := func() bool {
		if sc == nil {
			var err error
			if sc, err = cc.connectUpstream(f, "tcp", host, port, cc.s.Config()); err != nil {
				return false
			}
		}
		return true
	}
	// passThrough relays the tunnel untouched (ignore_hosts, a hello we
	// cannot read): no flow, as in mitmproxy.
	passThrough := func() {
		if connect() {
			relay(cc.br, cc.stream, sc.br, sc.conn, &cc.s.bodies)
			cc.closeServer(sc)
		}
	}
	// asTCP relays a tunnel that is neither TLS nor HTTP as a TCP flow.
	asTCP := func() {
		if connect() {
			cc.relayTCP(cc.br, cc.stream, sc)
		}
	}
	head, serverFirst, err := cc.tunnelStart(sc)
	if err != nil {
		cc.closeServer(sc)
		return
	}
	switch {
	case serverFirst:
		if cc.debug() {
			cc.log.Debug("the server spoke first: relaying the tunnel as a TCP flow")
		}
		asTCP()
		return
	case tlshello.LooksLikeTLS(head):
	case cc.isTCPHost(server, sc, ""):
		asTCP()
		return
	case looksLikeHTTP(head) || !cc.s.Config().RawTCP:
		if sc != nil {
			server = sc.server
			sc.key = upstreamKey{"http", host, port}
			cc.keepUpstream(sc, cc.s.Config().MaxUpstreamPerClient)
		}
		cc.httpLoop(&tunnel{scheme: "http", host: host, port: port, server: server})
		return
	default:
		cc.warnHTTP2(head)
		asTCP()
		return
	}
	hello, err := tlshello.Peek(cc.br)
	if err != nil {
		cc.log.Info(fmt.Sprintf("Cannot parse the TLS ClientHello (%v); passing the connection through.", err))
		passThrough()
		return
	}
	if sc != nil {
		server = sc.server
	}
	chd := &addon.ClientHelloData{
		Client: cc.client, Server: server, SNI: hello.SNI, ALPNProtocols: hello.ALPN,
		EstablishServerTLSFirst: sc != nil,
	}
	if cc.debug() {
		cc.log.Debug(fmt.Sprintf("TLS ClientHello: sni %q, alpn %q", hello.SNI, hello.ALPN))
	}
	m.TLSClientHello(chd)
	if chd.IgnoreConnection {
		if cc.debug() {
			cc.log.Debug("TLS connection passed through without interception (ignore_hosts, allow_hosts or an addon)")
		}
		passThrough()
		return
	}
	cc.client.TLS = true
	cc.client.SNI = hello.SNI
	cc.client.ALPNOffers = hello.ALPN

	sni := hello.SNI
	if sni == "" && net.ParseIP(host) == nil {
		sni = host
	}
	var upstreamErr error
	if sc != nil {
		upstreamErr = cc.startServerTLS(sc, sni, hello.ALPN, chd)
		if upstreamErr != nil {
			// As mitmproxy: the client still gets its handshake, so that
			// its requests can be answered with the reason.
			cc.log.Info(fmt.Sprintf("Unable to establish TLS connection with server (%v). Trying to establish TLS with client anyway.", upstreamErr))
		}
	} else {
		// Lazy: the client's handshake comes first, with a certificate
		// for its SNI alone; the server is connected for the first
		// request that needs it, with the same SNI.
		server.TLS, server.SNI, server.ALPNOffers = true, sni, hello.ALPN
		cc.lazyTLS = &lazyTLS{host: host, port: port, sni: sni}
	}

	cd := &addon.TLSData{Client: cc.client, Server: server, IsClient: true, ClientHello: chd}
	m.TLSStartClient(cd)
	if cd.Config == nil {
		cc.log.Error("No TLS configuration for the client connection (is the tlsconfig addon loaded?)")
		cc.closeServer(sc)
		return
	}
	cfg := cd.Config.Clone()
	recordResumed := recordMitmCert(cfg, cc.client)
	raw := newCoalescingConn(cc.conn, cc.s.writeBufs)
	tconn := tls.Server(&bufferedConn{Conn: raw, r: cc.br}, cfg)
	ctx, cancel := context.WithTimeout(cc.ctx(), cc.s.Config().ConnectTimeout)
	err = tconn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		cd.Err = err
		name := hello.SNI
		if name == "" {
			name = host
		}
		cc.log.Warn(fmt.Sprintf("Client TLS handshake failed. The client does not trust the proxy's certificate for %s (%v). "+
			"Install the mitmproxy CA certificate in the client (browse to http://mitm.it/ through the proxy), "+
			"or the client pins its certificates: add the host to ignore_hosts to pass it through.", name, clientTLSErrorText(err)))
		m.TLSFailedClient(cd)
		cc.closeServer(sc)
		return
	}
	st := tconn.ConnectionState()
	if st.DidResume {
		recordResumed()
	}
	cc.client.TimestampTLSSetup = nowSeconds()
	cc.client.TLSVersion = tlsVersionName(st.Version)
	cc.client.Cipher = tlsnames.CipherName(st.CipherSuite) // as mitmproxy (OpenSSL) names it
	cc.client.ALPN = st.NegotiatedProtocol
	if cc.debug() {
		cc.log.Debug(fmt.Sprintf("TLS with the client established: %s, %s, alpn %q, resumed %v", cc.client.TLSVersion, cc.client.Cipher, st.NegotiatedProtocol, st.DidResume))
	}
	// The client's own certificates, when a tls_start_client hook asked
	// for them (request_client_cert).
	for _, c := range st.PeerCertificates {
		cc.client.CertificateList = append(cc.client.CertificateList, c.Raw)
	}
	m.TLSEstablishedClient(cd)

	cc.stream = tconn
	tw := &tlsWriter{conn: tconn, raw: raw}
	cc.br = bufio.NewReaderSize(tconn, bufSize)
	cc.bw = bufio.NewWriterSize(tw, bufSize)
	cc.direct = tw
	if upstreamErr == nil && cc.isTCPHost(server, sc, hello.SNI) {
		// tcp_hosts: TLS intercepted, the rest a TCP flow.
		if sc == nil {
			if sc, upstreamErr = cc.connectUpstream(f, "https", host, port, cc.s.Config()); upstreamErr != nil {
				return
			}
		}
		cc.relayTCP(cc.br, cc.stream, sc)
		return
	}
	if sc != nil && upstreamErr == nil && st.NegotiatedProtocol != "http/1.1" && !cc.decryptedHTTP(sc) {
		// Not HTTP inside the TLS (IMAPS, MQTT over TLS...): a TCP flow
		// of the decrypted stream, as in mitmproxy.
		cc.relayTCP(cc.br, cc.stream, sc)
		return
	}
	tun := &tunnel{scheme: "https", host: host, port: port, server: server}
	switch {
	case sc == nil:
	case upstreamErr != nil:
		cc.closeServer(sc)
		cc.tunnelErr = upstreamErr
	default:
		sc.key = upstreamKey{"https", host, port}
		cc.keepUpstream(sc, cc.s.Config().MaxUpstreamPerClient)
	}
	cc.httpLoop(tun)
}

// isTCPHost reports whether tcp_hosts makes the tunnel to server a TCP flow
// whatever it carries (HTTP included), matching "host:port", the server's
// address once connected, and "sni:port" once the ClientHello is read.
func (cc *clientConn) isTCPHost(server *flow.Server, sc *serverConn, sni string) bool {
	hosts := cc.s.Config().TCPHosts
	if len(hosts) == 0 {
		return false
	}
	forms := []string{server.Address.String()}
	if sni != "" {
		forms = append(forms, net.JoinHostPort(sni, strconv.Itoa(server.Address.Port)))
	}
	if sc != nil && sc.server.Peername.Host != "" {
		forms = append(forms, sc.server.Peername.String())
	}
	return hosts.Match(forms...)
}

// decryptedHTTP reports whether an intercepted TLS connection whose client
// did not ask for HTTP in ALPN carries HTTP. As for a plain tunnel (see
// tunnelStart), the first bytes from either side decide: a server that
// greets first (IMAPS, POP3S) or a client whose first bytes are no HTTP
// request make it a relay, unless rawtcp is off. A connection that ends
// before either side says anything counts as HTTP, which then ends it.
func (cc *clientConn) decryptedHTTP(sc *serverConn) bool {
	head, serverFirst, err := cc.tunnelStart(sc)
	switch {
	case err != nil, !cc.s.Config().RawTCP:
		return true
	case serverFirst:
		if cc.debug() {
			cc.log.Debug("the server spoke first inside TLS: relaying the decrypted stream")
		}
		return false
	}
	if looksLikeHTTP(head) {
		return true
	}
	cc.warnHTTP2(head)
	return false
}

// warnHTTP2 says so when a tunnel that becomes a TCP flow starts with the
// HTTP/2 connection preface: mitmgo speaks HTTP/1 only for now, so such a
// client (prior knowledge, or h2 chosen without ALPN) gets its bytes
// relayed, not HTTP flows; without this line the flow's binary messages
// would be all the user sees.
func (cc *clientConn) warnHTTP2(head []byte) {
	if strings.HasPrefix(string(head), "PRI * HTTP/2.0") {
		cc.log.Warn("The client speaks HTTP/2, which mitmgo does not intercept yet: relaying its bytes as a TCP flow.")
	}
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

// startServerTLS runs the TLS handshake with the server, asking the addons
// (tls_start_server) for its configuration.
func (cc *clientConn) startServerTLS(sc *serverConn, sni string, alpn []string, chd *addon.ClientHelloData) error {
	m := cc.s.m
	sc.server.TLS = true
	sc.server.SNI = sni
	sc.server.ALPNOffers = alpn
	sd := &addon.TLSData{Client: cc.client, Server: sc.server, ClientHello: chd}
	m.TLSStartServer(sd)
	if sd.Config == nil {
		return errors.New("no TLS configuration for the server connection (is the tlsconfig addon loaded?)")
	}
	cfg, certWatch := watchClientCert(sd.Config)
	raw := newCoalescingConn(sc.conn, cc.s.writeBufs)
	tconn := tls.Client(raw, cfg)
	ctx, cancel := context.WithTimeout(cc.ctx(), cc.s.Config().ConnectTimeout)
	err := tconn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		sd.Err = err
		// TLS 1.2: a server that wanted a client certificate fails the
		// handshake with a generic alert; say what it lacked.
		msg := describeTLSError(sc.server.Address.String(), certWatch.explain(err))
		sc.server.Error = msg
		cc.log.Info("Server TLS handshake failed. " + msg)
		m.TLSFailedServer(sd)
		return errors.New(msg)
	}
	st := tconn.ConnectionState()
	recordServerTLS(sc.server, st)
	if cc.debug() {
		cc.log.Debug(fmt.Sprintf("TLS with the server %s established: %s, %s, alpn %q, resumed %v", sc.server.Address, sc.server.TLSVersion, sc.server.Cipher, st.NegotiatedProtocol, st.DidResume))
	}
	m.TLSEstablishedServer(sd)
	sc.conn = tconn
	if certWatch.asked && !certWatch.sent {
		// TLS 1.3: the server checks the certificate after our side of the
		// handshake is done, and its alert comes with the response.
		sc.br = bufio.NewReaderSize(&clientCertReader{r: tconn, w: certWatch}, bufSize)
	} else {
		sc.br = bufio.NewReaderSize(tconn, bufSize)
	}
	tw := &tlsWriter{conn: tconn, raw: raw}
	sc.bw = bufio.NewWriterSize(tw, bufSize)
	sc.direct = tw
	return nil
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
