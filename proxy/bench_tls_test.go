package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
)

// tlsFastOrigin answers every request on a keep-alive TLS connection with a
// fixed response of bodySize bytes, with Go's test certificate.
func tlsFastOrigin(b *testing.B, bodySize int) (addr string, cert *x509.Certificate) {
	// Borrow httptest's certificate (for 127.0.0.1) and serve it raw.
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert = ts.Certificate()
	tlsCfg := &tls.Config{Certificates: ts.TLS.Certificates, NextProtos: []string{"http/1.1"}}
	ts.Close()
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", bodySize, strings.Repeat("x", bodySize)))
	addr = serveTLS(b, tlsCfg, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if err := skipHead(br); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
	return addr, cert
}

func skipHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
}

// BenchmarkRoundTripTLS is BenchmarkRoundTrip through an intercepted
// CONNECT tunnel: TLS to the client with a minted certificate, TLS to the
// origin, one handshake each before the timer starts.
func BenchmarkRoundTripTLS(b *testing.B) {
	for _, size := range []int{200, 64 << 10} {
		origin, originCert := tlsFastOrigin(b, size)
		b.Run(fmt.Sprintf("Direct/%d", size), func(b *testing.B) {
			roots := x509.NewCertPool()
			roots.AddCert(originCert)
			c, err := tls.Dial("tcp", origin, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			if err != nil {
				b.Fatal(err)
			}
			benchConnRoundTrips(b, c, "/", size)
		})
		b.Run(fmt.Sprintf("Proxy/%d", size), func(b *testing.B) {
			confdir := b.TempDir()
			proxyAddr := startProxyAddons(b, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true")
			pem, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
			if err != nil {
				b.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
			raw, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(raw, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", origin, origin)
			br := bufio.NewReader(raw)
			if err := skipHead(br); err != nil {
				b.Fatal(err)
			}
			c := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			benchConnRoundTrips(b, c, "/", size)
		})
	}
}
