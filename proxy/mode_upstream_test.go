package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/proxyauth"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/addons/upstreamauth"
	"github.com/mitmgo/mitmgo/flow"
)

const basicUserPass = "Basic dXNlcjpwYXNz" // user:pass

// TestUpstreamMode: a chain client → mitmgo in upstream mode → mitmgo in
// regular mode → origin. Plain HTTP goes upstream in absolute form, HTTPS
// through a CONNECT (http_connect_upstream fires for it); upstream_auth
// reaches the second proxy on both; flows record the upstream as via.
func TestUpstreamMode(t *testing.T) {
	_, originHost := echoOrigin(t)
	origin := tlsOrigin(t)
	recB := &flowLog{}
	b := startModes(t, []any{tlsconfig.New(), recB}, []string{"regular"}, "confdir="+t.TempDir(), "ssl_insecure=true")
	bAddr := b.addrs["regular"]

	spec := "upstream:http://" + bAddr
	confdir := t.TempDir()
	recA := &flowLog{}
	a := startModes(t, []any{tlsconfig.New(), upstreamauth.New(), recA}, []string{spec},
		"confdir="+confdir, "upstream_auth=user:pass", "ssl_insecure=true")
	aAddr := a.addrs[spec]
	roots := &tls.Config{RootCAs: caPool(t, confdir)}

	if got := getVia(t, aAddr, "http://"+originHost+"/plain", nil); !strings.HasPrefix(got, "GET /plain HTTP/1.1 host="+originHost) {
		t.Errorf("plain: %q", got)
	}
	if got := getVia(t, aAddr, origin.URL+"/tls", roots); !strings.HasPrefix(got, "HTTP/1.1 /tls sni= host=127.0.0.1") {
		t.Errorf("https: %q", got)
	}

	flowsB := recB.flows(t, 2)
	for _, f := range flowsB {
		switch f.Request.Path {
		case "/plain":
			if f.Request.FirstLineFormat() != "absolute" {
				t.Errorf("the second proxy got %s in %s form", f.Request.Path, f.Request.FirstLineFormat())
			}
			if got := f.Request.Headers.Get("proxy-authorization"); got != basicUserPass {
				t.Errorf("the second proxy got Proxy-Authorization %q on a plain request", got)
			}
		case "/tls":
			if f.Request.Scheme != "https" {
				t.Errorf("second proxy: %s", f.Request.URL())
			}
		default:
			t.Errorf("second proxy: unexpected %s", f.Request.URL())
		}
	}
	connectsB, _ := recB.snapshot()
	_, upstreamA := recA.snapshot()
	if len(connectsB) != 1 || connectsB[0].Request.Headers.Get("proxy-authorization") != basicUserPass {
		t.Errorf("the second proxy's CONNECTs: %v", requestLines(connectsB))
	}
	originAddr := strings.TrimPrefix(origin.URL, "https://")
	if len(upstreamA) != 1 || upstreamA[0].Request.Method != "CONNECT" || upstreamA[0].Request.Authority != originAddr ||
		upstreamA[0].Request.Headers.Get("host") != originAddr {
		t.Errorf("http_connect_upstream: %v", requestLines(upstreamA))
	}
	for _, f := range recA.flows(t, 2) {
		if via := f.ServerConn.Via; via == nil || via.Scheme != "http" || via.Address.String() != bAddr {
			t.Errorf("%s: via %+v, want http %s", f.Request.URL(), via, bAddr)
		}
		if f.ClientConn.ProxyMode != spec {
			t.Errorf("%s: mode %q", f.Request.URL(), f.ClientConn.ProxyMode)
		}
	}

	t.Run("lazy", func(t *testing.T) {
		a := startModes(t, []any{tlsconfig.New()}, []string{spec}, "confdir="+confdir, "ssl_insecure=true", "connection_strategy=lazy", "upstream_cert=false")
		if got := getVia(t, a.addrs[spec], origin.URL+"/lazy", roots); !strings.HasPrefix(got, "HTTP/1.1 /lazy") {
			t.Errorf("https: %q", got)
		}
		if got := getVia(t, a.addrs[spec], "http://"+originHost+"/lazy", roots); !strings.HasPrefix(got, "GET /lazy HTTP/1.1") {
			t.Errorf("http: %q", got)
		}
	})
}

func requestLines(fs []*flow.HTTPFlow) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Request.Method+" "+f.Request.URL()+" "+f.Request.Headers.Get("proxy-authorization"))
	}
	return out
}

// tlsRelay is an https:// proxy for the test: it takes TLS (httptest's
// certificate) and relays what is inside to the plain proxy at to.
func tlsRelay(t *testing.T, to string) string {
	t.Helper()
	return serveTLS(t, originTLSConfig(t), func(c net.Conn) {
		up, err := net.Dial("tcp", to)
		if err != nil {
			return
		}
		defer up.Close()
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, up)
	})
}

// TestUpstreamHTTPSProxy: an https:// upstream proxy is spoken to over
// TLS, for plain requests and CONNECT alike.
func TestUpstreamHTTPSProxy(t *testing.T) {
	_, originHost := echoOrigin(t)
	origin := tlsOrigin(t)
	recB := &flowLog{}
	b := startModes(t, []any{tlsconfig.New(), recB}, []string{"regular"}, "confdir="+t.TempDir(), "ssl_insecure=true")
	relay := tlsRelay(t, b.addrs["regular"])
	spec := "upstream:https://" + relay
	confdir := t.TempDir()
	a := startModes(t, []any{tlsconfig.New()}, []string{spec}, "confdir="+confdir, "ssl_insecure=true")
	if got := getVia(t, a.addrs[spec], "http://"+originHost+"/p", nil); !strings.HasPrefix(got, "GET /p HTTP/1.1") {
		t.Errorf("plain: %q", got)
	}
	if got := getVia(t, a.addrs[spec], origin.URL+"/s", &tls.Config{RootCAs: caPool(t, confdir)}); !strings.HasPrefix(got, "HTTP/1.1 /s") {
		t.Errorf("https: %q", got)
	}
	recB.flows(t, 2)
}

// TestUpstreamViaPerFlow: an addon changes a flow's server_conn.via in the
// request hook (mitmproxy's change_upstream_proxy example): the request
// goes through that proxy, or directly when via is None; in regular mode
// too.
func TestUpstreamViaPerFlow(t *testing.T) {
	_, originHost := echoOrigin(t)
	rec1, rec2 := &flowLog{}, &flowLog{}
	b1 := startModes(t, []any{rec1}, []string{"regular"}).addrs["regular"]
	b2 := startModes(t, []any{rec2}, []string{"regular"}).addrs["regular"]
	b2Spec := &flow.ServerSpec{Scheme: "http", Address: flow.AddrFrom(mustTCPAddr(t, b2))}
	route := &flowLog{onRequest: func(f *flow.HTTPFlow) {
		switch f.Request.Path {
		case "/two":
			f.ServerConn.Via = b2Spec
		case "/direct":
			f.ServerConn.Via = nil
		}
	}}
	spec := "upstream:http://" + b1
	p := startModes(t, []any{route}, []string{spec, "regular"})
	for _, path := range []string{"/one", "/two", "/direct"} {
		getVia(t, p.addrs[spec], "http://"+originHost+path, nil)
	}
	getVia(t, p.addrs["regular"], "http://"+originHost+"/two", nil)
	if got := paths(rec1.flows(t, 1)); got != "/one" {
		t.Errorf("first upstream got %s", got)
	}
	if got := paths(rec2.flows(t, 2)); got != "/two /two" {
		t.Errorf("second upstream got %s", got)
	}
	for _, f := range route.flows(t, 4) {
		want := map[string]string{"/one": "http://" + b1, "/two": "http://" + b2, "/direct": "direct"}[f.Request.Path]
		if got := viaName(f.ServerConn.Via); got != want {
			t.Errorf("%s (%s): via %s, want %s", f.Request.Path, f.ClientConn.ProxyMode, got, want)
		}
	}
}

func paths(fs []*flow.HTTPFlow) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Request.Path)
	}
	return strings.Join(out, " ")
}

func viaName(v *flow.ServerSpec) string {
	if v == nil {
		return "direct"
	}
	return v.Scheme + "://" + v.Address.String()
}

func mustTCPAddr(t *testing.T, addr string) *net.TCPAddr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestUpstreamErrors: an upstream proxy that cannot be reached, or that
// refuses the CONNECT, is reported to the client in a 502.
func TestUpstreamErrors(t *testing.T) {
	_, originHost := echoOrigin(t)
	b := startModes(t, []any{proxyauth.New()}, []string{"regular"}, "proxyauth=user:other")
	bAddr := b.addrs["regular"]
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	for _, tt := range []struct {
		upstream string
		connect  bool
		want     string
	}{
		{downAddr, false, "upstream proxy: connection to " + downAddr + " refused"},
		{downAddr, true, "upstream proxy: connection to " + downAddr + " refused"},
		{bAddr, true, "Upstream proxy " + bAddr + " refused HTTP CONNECT request: 407 Proxy Authentication Required"},
	} {
		spec := "upstream:http://" + tt.upstream
		p := startModes(t, nil, []string{spec})
		c := dial(t, p.addrs[spec])
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if tt.connect {
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", originHost, originHost)
		} else {
			fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n", originHost, originHost)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 || !strings.Contains(string(body), tt.want) {
			t.Errorf("via %s (CONNECT %v): %d %s, want 502 with %q", tt.upstream, tt.connect, resp.StatusCode, body, tt.want)
		}
	}
}

// TestUpstreamModeReplay: a replayed request goes through the first mode's
// upstream proxy, as mitmproxy's client playback.
func TestUpstreamModeReplay(t *testing.T) {
	_, originHost := echoOrigin(t)
	rec := &flowLog{}
	b := startModes(t, []any{rec}, []string{"regular"}).addrs["regular"]
	p := startModes(t, nil, []string{"upstream:http://" + b})
	f := flow.NewHTTPFlow(nil, nil)
	f.Request = &flow.Request{Method: "GET", Scheme: "http", Path: "/replayed", Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.Headers{}, RawContent: []byte{}}}
	f.Request.SetURL("http://" + originHost + "/replayed")
	f.Request.Headers.Set("Host", originHost)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.srv.Send(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Response.RawContent); !strings.HasPrefix(got, "GET /replayed HTTP/1.1") {
		t.Errorf("response %q", got)
	}
	if via := viaName(f.ServerConn.Via); via != "http://"+b {
		t.Errorf("via %s", via)
	}
	if got := paths(rec.flows(t, 1)); got != "/replayed" {
		t.Errorf("the upstream proxy got %s", got)
	}
}
