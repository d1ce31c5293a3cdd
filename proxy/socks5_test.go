package proxy_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/proxyauth"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// socksRecorder records the flows of a SOCKS5 or transparent proxy, as
// flowLog, and its log lines.
type socksRecorder struct {
	flowLog
	logs []string // under flowLog.mu
}

func (r *socksRecorder) AddLog(e *addon.LogEntry) { appendLocked(&r.mu, &r.logs, e.Msg) }

func (r *socksRecorder) KeepsFlows() bool { return true }

func (r *socksRecorder) Flows() []*flow.HTTPFlow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.http)
}

func (r *socksRecorder) hasLog(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.logs, msg)
}

func (r *socksRecorder) waitLog(t *testing.T, msg string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() bool { return r.hasLog(msg) }, "log line %q; got %q", msg, func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Clone(r.logs)
	}())
}

// socksOrigins are an HTTP and an HTTPS origin on 127.0.0.1 and, where the
// machine has IPv6 loopback, on ::1, answering with what they were asked.
type socksOrigins struct {
	http, https, http6 string // host:port
}

func startSOCKSOrigins(t *testing.T) socksOrigins {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto := "http"
		if r.TLS != nil {
			proto = "https sni=" + r.TLS.ServerName
		}
		fmt.Fprintf(w, "%s %s %s host=%s", proto, r.Proto, r.URL.Path, r.Host)
	})
	o := socksOrigins{}
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	o.http = strings.TrimPrefix(plain.URL, "http://")
	secure := httptest.NewUnstartedServer(h)
	secure.EnableHTTP2 = true
	secure.StartTLS()
	t.Cleanup(secure.Close)
	o.https = strings.TrimPrefix(secure.URL, "https://")
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
		s.Start()
		t.Cleanup(s.Close)
		o.http6 = ln.Addr().String()
	}
	return o
}

// socksClient is an HTTP client that goes through the SOCKS5 proxy at addr
// with golang.org/x/net/proxy's dialer, which sends host names as domain
// names and IP literals as IPv4 or IPv6 addresses. roots, when set, are
// the CAs it trusts; it speaks HTTP/2 where the proxy offers it.
func socksClient(t *testing.T, addr string, auth *xproxy.Auth, roots *tls.Config) *http.Client {
	t.Helper()
	d, err := xproxy.SOCKS5("tcp", addr, auth, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{
		DialContext:       d.(xproxy.ContextDialer).DialContext,
		TLSClientConfig:   roots,
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func getBody(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSOCKS5GoClient sends HTTP and HTTPS requests through socks5 mode
// with golang.org/x/net/proxy's SOCKS5 client: to a domain name, an IPv4
// and an IPv6 literal. HTTPS is intercepted with the mitmgo CA as in a
// CONNECT tunnel, HTTP/2 on both sides, and the flows record the mode.
func TestSOCKS5GoClient(t *testing.T) {
	o := startSOCKSOrigins(t)
	confdir := t.TempDir()
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, "mode=socks5", "confdir="+confdir, "ssl_insecure=true")
	roots := &tls.Config{RootCAs: caPool(t, confdir)}
	c := socksClient(t, addr, nil, roots)

	_, httpPort, _ := net.SplitHostPort(o.http)
	_, httpsPort, _ := net.SplitHostPort(o.https)
	cases := []struct {
		name, url, want, server string
	}{
		{"domain name", "http://localhost:" + httpPort + "/a", "http HTTP/1.1 /a host=localhost:" + httpPort, "localhost:" + httpPort},
		{"ipv4", "http://" + o.http + "/b", "http HTTP/1.1 /b host=" + o.http, o.http},
		{"https, domain name", "https://localhost:" + httpsPort + "/c", "https sni=localhost HTTP/2.0 /c host=localhost:" + httpsPort, "localhost:" + httpsPort},
		{"https, ipv4", "https://" + o.https + "/d", "https sni= HTTP/2.0 /d host=" + o.https, o.https},
	}
	if o.http6 != "" {
		cases = append(cases, struct{ name, url, want, server string }{"ipv6", "http://" + o.http6 + "/e", "http HTTP/1.1 /e host=" + o.http6, o.http6})
	} else {
		t.Log("no IPv6 loopback: the IPv6 case is left out")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := getBody(t, c, tc.url); got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
		})
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return len(rec.Flows()) == len(cases) }, "%d flows", len(cases))
	for _, f := range rec.Flows() {
		if f.ClientConn.ProxyMode != "socks5" {
			t.Errorf("%s: proxy_mode %q", f.Request.URL(), f.ClientConn.ProxyMode)
		}
		found := false
		for _, tc := range cases {
			if strings.HasSuffix(tc.url, f.Request.Path) {
				found = true
				host, port, _ := net.SplitHostPort(tc.server)
				if f.Request.Host != host || f.Request.Port != mustAtoi(t, port) {
					t.Errorf("%s: request to %s:%d, want %s", tc.url, f.Request.Host, f.Request.Port, tc.server)
				}
				if wantScheme := tc.url[:strings.Index(tc.url, ":")]; f.Request.Scheme != wantScheme {
					t.Errorf("%s: scheme %s", tc.url, f.Request.Scheme)
				}
				// HTTP/2 is negotiated with both sides, as in a CONNECT tunnel.
				if wantVersion := map[string]string{"http": "HTTP/1.1", "https": "HTTP/2.0"}[f.Request.Scheme]; f.Request.HTTPVersion != wantVersion {
					t.Errorf("%s: %s, want %s", tc.url, f.Request.HTTPVersion, wantVersion)
				}
			}
		}
		if !found {
			t.Errorf("unexpected flow %s", f.Request.URL())
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSOCKS5ProxyAuth: with proxyauth set, the SOCKS5 client must send a
// user name and password (RFC 1929) that the proxyauth addon accepts; the
// flows of an authenticated client carry its credentials as a CONNECT's
// would.
func TestSOCKS5ProxyAuth(t *testing.T) {
	o := startSOCKSOrigins(t)
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{proxyauth.New(), rec}, "mode=socks5", "proxyauth=user:pass")

	c := socksClient(t, addr, &xproxy.Auth{User: "user", Password: "pass"}, nil)
	if got := getBody(t, c, "http://"+o.http+"/ok"); got != "http HTTP/1.1 /ok host="+o.http {
		t.Errorf("body %q", got)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return len(rec.Flows()) == 1 }, "the flow")
	if got, _ := rec.Flows()[0].Metadata.Get(proxyauth.MetadataKey); fmt.Sprint(got) != "[user pass]" {
		t.Errorf("metadata proxyauth = %v", got)
	}

	for _, tc := range []struct {
		name string
		auth *xproxy.Auth
		log  string
	}{
		{"wrong password", &xproxy.Auth{User: "user", Password: "nope"}, "authentication failed"},
		{"no credentials", nil, "Client does not support SOCKS5 with user/password authentication."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := socksClient(t, addr, tc.auth, nil)
			if resp, err := c.Get("http://" + o.http + "/refused"); err == nil {
				resp.Body.Close()
				t.Fatalf("went through: %s", resp.Status)
			}
			rec.waitLog(t, tc.log)
		})
	}
	if n := len(rec.Flows()); n != 1 {
		t.Errorf("%d flows, want the one authenticated", n)
	}
}

// socksExchange sends raw bytes to the proxy and reads what it answers
// until it closes the connection.
func socksExchange(t *testing.T, addr string, send ...string) string {
	t.Helper()
	return roundTripOpen(t, addr, strings.Join(send, ""))
}

// TestSOCKS5Refusals: what the proxy answers and logs, as mitmproxy's
// Socks5Proxy layer, to what it cannot serve.
func TestSOCKS5Refusals(t *testing.T) {
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{rec}, "mode=socks5")
	unused := testutil.UnusedAddr(t)
	_, unusedPort, _ := net.SplitHostPort(unused)
	p := mustAtoi(t, unusedPort)
	for _, tc := range []struct {
		name   string
		send   []string
		answer string
		log    string
	}{
		{"http request", []string{"GET http://example.com/ HTTP/1.1\r\n\r\n"}, "",
			"Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x47"},
		{"socks4", []string{"\x04\x01\x00\x50\x7f\x00\x00\x01\x00"}, "", "Invalid SOCKS version. Expected 0x05, got 0x4"},
		{"client wants to authenticate", []string{"\x05\x01\x02"}, "\x05\xff\x00\x01\x00\x00\x00\x00\x00\x00",
			"Client does not support SOCKS5 with no authentication."},
		{"bind", []string{"\x05\x01\x00", "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"}, "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00",
			`Unsupported SOCKS5 request: b'\x05\x02\x00\x01\x7f\x00\x00\x01\x00P'`},
		{"udp associate", []string{"\x05\x01\x00", "\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"}, "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00",
			`Unsupported SOCKS5 request: b'\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00'`},
		{"unknown address type", []string{"\x05\x01\x00", "\x05\x01\x00\x07\x7f"}, "\x05\x00\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00",
			"Unknown address type: 7"},
		{"empty domain name", []string{"\x05\x01\x00", "\x05\x01\x00\x03\x00\x00\x50"},
			"\x05\x00\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", "SOCKS5 request with an empty domain name"},
		{"unreachable", []string{"\x05\x01\x00", "\x05\x01\x00\x01\x7f\x00\x00\x01" + string([]byte{byte(p >> 8), byte(p)})},
			"\x05\x00\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", ""},
		{"the proxy itself", []string{"\x05\x01\x00", "\x05\x01\x00\x03\x09127.0.0.1" + portBytes(t, addr)},
			"\x05\x00\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00",
			"server connection to 127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:] + " killed before connect: Request destination unknown. Unable to figure out where this request should be forwarded to."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := socksExchange(t, addr, tc.send...); got != tc.answer {
				t.Errorf("answer %q, want %q", got, tc.answer)
			}
			if tc.log != "" {
				rec.waitLog(t, tc.log)
			}
		})
	}
}

func portBytes(t *testing.T, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	p := mustAtoi(t, port)
	return string([]byte{byte(p >> 8), byte(p)})
}

// TestSOCKS5ClosedMidHandshake: a client that leaves in the middle of a
// message is logged with what it sent, as mitmproxy does.
func TestSOCKS5ClosedMidHandshake(t *testing.T) {
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{rec}, "mode=socks5")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "\x05\x01\x00\x05\x01\x00")
	br := bufio.NewReader(c)
	if b, err := br.Peek(2); err != nil || string(b) != "\x05\x00" {
		t.Fatalf("method selection %q, %v", b, err)
	}
	c.Close()
	rec.waitLog(t, `Client closed connection before completing SOCKS5 handshake: b'\x05\x01\x00'`)
}

// TestSOCKS5TCPAndEarlyData: bytes the client sends right behind its
// request (before the reply) reach the server, and a tunnel that carries
// neither TLS nor HTTP is a TCP flow, as in a CONNECT tunnel.
func TestSOCKS5TCPAndEarlyData(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{rec}, "mode=socks5")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" + portBytes(t, echo.Addr().String())
	if _, err := io.WriteString(c, req+"\x00hello"); err != nil {
		t.Fatal(err)
	}
	want := "\x05\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00hello"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	c.Close()
	testutil.Eventually(t, 10*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.tcp) == 1
	}, "a TCP flow")
	rec.mu.Lock()
	f := rec.tcp[0]
	rec.mu.Unlock()
	if f.ClientConn.ProxyMode != "socks5" || len(f.Messages) == 0 || string(f.Messages[0].Content) != "\x00hello" {
		t.Errorf("TCP flow: mode %q, messages %+v", f.ClientConn.ProxyMode, f.Messages)
	}
}

// socksAnswerer answers every request itself.
type socksAnswerer struct{}

func (socksAnswerer) Request(f *flow.HTTPFlow) {
	f.Response = flow.NewResponse(200, []byte("answered by an addon"), nil)
}

// TestSOCKS5Lazy: with connection_strategy=lazy the client is told it may
// send before any server connection exists, so that an addon can answer
// for a server that cannot be reached.
func TestSOCKS5Lazy(t *testing.T) {
	addr := startProxyAddons(t, []any{socksAnswerer{}}, "mode=socks5", "connection_strategy=lazy")
	c := socksClient(t, addr, nil, nil)
	if got := getBody(t, c, "http://"+testutil.UnusedAddr(t)+"/"); got != "answered by an addon" {
		t.Errorf("body %q", got)
	}
}
