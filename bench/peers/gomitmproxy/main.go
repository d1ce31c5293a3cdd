// Command gomitmproxy-peer is github.com/lqqyt2423/go-mitmproxy as its
// library sets it up, without addons, for mitmbench's -compare-gomitmproxy:
// it intercepts every CONNECT with leaves signed by the CA it keeps in
// -confdir (mitmproxy's file names: the harness reads
// mitmproxy-ca-cert.pem there).
//
// go-mitmproxy names its leaves after the client's SNI, and sends that SNI
// upstream. A client connecting to an IP address sends none (as the
// harness's, for 127.0.0.1): then the leaf is named -no-sni-host (the
// harness gives the origin's address), and the upstream certificate can
// only go unverified (-insecure; Go's TLS client cannot verify without a
// name), which the harness says in its report.
//
// It lives in a Go module of its own, so that the main module does not
// depend on go-mitmproxy. The Go module proxy serves go-mitmproxy by exact
// version only (its version list answers 403), hence the pinned v1.9.2;
// mitmbench -gomitmproxy-src builds against a checkout instead (a replace
// directive in a copy of this module's go.mod).
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/lqqyt2423/go-mitmproxy/cert"
	"github.com/lqqyt2423/go-mitmproxy/proxy"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	confdir := flag.String("confdir", "", "directory of the CA (created there when missing)")
	upstreamCA := flag.String("upstream-ca", "", "PEM certificates to trust upstream, instead of the system's (Go reads SSL_CERT_FILE)")
	insecure := flag.Bool("insecure", false, "do not verify upstream certificates")
	noSNIHost := flag.String("no-sni-host", "", "name leaves after this host when the client sends no SNI")
	flag.Parse()
	if err := run(*addr, *confdir, *upstreamCA, *noSNIHost, *insecure); err != nil {
		fmt.Fprintln(os.Stderr, "gomitmproxy-peer:", err)
		os.Exit(1)
	}
}

func run(addr, confdir, upstreamCA, noSNIHost string, insecure bool) error {
	if confdir == "" {
		return errors.New("-confdir is required")
	}
	if upstreamCA != "" {
		// Read when the first upstream handshake loads the system's
		// roots.
		if err := os.Setenv("SSL_CERT_FILE", upstreamCA); err != nil {
			return err
		}
	}
	newCA := func() (cert.CA, error) {
		ca, err := cert.NewSelfSignCA(confdir)
		if err != nil {
			return nil, err
		}
		return noSNICA{CA: ca, host: noSNIHost}, nil
	}
	p, err := proxy.NewProxy(&proxy.Options{Addr: addr, SslInsecure: insecure, NewCaFunc: newCA})
	if err != nil {
		return err
	}
	return p.Start()
}

// noSNICA names the leaves of clients without SNI after host.
type noSNICA struct {
	cert.CA
	host string
}

func (c noSNICA) GetCert(commonName string) (*tls.Certificate, error) {
	if commonName == "" && c.host != "" {
		commonName = c.host
	}
	return c.CA.GetCert(commonName)
}
