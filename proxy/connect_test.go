package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// connectRecorder records the CONNECT hooks and the server connections.
type connectRecorder struct {
	mu      sync.Mutex
	events  []string
	flows   []*flow.HTTPFlow
	refuse  int // status an http_connect hook answers with
	answer  bool
	servers []string // the SNI of each server connection, "-" without TLS
}

func (r *connectRecorder) add(ev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *connectRecorder) HTTPConnect(f *flow.HTTPFlow) {
	r.add("http_connect")
	if r.refuse != 0 {
		f.Response = flow.NewResponse(r.refuse, []byte("not you"), nil)
	}
}

func (r *connectRecorder) HTTPConnected(f *flow.HTTPFlow) {
	r.add(fmt.Sprintf("http_connected %d", f.Response.StatusCode))
}

func (r *connectRecorder) HTTPConnectError(f *flow.HTTPFlow) {
	r.add(fmt.Sprintf("http_connect_error %d", f.Response.StatusCode))
	r.mu.Lock()
	r.flows = append(r.flows, f)
	r.mu.Unlock()
}

// Request answers inside the tunnel without a server when asked to.
func (r *connectRecorder) Request(f *flow.HTTPFlow) {
	r.add("request " + f.Request.Scheme)
	if r.answer {
		f.Response = flow.NewResponse(200, []byte("answered by an addon"), nil)
	}
}

func (r *connectRecorder) ServerConnected(d *addon.ServerConnectionData) {
	sni := "-"
	if d.Server.TLS {
		sni = d.Server.SNI
	}
	r.mu.Lock()
	r.servers = append(r.servers, sni)
	r.mu.Unlock()
	r.add("server_connected")
}

func (r *connectRecorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestConnectHooks(t *testing.T) {
	origin := peerOrigin(t)
	tests := []struct {
		name       string
		target     string
		refuse     int
		wantStatus string
		wantBody   string
		wantEvents []string
	}{
		{name: "connected", target: origin.Addr, wantStatus: "HTTP/1.1 200 Connection established",
			wantEvents: []string{"http_connect", "server_connected", "http_connected 200"}},
		// As mitmproxy: the answer is a response, not a flow error, and
		// says how to avoid connecting early.
		{name: "server unreachable", target: testutil.UnusedAddr(t), wantStatus: "HTTP/1.1 502 Bad Gateway",
			wantBody:   "Cannot connect to 127.0.0.1:",
			wantEvents: []string{"http_connect", "http_connect_error 502"}},
		{name: "refused by an addon", target: origin.Addr, refuse: 403, wantStatus: "HTTP/1.1 403 Forbidden",
			wantBody: "not you", wantEvents: []string{"http_connect", "http_connect_error 403"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &connectRecorder{refuse: tt.refuse}
			addr := startProxyWith(t, rec)
			c, br, status := testutil.ConnectTunnel(t, addr, tt.target)
			if status != tt.wantStatus {
				t.Errorf("status %q, want %q", status, tt.wantStatus)
			}
			if tt.wantBody != "" {
				body, _ := io.ReadAll(br)
				if !strings.Contains(string(body), tt.wantBody) {
					t.Errorf("body %q, want it to contain %q", body, tt.wantBody)
				}
				if strings.Contains(tt.wantBody, "Cannot connect") && !strings.Contains(string(body), "connection_strategy") {
					t.Errorf("body %q does not suggest connection_strategy=lazy", body)
				}
			}
			c.Close()
			if got := strings.Join(rec.Events(), ", "); got != strings.Join(tt.wantEvents, ", ") {
				t.Errorf("hooks %s, want %s", got, strings.Join(tt.wantEvents, ", "))
			}
			for _, f := range rec.flows {
				if f.Error != nil || f.IsLive() {
					t.Errorf("failed CONNECT flow: error %v, live %v; want no error (the response says it) and not live", f.Error, f.IsLive())
				}
			}
		})
	}
}

// TestLazyConnect: with connection_strategy=lazy a CONNECT is answered at
// once, and nothing connects to the server until a request needs it, so an
// addon (server replay, map_local) can answer with the server offline.
func TestLazyConnect(t *testing.T) {
	offline := testutil.UnusedAddr(t)

	t.Run("plain HTTP in the tunnel, answered by an addon", func(t *testing.T) {
		rec := &connectRecorder{answer: true}
		addr := startProxyWith(t, rec, "connection_strategy=lazy")
		c, br, status := testutil.ConnectTunnel(t, addr, offline)
		if status != "HTTP/1.1 200 Connection established" {
			t.Fatalf("status %q", status)
		}
		if body := get(t, c, br, offline, "/x"); body != "answered by an addon" {
			t.Errorf("body %q", body)
		}
		if got := strings.Join(rec.Events(), ", "); got != "http_connect, http_connected 200, request http" {
			t.Errorf("hooks %s", got)
		}
	})

	t.Run("TLS in the tunnel, answered by an addon", func(t *testing.T) {
		rec := &connectRecorder{answer: true}
		confdir := t.TempDir()
		addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, "connection_strategy=lazy", "confdir="+confdir)
		c, _, _ := testutil.ConnectTunnel(t, addr, "example.com:443")
		tc := tls.Client(c, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "example.com"})
		if body := get(t, tc, bufio.NewReader(tc), "example.com", "/x"); body != "answered by an addon" {
			t.Errorf("body %q", body)
		}
		if got := strings.Join(rec.Events(), ", "); got != "http_connect, http_connected 200, request https" {
			t.Errorf("hooks %s (no server connection expected)", got)
		}
	})

	t.Run("TLS in the tunnel, forwarded with the client's SNI", func(t *testing.T) {
		origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "origin saw SNI %q", r.TLS.ServerName)
		}))
		t.Cleanup(origin.Close)
		rec := &connectRecorder{}
		confdir := t.TempDir()
		addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, "connection_strategy=lazy", "confdir="+confdir, "ssl_insecure=true")
		target := strings.TrimPrefix(origin.URL, "https://")
		c, _, _ := testutil.ConnectTunnel(t, addr, target)
		// The test certificate is valid for example.com.
		tc := tls.Client(c, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "example.com"})
		if body := get(t, tc, bufio.NewReader(tc), "example.com", "/"); body != `origin saw SNI "example.com"` {
			t.Errorf("body %q", body)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if strings.Join(rec.servers, ",") != "example.com" {
			t.Errorf("server connections (by SNI): %v, want one, made for the request", rec.servers)
		}
	})
}

// get sends a GET for path to host on w and returns the body read from r.
func get(t *testing.T, w io.Writer, r *bufio.Reader, host, path string) string {
	t.Helper()
	fmt.Fprintf(w, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func caPool(t *testing.T, confdir string) *x509.CertPool { return caPoolTB(t, confdir) }

// caPoolTB is the proxy's CA, read from confdir, as a certificate pool.
func caPoolTB(t testing.TB, confdir string) *x509.CertPool {
	pem, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// TestRawTCPOption: a tunnel carrying neither TLS nor HTTP is relayed as it
// is; with rawtcp off it is read as HTTP, as mitmproxy does, and garbage is
// refused.
func TestRawTCPOption(t *testing.T) {
	echo := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) { io.Copy(c, r) })
	for _, rawtcp := range []bool{true, false} {
		addr := startProxy(t, nil, fmt.Sprintf("rawtcp=%v", rawtcp))
		c, br, status := testutil.ConnectTunnel(t, addr, echo.Addr)
		if status != "HTTP/1.1 200 Connection established" {
			t.Fatalf("status %q", status)
		}
		const msg = "\x00binary\r\n\r\n"
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		n, _ := io.ReadFull(br, got)
		got = got[:n]
		if !rawtcp {
			rest, _ := io.ReadAll(br)
			got = append(got, rest...)
		}
		if rawtcp && string(got) != msg {
			t.Errorf("rawtcp on: got %q, want the bytes echoed", got)
		}
		if !rawtcp && !strings.HasPrefix(string(got), "HTTP/1.1 400 Bad Request") {
			t.Errorf("rawtcp off: got %q, want a 400", got)
		}
	}
}

// TestServerSpeaksFirst: in SMTP, IMAP or FTP the server greets first and
// the client waits for it. A tunnel to such a server must not wait for the
// client (both would hang): the greeting goes through, then the dialogue.
func TestServerSpeaksFirst(t *testing.T) {
	smtp := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 smtp.example ready\r\n")
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, "250 hello "+strings.TrimPrefix(line, "HELO "))
	})
	for _, rawtcp := range []bool{true, false} {
		addr := startProxy(t, nil, fmt.Sprintf("rawtcp=%v", rawtcp))
		c, br, status := testutil.ConnectTunnel(t, addr, smtp.Addr)
		if status != "HTTP/1.1 200 Connection established" {
			t.Fatalf("status %q", status)
		}
		greeting, err := br.ReadString('\n')
		if err != nil || greeting != "220 smtp.example ready\r\n" {
			t.Fatalf("rawtcp=%v: greeting %q, %v", rawtcp, greeting, err)
		}
		io.WriteString(c, "HELO client\r\n")
		if reply, err := br.ReadString('\n'); err != nil || reply != "250 hello client\r\n" {
			t.Errorf("rawtcp=%v: reply %q, %v", rawtcp, reply, err)
		}
	}
}

// TestDecryptedNonHTTP: inside intercepted TLS, a server that greets first
// (IMAPS) and a client protocol that is not HTTP are relayed decrypted, as
// mitmproxy does, instead of waiting for (or refusing) an HTTP request.
func TestDecryptedNonHTTP(t *testing.T) {
	// Go's test certificate, borrowed from an httptest server.
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	serverTLS := &tls.Config{Certificates: hs.TLS.Certificates}
	hs.Close()
	for _, greet := range []bool{true, false} {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if greet {
				io.WriteString(c, "* OK IMAP4rev1 ready\r\n")
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "echo "+line)
		}()
		confdir := t.TempDir()
		addr := startProxyAddons(t, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true")
		c, _, status := testutil.ConnectTunnel(t, addr, ln.Addr().String())
		if status != "HTTP/1.1 200 Connection established" {
			t.Fatalf("status %q", status)
		}
		// No ALPN: the client does not say it speaks HTTP.
		tc := tls.Client(c, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "127.0.0.1"})
		br := bufio.NewReader(tc)
		if greet {
			if line, err := br.ReadString('\n'); err != nil || line != "* OK IMAP4rev1 ready\r\n" {
				t.Fatalf("greeting %q, %v", line, err)
			}
		}
		io.WriteString(tc, "PING 1\r\n")
		if line, err := br.ReadString('\n'); err != nil || line != "echo PING 1\r\n" {
			t.Errorf("greet=%v: reply %q, %v", greet, line, err)
		}
	}
}
