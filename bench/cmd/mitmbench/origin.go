package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Origin kinds (-origin): which server answers the requests.
const (
	// originRaw is the harness's own minimal HTTP/1.1 server: it answers
	// in microseconds, so that as much as possible of the measured cost
	// is the proxy's.
	originRaw = "raw"
	// originNetHTTP is a plain net/http server, as a typical Go origin
	// is; slower than raw, which makes direct slower and every proxy's
	// ratio kinder, closer to figures measured against such an origin.
	originNetHTTP = "nethttp"
)

// originKinds are the kinds -origin accepts.
var originKinds = []string{originRaw, originNetHTTP}

// originDescriptions name the kinds in the report.
var originDescriptions = map[string]string{
	originRaw:     "the harness's own HTTP/1.1 server, and its own HTTP/2 server for h2",
	originNetHTTP: "a plain Go net/http server, with HTTP/2 for h2",
}

// origin is an HTTP/1.1 server on loopback: keep-alive, and a fixed body
// per path, so that the proxy, not the origin, is what the benchmark
// measures. It listens three times: plain HTTP on ln, HTTPS on tlsLn with a
// self-signed certificate for 127.0.0.1 made at start (ALPN http/1.1 only),
// and HTTPS on h2Ln with the same certificate, offering ALPN h2 and
// http/1.1 (see h2origin.go). Its kind says what serves: the harness's own
// minimal servers (raw) or net/http (nethttp).
type origin struct {
	kind      string
	ln        net.Listener
	tlsLn     net.Listener
	h2Ln      net.Listener
	tlsConf   *tls.Config
	h2Conf    *tls.Config
	cert      *x509.Certificate
	certPEM   []byte
	responses map[string][]byte
	// bodies are the bodies alone, by path, for HTTP/2.
	bodies map[string][]byte
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	// servers are the net/http servers of a nethttp origin (plain, TLS).
	servers []*http.Server
	// handshakes counts completed TLS handshakes, so that tests can
	// check that a new connection per request costs one each time;
	// resumed counts those that resumed an earlier session.
	handshakes atomic.Int64
	resumed    atomic.Int64
	// alpnH2, alpnH1 and alpnNone count the handshakes by the protocol
	// agreed on in ALPN (see alpnCounts).
	alpnH2, alpnH1, alpnNone atomic.Int64
}

// originKeyTypes are the key types -origin-key accepts.
var originKeyTypes = []string{"rsa2048", "p256"}

// bodySizes are the bodies the origin serves, by path.
var bodySizes = map[string]int{"/small": 200, "/large": 64 << 10}

// startOrigin starts both listeners with the server of kind (one of
// originKinds); keyType (one of originKeyTypes) is the key of the origin's
// certificate.
func startOrigin(kind, keyType string) (*origin, error) {
	if !slices.Contains(originKinds, kind) {
		return nil, fmt.Errorf("unknown origin %q (use %s)", kind, strings.Join(originKinds, " or "))
	}
	cert, leaf, certPEM, err := selfSignedCert(keyType)
	if err != nil {
		return nil, fmt.Errorf("origin certificate: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("origin: %w", err)
	}
	h2Ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		tlsLn.Close()
		return nil, fmt.Errorf("origin: %w", err)
	}
	o := &origin{
		kind: kind, ln: ln, tlsLn: tlsLn, h2Ln: h2Ln, cert: leaf, certPEM: certPEM,
		responses: map[string][]byte{}, bodies: map[string][]byte{}, conns: map[net.Conn]struct{}{},
		tlsConf: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			// Session tickets are issued, as by any real origin: the
			// harness's own client never resumes (every direct handshake
			// is a full one and pays for the ticket), while a proxy that
			// keeps sessions with servers, as browsers do, may resume.
		},
	}
	// VerifyConnection runs once per completed handshake on the server
	// side too, full or resumed, for the raw and the net/http server alike.
	o.tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
		o.handshakes.Add(1)
		if cs.DidResume {
			o.resumed.Add(1)
		}
		o.countALPN(cs.NegotiatedProtocol)
		return nil
	}
	o.h2Conf = o.tlsConf.Clone()
	o.h2Conf.NextProtos = h2Protos
	for path, n := range bodySizes {
		body := bytes.Repeat([]byte("x"), n)
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
		o.responses[path] = append([]byte(head), body...)
		o.bodies[path] = body
	}
	if kind == originNetHTTP {
		o.serveNetHTTP()
		return o, nil
	}
	o.wg.Add(3)
	go o.serve(ln, nil)
	go o.serve(tlsLn, o.tlsConf)
	go o.serve(h2Ln, o.h2Conf)
	return o, nil
}

// serveNetHTTP serves the listeners with ordinary net/http servers: a
// handler that sets the headers and writes the body, as a Go origin would,
// with net/http's defaults otherwise (it adds a Date header). HTTPS stays
// HTTP/1.1 on tlsLn: the listener offers only http/1.1 in ALPN, and
// TLSNextProto is empty, so net/http does not set up HTTP/2. On h2Ln,
// net/http's own HTTP/2 server answers connections that agreed on h2.
func (o *origin) serveNetHTTP() {
	bodies := map[string][]byte{}
	lengths := map[string]string{}
	for path, n := range bodySizes {
		bodies[path] = bytes.Repeat([]byte("x"), n)
		lengths[path] = strconv.Itoa(n)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// r.URL.Path is the path of absolute-form targets too.
		body, ok := bodies[r.URL.Path]
		if !ok {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", lengths[r.URL.Path])
		w.Write(body)
	})
	listeners := []net.Listener{o.ln, tls.NewListener(o.tlsLn, o.tlsConf), tls.NewListener(o.h2Ln, o.h2Conf)}
	for i, ln := range listeners {
		srv := &http.Server{
			Handler: handler,
			// Bounds the TLS handshake and every request's header, so
			// that a stalled client cannot keep a goroutine past close.
			ReadHeaderTimeout: handshakeTimeout,
			TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
			// Clients that hang up mid-handshake (the end of a run) are
			// no news; the load generator counts real errors.
			ErrorLog: log.New(io.Discard, "", 0),
		}
		if i == 2 {
			// nil: net/http configures HTTP/2 itself, for the
			// connections whose handshake agreed on h2.
			srv.TLSNextProto = nil
		}
		o.servers = append(o.servers, srv)
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			srv.Serve(ln)
		}()
	}
}

// openConns is the number of connections the raw origin holds open (all
// listeners), or -1 for the net/http origin, which does not count them.
func (o *origin) openConns() int {
	if o.kind != originRaw {
		return -1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.conns)
}

// addr is the plain HTTP listener's address.
func (o *origin) addr() string { return o.ln.Addr().String() }

// tlsAddr is the HTTPS listener's address.
func (o *origin) tlsAddr() string { return o.tlsLn.Addr().String() }

// handshakeTimeout bounds a TLS handshake with the origin, so that a client
// that stalls cannot keep a goroutine past close.
const handshakeTimeout = 10 * time.Second

// serve accepts connections on ln: plain HTTP/1.1 when conf is nil, else
// TLS with conf, then HTTP/2 when the handshake agreed on h2 and HTTP/1.1
// otherwise.
func (o *origin) serve(ln net.Listener, conf *tls.Config) {
	defer o.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			c.Close()
			return
		}
		o.conns[c] = struct{}{}
		o.mu.Unlock()
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			if conf != nil {
				tc := tls.Server(c, conf)
				c.SetDeadline(time.Now().Add(handshakeTimeout))
				if err := tc.Handshake(); err == nil {
					c.SetDeadline(time.Time{})
					if tc.ConnectionState().NegotiatedProtocol == "h2" {
						o.serveH2(tc)
					} else {
						o.handle(tc)
					}
				}
				c.Close()
			} else {
				o.handle(c)
			}
			o.mu.Lock()
			delete(o.conns, c)
			o.mu.Unlock()
		}()
	}
}

var notFound = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

func (o *origin) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 16<<10)
	w := bufio.NewWriterSize(c, 80<<10)
	for {
		path, closeAfter, err := readRequest(r)
		if err != nil {
			return
		}
		resp, ok := o.responses[path]
		if !ok {
			resp = notFound
		}
		if _, err := w.Write(resp); err != nil {
			return
		}
		// Only flush when no further pipelined request is already waiting.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if closeAfter {
			w.Flush()
			return
		}
	}
}

// readRequest reads one request and returns its path (absolute-form
// targets are reduced to their path), whether the client asked to close,
// and discards any body.
func readRequest(r *bufio.Reader) (path string, closeAfter bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "", false, err
	}
	fields := strings.Fields(string(line))
	if len(fields) != 3 {
		return "", false, errors.New("bad request line")
	}
	path = fields[1]
	if i := strings.Index(path, "://"); i >= 0 {
		if j := strings.IndexByte(path[i+3:], '/'); j >= 0 {
			path = path[i+3+j:]
		} else {
			path = "/"
		}
	}
	closeAfter = fields[2] == "HTTP/1.0"
	length := 0
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return "", false, err
		}
		if len(h) <= 2 && strings.TrimSpace(string(h)) == "" {
			break
		}
		name, value, _ := strings.Cut(string(h), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			length, _ = strconv.Atoi(value)
		case "connection":
			closeAfter = strings.EqualFold(value, "close")
		}
	}
	if length > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
			return "", false, err
		}
	}
	return path, closeAfter, nil
}

func (o *origin) close() {
	if o.servers != nil {
		// Close shuts the listeners and every connection; Serve returns.
		for _, srv := range o.servers {
			srv.Close()
		}
		o.wg.Wait()
		return
	}
	o.mu.Lock()
	o.closed = true
	for c := range o.conns {
		c.Close()
	}
	o.mu.Unlock()
	o.ln.Close()
	o.tlsLn.Close()
	o.h2Ln.Close()
	o.wg.Wait()
}

// selfSignedCert makes the origin's certificate: self-signed, valid for
// 127.0.0.1 and localhost for a day, usable for server authentication. A
// client (or a proxy, with ssl_verify_upstream_trusted_ca) trusts it by
// having this very certificate among its roots.
func selfSignedCert(keyType string) (tls.Certificate, *x509.Certificate, []byte, error) {
	var key crypto.Signer
	var err error
	usage := x509.KeyUsageDigitalSignature
	switch keyType {
	case "rsa2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		usage |= x509.KeyUsageKeyEncipherment
	case "p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unknown key type %q (use %s)", keyType, strings.Join(originKeyTypes, " or "))
	}
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"mitmbench origin"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, certPEM, nil
}
