package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"golang.org/x/net/http2"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/internal/h2"
)

// h2FastOrigin answers every HTTP/2 stream with bodySize bytes, on
// internal/h2 (cheaper than net/http's server, so the proxy's cost shows).
func h2FastOrigin(b *testing.B, bodySize int) (addr string, cert *x509.Certificate) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert = ts.Certificate()
	cfg := &tls.Config{Certificates: ts.TLS.Certificates, NextProtos: []string{"h2"}}
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	body := make([]byte, bodySize)
	head := []h2.Field{{Name: ":status", Value: "200"}, {Name: "content-length", Value: strconv.Itoa(bodySize)}}
	log := slog.New(slog.DiscardHandler)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go h2.NewServerConn(c, c, h2.Settings{}, log).Serve(context.Background(), func(s *h2.Stream) {
				io.Copy(io.Discard, s)
				s.WriteHeader(head, false)
				s.Write(body)
				s.CloseWrite()
			})
		}
	}()
	return ln.Addr().String(), cert
}

// BenchmarkHTTP2 measures requests over one HTTP/2 connection with 10
// concurrent streams, direct and through an intercepting proxy that speaks
// HTTP/2 on both sides (go test -bench HTTP2 ./proxy).
func BenchmarkHTTP2(b *testing.B) {
	for _, size := range []int{200, 64 << 10} {
		origin, originCert := h2FastOrigin(b, size)
		run := func(b *testing.B, dial func(ctx context.Context) (net.Conn, error)) {
			conn, err := dial(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			cc, err := (&http2.Transport{}).NewClientConn(conn)
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			req, _ := http.NewRequest("GET", "https://"+origin+"/", nil)
			b.SetBytes(int64(size))
			b.SetParallelism(5) // 10 streams on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := cc.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		b.Run(fmt.Sprintf("Direct/%d", size), func(b *testing.B) {
			roots := x509.NewCertPool()
			roots.AddCert(originCert)
			run(b, func(ctx context.Context) (net.Conn, error) {
				return tls.Dial("tcp", origin, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"h2"}})
			})
		})
		b.Run(fmt.Sprintf("Proxy/%d", size), func(b *testing.B) {
			confdir := b.TempDir()
			proxyAddr := startProxyAddons(b, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true")
			roots := caPoolTB(b, confdir)
			run(b, func(ctx context.Context) (net.Conn, error) {
				return tunnelDialer(proxyAddr, roots, []string{"h2"})(ctx, "tcp", origin)
			})
		})
	}
}
