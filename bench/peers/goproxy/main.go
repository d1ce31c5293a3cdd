// Command goproxy-peer is github.com/elazarl/goproxy set up as an
// intercepting proxy, for mitmbench's -compare-goproxy: every CONNECT is
// intercepted (goproxy.AlwaysMitm) with leaves signed by a CA kept in
// -confdir as mitmproxy keeps its own (mitmproxy-ca.pem, the key and the
// certificate; mitmproxy-ca-cert.pem, the certificate the harness trusts),
// and leaves are cached per host, as a user who cares for speed sets it
// up (goproxy's own documentation recommends CertStore). Upstream
// certificates are verified against -upstream-ca, as mitmgo and mitmproxy
// verify the origin in the harness.
//
// It lives in a Go module of its own, so that the main module does not
// depend on goproxy.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
	"github.com/mitmgo/mitmgo/bench/peers/peerca"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	confdir := flag.String("confdir", "", "directory of the CA (created there when missing)")
	upstreamCA := flag.String("upstream-ca", "", "PEM certificates to trust upstream (besides the system's)")
	insecure := flag.Bool("insecure", false, "do not verify upstream certificates")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()
	if err := run(*addr, *confdir, *upstreamCA, *insecure, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "goproxy-peer:", err)
		os.Exit(1)
	}
}

func run(addr, confdir, upstreamCA string, insecure, verbose bool) error {
	if confdir == "" {
		return errors.New("-confdir is required")
	}
	ca, err := peerca.LoadOrCreate(confdir)
	if err != nil {
		return err
	}
	clientTLS := &tls.Config{InsecureSkipVerify: insecure}
	if upstreamCA != "" && !insecure {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		data, err := os.ReadFile(filepath.Clean(upstreamCA))
		if err != nil {
			return fmt.Errorf("-upstream-ca: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("-upstream-ca: no PEM certificate in %s", upstreamCA)
		}
		clientTLS.RootCAs = pool
	}
	p := goproxy.NewProxyHttpServer()
	p.Verbose = verbose
	if !verbose {
		p.Logger = log.New(io.Discard, "", 0)
	}
	// Like a browser's pool: enough idle upstream connections for every
	// client connection (http.Transport keeps 2 per host by default, which
	// would make most requests open a new upstream connection).
	p.Tr = &http.Transport{
		TLSClientConfig:     clientTLS,
		MaxIdleConnsPerHost: 1024,
		MaxIdleConns:        4096,
		IdleConnTimeout:     90 * time.Second,
	}
	p.CertStore = &certCache{certs: map[string]*tls.Certificate{}}
	mitm := &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: goproxy.TLSConfigFromCA(ca)}
	p.OnRequest().HandleConnectFunc(func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		return mitm, host
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return (&http.Server{Handler: p, ReadHeaderTimeout: time.Minute}).Serve(ln)
}

// certCache keeps one leaf per host for the proxy's life
// (goproxy.CertStorage).
type certCache struct {
	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func (c *certCache) Fetch(host string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, ok := c.certs[host]; ok {
		return cert, nil
	}
	cert, err := gen()
	if err != nil {
		return nil, err
	}
	c.certs[host] = cert
	return cert, nil
}
