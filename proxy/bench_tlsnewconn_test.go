//go:build unix

package proxy_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
)

// tlsNewConnOrigin answers one request per TLS connection (the response
// says Connection: close), with a P-256 certificate for 127.0.0.1, as
// mitmbench's origin, and issues session tickets (crypto/tls's default).
func tlsNewConnOrigin(b *testing.B) (addr string, roots *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200\r\nConnection: close\r\n\r\n" + strings.Repeat("x", 200))
	addr = serveTLS(b, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		NextProtos:   []string{"http/1.1"},
	}, func(c net.Conn) {
		if err := skipHead(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write(resp)
	})
	return addr, roots
}

// newConnRequest makes one request on a new connection, as mitmbench's
// https-newconn scenario: TCP connect, CONNECT when proxy is set, a full TLS
// handshake (no session cache), one request with Connection: close.
func newConnRequest(b *testing.B, proxyAddr, origin string, roots *x509.CertPool) {
	dial := origin
	if proxyAddr != "" {
		dial = proxyAddr
	}
	raw, err := net.Dial("tcp", dial)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	br := bufio.NewReader(raw)
	if proxyAddr != "" {
		fmt.Fprintf(raw, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", origin, origin)
		if err := skipHead(br); err != nil {
			b.Fatal(err)
		}
	}
	c := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")); err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNewConnTLS is mitmbench's https-newconn in one process: every
// request on a new connection with its own full handshake, directly and
// through an intercepting proxy (two handshakes: the client's with a
// minted leaf, the proxy's with the origin, which resumes its session).
// The client, the origin and the proxy share the process, so CPU profiles
// (-cpuprofile, -memprofile) hold all three: look at the proxy's frames.
// cpu-ns/op is the CPU all three spend per request; on a machine the
// three share, Direct's cpu-ns/op over Proxy's is about the req/s ratio
// mitmbench -scenarios https-newconn reports, and it stays steady when
// other processes make ns/op wander. ProxyX25519 is the proxy with
// tls_ecdh_curve_client and tls_ecdh_curve_server set to X25519: what the
// post-quantum hybrid key exchange (Go's default, X25519MLKEM768) costs.
//
//	go test -run '^$' -bench NewConnTLS -benchtime 2s -count 3 ./proxy
func BenchmarkNewConnTLS(b *testing.B) {
	origin, originRoots := tlsNewConnOrigin(b)
	b.Run("Direct", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			newConnRequest(b, "", origin, originRoots)
		}
	})
	for _, c := range []struct {
		name string
		sets []string
	}{
		{"Proxy", nil},
		// Without the post-quantum hybrids on either side: what the
		// key exchange costs.
		{"ProxyX25519", []string{"tls_ecdh_curve_client=X25519", "tls_ecdh_curve_server=X25519"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			confdir := b.TempDir()
			proxyAddr := startProxyAddons(b, []any{tlsconfig.New()}, append([]string{"confdir=" + confdir, "ssl_insecure=true"}, c.sets...)...)
			pem, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
			if err != nil {
				b.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
			defer reportCPU(b)()
			for b.Loop() {
				newConnRequest(b, proxyAddr, origin, roots)
			}
		})
	}
}

// reportCPU reports the process's CPU time per operation (cpu-ns/op: the
// client's, the origin's and the proxy's together) from the call to the
// call of the function it returns. On a busy machine it is steadier than
// ns/op, which counts the time spent waiting for a CPU.
func reportCPU(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		b.StopTimer()
		b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
