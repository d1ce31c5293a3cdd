package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestMitmdumpModeSpecErrors: mitmdump refuses a bad mode spec, naming
// the problem, and exits 2 before anything listens.
func TestMitmdumpModeSpecErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "nonsense"}, "Invalid proxy mode specification: nonsense (unknown mode)"},
		{[]string{"--mode", "regular@1x"}, "Invalid proxy mode specification: regular@1x (invalid port: 1x)"},
		{[]string{"--mode", "reverse:ftp://example.com"}, "Invalid proxy mode specification: reverse:ftp://example.com (Invalid server scheme: ftp)"},
		{[]string{"--mode", "upstream:http://example.com:99999"}, "(Invalid port: 99999)"},
		{[]string{"--mode", "regular", "--mode", "wireguard"}, "Invalid proxy mode specification: wireguard (mitmgo has no wireguard mode yet: WireGuard, local and TUN modes come later)"},
		{[]string{"--mode", "reverse:quic://example.com"}, "(mitmgo has no quic reverse proxy yet: HTTP/3, QUIC and DTLS reverse proxies come later)"},
		{[]string{"--mode", "regular@127.0.0.1:8123", "--mode", "upstream:http://x@127.0.0.1:8123"}, "Cannot spawn multiple servers on the same address: 127.0.0.1:8123"},
	} {
		md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, tt.args...)
		if code := md.Wait(t, 30*time.Second); code != 2 {
			t.Errorf("%q: exit %d, want 2:\n%s", tt.args, code, md.Output())
		}
		if out := md.Output(); !strings.Contains(out, tt.want) || strings.Contains(out, "listening at") {
			t.Errorf("%q: output %q, want %q and no listener", tt.args, out, tt.want)
		}
	}
}

// TestMitmdumpSeveralModes: one mitmdump runs a regular, a reverse and a
// SOCKS5 proxy, prints a listening line for each, and the flows it saves
// record the mode they came through.
func TestMitmdumpSeveralModes(t *testing.T) {
	_, originHost := echoOrigin(t)
	out := filepath.Join(t.TempDir(), "flows")
	reverse := "reverse:http://" + originHost + "@127.0.0.1:0"
	md := testutil.StartMitmdump(t, "--mode", "regular", "--mode", reverse, "--mode", "socks5@127.0.0.1:0", "-w", out)
	regularAddr := md.Listening(t, "HTTP(S) proxy")
	reverseAddr := md.Listening(t, "reverse proxy to http://"+originHost)
	socksAddr := md.Listening(t, "SOCKS v5 proxy")
	if regularAddr != md.Addr || reverseAddr == md.Addr || socksAddr == md.Addr || socksAddr == reverseAddr {
		t.Fatalf("listeners %s, %s and %s (first: %s)", regularAddr, reverseAddr, socksAddr, md.Addr)
	}
	if got := getVia(t, regularAddr, "http://"+originHost+"/r", nil); !strings.HasPrefix(got, "GET /r ") {
		t.Errorf("regular: %q", got)
	}
	if got := getVia(t, "", "http://"+reverseAddr+"/v", nil); !strings.HasPrefix(got, "GET /v HTTP/1.1 host="+originHost) {
		t.Errorf("reverse: %q", got)
	}
	md.WaitOutput(t, "GET http://"+originHost+"/v", 5*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	modes := map[string]string{}
	for _, v := range readFlowFile(t, out) {
		if f, ok := v.(*flow.HTTPFlow); ok {
			modes[f.Request.Path] = f.ClientConn.ProxyMode
		}
	}
	if modes["/r"] != "regular" || modes["/v"] != reverse {
		t.Errorf("proxy_mode in the flow file: %q", modes)
	}
}

// TestMitmdumpUpstreamChain: client → mitmdump in upstream mode (with
// upstream_auth) → mitmdump in regular mode (with proxyauth) → origin,
// over HTTP and HTTPS (the client trusts the first mitmdump's CA, which
// trusts the second's).
func TestMitmdumpUpstreamChain(t *testing.T) {
	_, originHost := echoOrigin(t)
	origin := tlsOrigin(t)
	// The second proxy wants the credentials (proxyauth): a request or
	// CONNECT without them would get 407.
	second := testutil.StartMitmdump(t, "--ssl-insecure", "--set", "proxyauth=user:pass")
	confdir := t.TempDir()
	first := testutil.StartMitmdump(t, "--mode", "upstream:http://"+second.Addr, "--set", "upstream_auth=user:pass",
		"--set", "confdir="+confdir, "--set", "ssl_verify_upstream_trusted_ca="+filepath.Join(confdirOf(t, second), "mitmproxy-ca-cert.pem"))
	roots := &tls.Config{RootCAs: caPool(t, confdir)}
	if got := getVia(t, first.Addr, "http://"+originHost+"/plain", nil); !strings.HasPrefix(got, "GET /plain HTTP/1.1") {
		t.Errorf("http: %q", got)
	}
	if got := getVia(t, first.Addr, origin.URL+"/tls", roots); !strings.HasPrefix(got, "HTTP/1.1 /tls") {
		t.Errorf("https: %q", got)
	}
	first.WaitOutput(t, "/tls", 5*time.Second)
	second.WaitOutput(t, "/tls", 5*time.Second)
	if !strings.Contains(first.Output(), "server connect "+originHost+" via http://"+second.Addr) {
		t.Errorf("no server connect line through the upstream proxy:\n%s", first.Output())
	}
}

// confdirOf is the confdir StartMitmdump gave md (its --set confdir=).
func confdirOf(t *testing.T, md *testutil.Mitmdump) string {
	t.Helper()
	for _, a := range md.Cmd.Args {
		if d, ok := strings.CutPrefix(a, "confdir="); ok {
			return d
		}
	}
	t.Fatal("no confdir in mitmdump's arguments")
	return ""
}

// changeUpstream is mitmproxy 12's change_upstream_proxy example, routing
// by path instead of by a hash of the host, with the second proxy's
// address parsed by mitmproxy.net.server_spec.
const changeUpstream = `from mitmproxy import http
from mitmproxy.connection import Server
from mitmproxy.net import server_spec
from mitmproxy.net.server_spec import ServerSpec

SECOND = server_spec.parse("http://%s", "http")


def proxy_address(flow: http.HTTPFlow) -> tuple[str, int]:
    if flow.request.path.startswith("/second"):
        return SECOND[1]
    return ("127.0.0.1", %d)


def request(flow: http.HTTPFlow) -> None:
    address = proxy_address(flow)

    is_proxy_change = address != flow.server_conn.via[1]
    server_connection_already_open = flow.server_conn.timestamp_start is not None
    if is_proxy_change and server_connection_already_open:
        # server_conn already refers to an existing connection (which cannot be modified),
        # so we need to replace it with a new server connection object.
        flow.server_conn = Server(address=flow.server_conn.address)
    flow.server_conn.via = ServerSpec(("http", address))
`

// TestMitmdumpChangeUpstreamProxy: a Python script sends some requests
// through another upstream proxy, as mitmproxy's change_upstream_proxy
// example does, for plain HTTP (on one client connection, so that the
// server connection is open for the later requests) and HTTPS.
func TestMitmdumpChangeUpstreamProxy(t *testing.T) {
	needPython(t)
	_, originHost := echoOrigin(t)
	origin := tlsOrigin(t)
	rec1, rec2 := &flowLog{}, &flowLog{}
	b1 := startModes(t, []any{tlsconfig.New(), rec1}, []string{"regular"}, "confdir="+t.TempDir(), "ssl_insecure=true").addrs["regular"]
	b2 := startModes(t, []any{tlsconfig.New(), rec2}, []string{"regular"}, "confdir="+t.TempDir(), "ssl_insecure=true").addrs["regular"]
	dir := scriptDir(t, map[string]string{"change_upstream_proxy.py": fmt.Sprintf(changeUpstream, b2, mustTCPAddr(t, b1).Port)})
	confdir := t.TempDir()
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "--mode", "upstream:http://"+b1,
		"--set", "connection_strategy=lazy", "--set", "upstream_cert=false", "--ssl-insecure",
		"--set", "confdir="+confdir, "-s", "change_upstream_proxy.py")

	// Plain HTTP, one connection.
	c := dial(t, md.Addr)
	c.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(c)
	for _, path := range []string{"/first", "/second", "/first/again", "/second/again"} {
		fmt.Fprintf(c, "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", originHost, path, originHost)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", path, err, md.Output())
		}
		body := new(bytes.Buffer)
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(body.String(), "GET "+path+" ") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	// HTTPS, the tunnel's server connected lazily through the proxy the
	// script chose.
	roots := &tls.Config{RootCAs: caPool(t, confdir)}
	if got := getVia(t, md.Addr, origin.URL+"/second/tls", roots); !strings.HasPrefix(got, "HTTP/1.1 /second/tls") {
		t.Errorf("https: %q", got)
	}
	if got := paths(rec1.flows(t, 2)); got != "/first /first/again" {
		t.Errorf("first upstream proxy got %s", got)
	}
	if got := paths(rec2.flows(t, 3)); got != "/second /second/again /second/tls" {
		t.Errorf("second upstream proxy got %s\n%s", got, md.Output())
	}
}
