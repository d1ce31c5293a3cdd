package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/proxy"
)

// modeProxy is an in-process proxy server running several modes.
type modeProxy struct {
	srv *proxy.Server
	// addrs are the listeners' addresses, by mode spec; lines their
	// listening lines, in the order of the mode option.
	addrs map[string]string
	lines []string
}

// startModes runs a proxy server with one listener per mode spec, each on
// a free port of 127.0.0.1 unless the spec names one.
func startModes(t testing.TB, extra []any, modes []string, sets ...string) *modeProxy {
	t.Helper()
	for _, m := range modes {
		sets = append(sets, "mode="+m)
	}
	srv, err := newProxyServer(t, extra, sets...)
	if err != nil {
		t.Fatal(err)
	}
	lns, err := srv.ListenModes()
	if err != nil {
		t.Fatal(err)
	}
	p := &modeProxy{srv: srv, addrs: map[string]string{}}
	for _, l := range lns {
		p.addrs[l.Mode.FullSpec] = l.Addr().String()
		p.lines = append(p.lines, l.ListeningMessage())
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeModes(lns) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("ServeModes: %v", err)
		}
	})
	return p
}

// flowLog records the HTTP and TCP flows an addon sees, and the CONNECT
// requests sent upstream; onRequest, when set, runs in the request hook.
type flowLog struct {
	mu        sync.Mutex
	http      []*flow.HTTPFlow
	connects  []*flow.HTTPFlow
	upstream  []*flow.HTTPFlow
	tcp       []*flow.TCPFlow
	onRequest func(f *flow.HTTPFlow)
}

func (l *flowLog) Request(f *flow.HTTPFlow) {
	if l.onRequest != nil {
		l.onRequest(f)
	}
}

func (l *flowLog) Response(f *flow.HTTPFlow)            { appendLocked(&l.mu, &l.http, f) }
func (l *flowLog) HTTPConnect(f *flow.HTTPFlow)         { appendLocked(&l.mu, &l.connects, f) }
func (l *flowLog) HTTPConnectUpstream(f *flow.HTTPFlow) { appendLocked(&l.mu, &l.upstream, f) }
func (l *flowLog) TCPEnd(f *flow.TCPFlow)               { appendLocked(&l.mu, &l.tcp, f) }

// flows waits until n HTTP flows are done and returns them.
func (l *flowLog) flows(t *testing.T, n int) []*flow.HTTPFlow {
	t.Helper()
	return waitList(t, &l.mu, &l.http, n, "flows")
}

func (l *flowLog) tcpFlows(t *testing.T, n int) []*flow.TCPFlow {
	t.Helper()
	return waitList(t, &l.mu, &l.tcp, n, "TCP flows")
}

func (l *flowLog) snapshot() (connects, upstream []*flow.HTTPFlow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*flow.HTTPFlow(nil), l.connects...), append([]*flow.HTTPFlow(nil), l.upstream...)
}

// echoOrigin is an HTTP origin that answers with what it was asked: the
// request line, the Host header, and the proxy headers it got.
func echoOrigin(t testing.TB) (*url.URL, string) {
	t.Helper()
	s := testutil.HTTPOrigin(t, http.HandlerFunc(echoHandler))
	u, _ := url.Parse(s.URL)
	return u, u.Host
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s %s %s host=%s auth=%q proxyauth=%q", r.Method, r.RequestURI, r.Proto, r.Host,
		r.Header.Get("Authorization"), r.Header.Get("Proxy-Authorization"))
}

// getVia fetches rawURL through the HTTP proxy at proxyAddr (none: "")
// and returns the body.
func getVia(t *testing.T, proxyAddr, rawURL string, roots *tls.Config) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: roots, DisableKeepAlives: true}
	if proxyAddr != "" {
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr})
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", rawURL, resp.Status, b)
	}
	return string(b)
}

// TestSeveralModesOneServer: one server runs a regular, a reverse and an
// upstream proxy, each on its own listener, with its own listening line;
// every flow records the spec it came through as its proxy_mode.
func TestSeveralModesOneServer(t *testing.T) {
	_, originHost := echoOrigin(t)
	next := startModes(t, nil, []string{"regular"})
	nextAddr := next.addrs["regular"]
	rec := &flowLog{}
	modes := []string{"regular@0", "reverse:http://" + originHost + "@0", "upstream:http://" + nextAddr}
	p := startModes(t, []any{rec}, modes)
	if len(p.addrs) != 3 {
		t.Fatalf("listeners %v", p.addrs)
	}
	wantLines := []string{
		"HTTP(S) proxy listening at " + p.addrs[modes[0]] + ".",
		"reverse proxy to http://" + originHost + " listening at " + p.addrs[modes[1]] + ".",
		"HTTP(S) proxy (upstream mode) listening at " + p.addrs[modes[2]] + ".",
	}
	if strings.Join(p.lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("listening lines:\n%s\nwant:\n%s", strings.Join(p.lines, "\n"), strings.Join(wantLines, "\n"))
	}

	if got := getVia(t, p.addrs[modes[0]], "http://"+originHost+"/regular", nil); !strings.HasPrefix(got, "GET /regular HTTP/1.1") {
		t.Errorf("regular: %q", got)
	}
	if got := getVia(t, "", "http://"+p.addrs[modes[1]]+"/reverse", nil); !strings.HasPrefix(got, "GET /reverse HTTP/1.1 host="+originHost) {
		t.Errorf("reverse: %q", got)
	}
	if got := getVia(t, p.addrs[modes[2]], "http://"+originHost+"/upstream", nil); !strings.HasPrefix(got, "GET /upstream HTTP/1.1") {
		t.Errorf("upstream: %q", got)
	}
	byPath := map[string]*flow.HTTPFlow{}
	for _, f := range rec.flows(t, 3) {
		byPath[f.Request.Path] = f
	}
	for path, mode := range map[string]string{"/regular": modes[0], "/reverse": modes[1], "/upstream": modes[2]} {
		f := byPath[path]
		if f == nil {
			t.Errorf("no flow for %s", path)
			continue
		}
		if f.ClientConn.ProxyMode != mode || f.ClientConn.Sockname.String() != p.addrs[mode] {
			t.Errorf("%s: proxy_mode %q via %s, want %q via %s", path, f.ClientConn.ProxyMode, f.ClientConn.Sockname, mode, p.addrs[mode])
		}
	}
	if via := byPath["/upstream"].ServerConn.Via; via == nil || via.Scheme != "http" || via.Address.String() != nextAddr {
		t.Errorf("upstream flow's via %+v, want http %s", via, nextAddr)
	}
	if via := byPath["/regular"].ServerConn.Via; via != nil {
		t.Errorf("regular flow's via %+v", via)
	}
}

// TestModeOptionErrors: a spec mitmproxy refuses is refused with its
// message, and so are modes mitmgo has not yet, and two servers on one
// address; nothing listens then.
func TestModeOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		modes []string
		sets  []string
		want  string
	}{
		{modes: []string{"nonsense"}, want: "Invalid proxy mode specification: nonsense (unknown mode)"},
		{modes: []string{"regular@99999"}, want: "Invalid proxy mode specification: regular@99999 (invalid port: 99999)"},
		{modes: []string{"socks5:x"}, want: "Invalid proxy mode specification: socks5:x (mode takes no arguments)"},
		{modes: []string{"upstream:ftp://x:1"}, want: "Invalid proxy mode specification: upstream:ftp://x:1 (Invalid server scheme: ftp)"},
		{modes: []string{"upstream:tls://x:1"}, want: "Invalid proxy mode specification: upstream:tls://x:1 (invalid upstream proxy scheme)"},
		{modes: []string{"reverse:tcp://example.com"}, want: "Invalid proxy mode specification: reverse:tcp://example.com (Port specification missing.)"},
		{modes: []string{"reverse:http://bad host"}, want: "(Invalid hostname: bad host)"},
		{modes: []string{"reverse:http://x/path"}, want: "(Invalid server specification: http://x/path)"},
		{modes: []string{"wireguard"}, want: "Invalid proxy mode specification: wireguard (mitmgo has no wireguard mode yet: WireGuard, local and TUN modes come later)"},
		{modes: []string{"local:curl"}, want: "(mitmgo has no local mode yet: WireGuard, local and TUN modes come later)"},
		{modes: []string{"tun"}, want: "(mitmgo has no tun mode yet"},
		{modes: []string{"reverse:http3://example.com"}, want: "(mitmgo has no http3 reverse proxy yet: HTTP/3, QUIC and DTLS reverse proxies come later)"},
		{modes: []string{"reverse:quic://example.com"}, want: "(mitmgo has no quic reverse proxy yet"},
		{modes: []string{"reverse:dtls://example.com:1"}, want: "(mitmgo has no dtls reverse proxy yet"},
		{modes: []string{"regular@127.0.0.1:8090", "socks5@127.0.0.1:8090"}, want: "Cannot spawn multiple servers on the same address: 127.0.0.1:8090"},
		{modes: []string{"regular", "upstream:http://x"}, sets: []string{"listen_port=8090", "listen_host="}, want: "Cannot spawn multiple servers on the same address: *:8090"},
	} {
		sets := tt.sets
		for _, m := range tt.modes {
			sets = append(sets, "mode="+m)
		}
		srv, err := newProxyServer(t, nil, sets...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("modes %q: %v, want an error with %q", tt.modes, err, tt.want)
		}
		if srv != nil {
			t.Errorf("modes %q: configured", tt.modes)
		}
	}
	// The same port twice is fine when it is 0 (any free port), and
	// listen_port applies to every mode without a port of its own.
	if _, err := newProxyServer(t, nil, "mode=regular", "mode=upstream:http://x", "mode=reverse:http://y@0"); err != nil {
		t.Errorf("port 0 twice: %v", err)
	}
}

// TestModeListenError: a port in use stops the start with mitmproxy's
// message, and every listener bound already is closed again.
func TestModeListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	srv, err := newProxyServer(t, nil, "mode=regular@0", "mode=socks5", "listen_port="+port)
	if err != nil {
		t.Fatal(err)
	}
	_, err = srv.ListenModes()
	want := "SOCKS v5 proxy failed to listen on 127.0.0.1:" + port + " with "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("ListenModes: %v, want %q...", err, want)
	}
	n, _ := strconv.Atoi(port)
	if hint := fmt.Sprintf("Try specifying a different port by using `--mode socks5@%d`.", n+2); !strings.HasSuffix(err.Error(), hint) {
		t.Errorf("no hint %q in %q", hint, err)
	}
	// A spec that names its port gets no hint.
	srv, err = newProxyServer(t, nil, "mode=regular@"+port)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err == nil || strings.Contains(err.Error(), "Try specifying") {
		t.Errorf("Listen: %v", err)
	}
}
