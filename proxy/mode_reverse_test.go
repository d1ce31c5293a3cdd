package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/addons/upstreamauth"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// rawGet sends a GET for path with the Host header host over c and returns
// the response's body.
func rawGet(t *testing.T, c net.Conn, host, path string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestReverseHTTP: every request goes to the target, whatever its URL,
// with the target's name in the Host header unless keep_host_header;
// upstream_auth becomes Authorization; a client that speaks TLS gets it.
func TestReverseHTTP(t *testing.T) {
	_, originHost := echoOrigin(t)
	spec := "reverse:http://" + originHost
	confdir := t.TempDir()
	rec := &flowLog{}
	auth := upstreamauth.New()
	p := startModes(t, []any{tlsconfig.New(), auth, rec}, []string{spec}, "confdir="+confdir, "upstream_auth=user:secret")
	addr := p.addrs[spec]

	if got := rawGet(t, dial(t, addr), "whatever.example:1234", "/a?b=c"); got != `GET /a?b=c HTTP/1.1 host=`+originHost+` auth="Basic dXNlcjpzZWNyZXQ=" proxyauth=""` {
		t.Errorf("origin form: %q", got)
	}
	// Absolute form goes to the target too, in origin form.
	if got := rawGet(t, dial(t, addr), "elsewhere.example", "http://elsewhere.example/abs"); !strings.HasPrefix(got, "GET /abs HTTP/1.1 host="+originHost) {
		t.Errorf("absolute form: %q", got)
	}
	// TLS from the client, plain HTTP to the target.
	tc := tls.Client(dial(t, addr), &tls.Config{RootCAs: caPool(t, confdir), ServerName: "localhost"})
	if got := rawGet(t, tc, "localhost", "/tls"); !strings.HasPrefix(got, "GET /tls HTTP/1.1 host="+originHost) {
		t.Errorf("TLS client: %q", got)
	}
	for _, f := range rec.flows(t, 3) {
		if f.Request.Scheme != "http" || f.Request.Host != "127.0.0.1" || f.ClientConn.ProxyMode != spec {
			t.Errorf("flow %s %s (mode %q)", f.Request.Method, f.Request.URL(), f.ClientConn.ProxyMode)
		}
	}

	t.Run("CONNECT", func(t *testing.T) {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), "received an HTTP CONNECT request even though it is not running in regular/upstream mode") {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("keep_host_header", func(t *testing.T) {
		p := startModes(t, nil, []string{spec}, "keep_host_header=true")
		if got := rawGet(t, dial(t, p.addrs[spec]), "kept.example", "/"); !strings.HasPrefix(got, "GET / HTTP/1.1 host=kept.example") {
			t.Errorf("got %q", got)
		}
	})
}

// tlsOrigin is an HTTPS origin (HTTP/2 and HTTP/1.1) that tells what it
// saw: protocol, SNI, Host header.
func tlsOrigin(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s sni=%s host=%s", r.Proto, r.RequestURI, r.TLS.ServerName, r.Host)
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// TestReverseHTTPS: TLS to the target with its name as SNI; the client
// gets TLS with a certificate for the target's name, HTTP/2 when both
// sides speak it, or plain HTTP when it sends no ClientHello.
func TestReverseHTTPS(t *testing.T) {
	origin := tlsOrigin(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(origin.URL, "https://"))
	spec := "reverse:https://localhost:" + port
	confdir := t.TempDir()
	rec := &flowLog{}
	p := startModes(t, []any{tlsconfig.New(), rec}, []string{spec}, "confdir="+confdir, "ssl_insecure=true")
	addr := p.addrs[spec]
	wantHost := "host=localhost:" + port

	t.Run("HTTP/2 client", func(t *testing.T) {
		tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, confdir), ServerName: "localhost"}}
		if proto, got := getWith(t, tr, "https://"+addr+"/h2"); proto != "HTTP/2.0" || got != "HTTP/2.0 /h2 sni=localhost "+wantHost {
			t.Errorf("%s: %q", proto, got)
		}
	})

	t.Run("HTTP/1 client without SNI gets the target's name", func(t *testing.T) {
		var leafNames []string
		cfg := &tls.Config{
			RootCAs: caPool(t, confdir), ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"},
			// The certificate is for the target, not for the address the
			// client dialled: checked by hand.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				leafNames = cs.PeerCertificates[0].DNSNames
				return nil
			},
		}
		tc := tls.Client(dial(t, addr), cfg)
		if got := rawGet(t, tc, "127.0.0.1", "/h1"); got != "HTTP/1.1 /h1 sni=localhost "+wantHost {
			t.Errorf("got %q", got)
		}
		if !slices.Contains(leafNames, "localhost") {
			t.Errorf("certificate names %q, want the target's (localhost)", leafNames)
		}
	})

	t.Run("HTTP/2 client without TLS (prior knowledge)", func(t *testing.T) {
		tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
		if proto, got := getWith(t, tr, "http://"+addr+"/h2c"); proto != "HTTP/2.0" || got != "HTTP/2.0 /h2c sni=localhost "+wantHost {
			t.Errorf("%s: %q", proto, got)
		}
	})

	t.Run("plain HTTP client", func(t *testing.T) {
		if got := rawGet(t, dial(t, addr), "ignored", "/plain"); got != "HTTP/1.1 /plain sni=localhost "+wantHost {
			t.Errorf("got %q", got)
		}
	})

	for _, f := range rec.flows(t, 4) {
		if f.Request.Scheme != "https" || f.Request.Host != "localhost" || !f.ServerConn.TLS || f.ServerConn.SNI != "localhost" {
			t.Errorf("flow %s (server TLS %v, SNI %q)", f.Request.URL(), f.ServerConn.TLS, f.ServerConn.SNI)
		}
	}

	t.Run("keep_host_header: the client's SNI and Host go to the server", func(t *testing.T) {
		p := startModes(t, []any{tlsconfig.New()}, []string{spec}, "confdir="+confdir, "ssl_insecure=true", "keep_host_header=true")
		tc := tls.Client(dial(t, p.addrs[spec]), &tls.Config{RootCAs: caPool(t, confdir), ServerName: "example.com", NextProtos: []string{"http/1.1"}})
		if got := rawGet(t, tc, "example.com", "/kept"); got != "HTTP/1.1 /kept sni=example.com host=example.com" {
			t.Errorf("got %q", got)
		}
	})

	t.Run("lazy", func(t *testing.T) {
		p := startModes(t, []any{tlsconfig.New()}, []string{spec}, "confdir="+confdir, "ssl_insecure=true", "connection_strategy=lazy")
		if got := rawGet(t, dial(t, p.addrs[spec]), "ignored", "/lazy"); got != "HTTP/1.1 /lazy sni=localhost "+wantHost {
			t.Errorf("got %q", got)
		}
	})
}

// TestReverseTCPAndTLS: reverse:tcp and reverse:tls relay TCP flows to the
// target, decrypting a client's TLS; tls speaks TLS to the target; a server
// that speaks first is heard.
func TestReverseTCPAndTLS(t *testing.T) {
	echo := func(c net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(c, "echo %s", line)
		}
	}
	plainOrigin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "hello\n")
		echo(c, r)
	})
	tlsAddr := serveTLS(t, originTLSConfig(t), func(c net.Conn) { echo(c, bufio.NewReader(c)) })

	quietOrigin := testutil.StartRawOrigin(t, echo)
	tcpSpec := "reverse:tcp://" + plainOrigin.Addr
	quietSpec := "reverse:tcp://" + quietOrigin.Addr
	tlsSpec := "reverse:tls://" + tlsAddr
	confdir := t.TempDir()
	rec := &flowLog{}
	p := startModes(t, []any{tlsconfig.New(), rec}, []string{tcpSpec, quietSpec, tlsSpec}, "confdir="+confdir, "ssl_insecure=true")

	talk := func(t *testing.T, c net.Conn, greeting bool) {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if greeting {
			if l, err := r.ReadString('\n'); l != "hello\n" {
				t.Fatalf("greeting %q, %v", l, err)
			}
		}
		io.WriteString(c, "ping\n")
		if l, err := r.ReadString('\n'); l != "echo ping\n" {
			t.Fatalf("got %q, %v", l, err)
		}
	}
	clientTLS := func(c net.Conn) net.Conn {
		return tls.Client(c, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "localhost"})
	}
	t.Run("tcp, plain client, server speaks first", func(t *testing.T) { talk(t, dial(t, p.addrs[tcpSpec]), true) })
	t.Run("tcp, TLS client", func(t *testing.T) { talk(t, clientTLS(dial(t, p.addrs[quietSpec])), false) })
	t.Run("tls, plain client", func(t *testing.T) { talk(t, dial(t, p.addrs[tlsSpec]), false) })
	t.Run("tls, TLS client", func(t *testing.T) { talk(t, clientTLS(dial(t, p.addrs[tlsSpec])), false) })
	for _, f := range rec.tcpFlows(t, 4) {
		if !slices.Contains([]string{tcpSpec, quietSpec, tlsSpec}, f.ClientConn.ProxyMode) {
			t.Errorf("TCP flow with mode %q", f.ClientConn.ProxyMode)
		}
		if f.ClientConn.ProxyMode == tlsSpec && !f.ServerConn.TLS {
			t.Errorf("reverse:tls flow without TLS to the server")
		}
	}
}

// originTLSConfig is a TLS configuration with net/http/httptest's
// certificate (for 127.0.0.1, ::1 and example.com).
func originTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	s.StartTLS()
	cfg := s.TLS.Clone()
	s.Close()
	cfg.NextProtos = nil
	return cfg
}

// getWith GETs url with tr, and returns the response's protocol and body;
// it closes tr's idle connections after.
func getWith(t *testing.T, tr interface {
	http.RoundTripper
	CloseIdleConnections()
}, url string) (proto, body string) {
	t.Helper()
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.Proto, string(b)
}
