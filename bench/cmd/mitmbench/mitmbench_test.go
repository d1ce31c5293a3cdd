package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// fakeProxyEnv makes the test binary act as a proxy that the harness
// starts (see fakeMitmdump); its value is a file that records the
// arguments.
const fakeProxyEnv = "MITMBENCH_FAKE_MITMDUMP"

func TestMain(m *testing.M) {
	if path := os.Getenv(fakeProxyEnv); path != "" {
		if err := fakeMitmdump(path, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake mitmdump:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeMitmdump stands in for mitmdump: it appends its arguments to
// argsFile, writes a CA certificate into the confdir as mitmdump does,
// listens on -p as a tunnelling proxy, and exits on SIGINT.
func fakeMitmdump(argsFile string, args []string) error {
	f, err := os.OpenFile(argsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, strings.Join(args, "\x00"))
	f.Close()
	var port, confdir string
	for i, a := range args {
		if a == "-p" && i+1 < len(args) {
			port = args[i+1]
		}
		if c, ok := strings.CutPrefix(a, "confdir="); ok {
			confdir = c
		}
	}
	if port == "" || confdir == "" {
		return errors.New("no -p or confdir")
	}
	_, _, caPEM, err := selfSignedCert("p256")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(confdir, caFile), caPEM, 0o600); err != nil {
		return err
	}
	// What the memory measurements set in the environment, for the tests
	// to check; and the debug endpoint they ask for goroutines.
	env := fmt.Sprintf("GODEBUG=%s\x00GOTRACEBACK=%s\x00%s=%s\n", os.Getenv("GODEBUG"), os.Getenv("GOTRACEBACK"), debugAddrEnv, os.Getenv(debugAddrEnv))
	if err := appendFile(argsFile+".env", env); err != nil {
		return err
	}
	if addr := os.Getenv(debugAddrEnv); addr != "" {
		dl, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go http.Serve(dl, http.DefaultServeMux)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	p := serveTunnelProxy(ln)
	// A GC now: with GODEBUG=gctrace=1 its line tells the harness the
	// live heap, as a busy mitmgo's would.
	runtime.GC()
	<-sig
	p.close()
	return nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// tunnelProxy is a trivial proxy: CONNECT becomes a raw tunnel (the client
// sees the origin's own certificate), an absolute-form request is relayed
// with its connection to the origin unchanged (the origin accepts
// absolute-form targets).
type tunnelProxy struct {
	connServer
}

func serveTunnelProxy(ln net.Listener) *tunnelProxy {
	p := &tunnelProxy{}
	p.start(ln, p.handle)
	return p
}

func (p *tunnelProxy) handle(c net.Conn) {
	br := bufio.NewReader(c)
	var head bytes.Buffer
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	head.WriteString(line)
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(h)
		if strings.TrimSpace(h) == "" {
			break
		}
	}
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return
	}
	host := fields[1]
	if fields[0] != "CONNECT" {
		u, err := url.Parse(fields[1])
		if err != nil {
			return
		}
		host = u.Host
	}
	up, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	if fields[0] == "CONNECT" {
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	} else {
		up.Write(head.Bytes())
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func startTunnelProxy(t *testing.T) *tunnelProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := serveTunnelProxy(ln)
	t.Cleanup(p.close)
	return p
}

// reportOf is the report of rows measured with o (no processes, nothing
// skipped).
func reportOf(o options, rows []row) string {
	var out bytes.Buffer
	printReport(&out, o, rows, nil, nil, "0", "0")
	return out.String()
}

// checkReport fails the test for each of want that report lacks.
func checkReport(t *testing.T, report string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q:\n%s", w, report)
		}
	}
}

// serveOneConn listens on 127.0.0.1 until the test ends and hands its first
// connection, with a reader on it, to serve, closing it when serve returns.
func serveOneConn(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
		serve(c, bufio.NewReader(c))
	}()
	return ln.Addr().String()
}

// readHead reads a request or response head up to its blank line, and
// returns its lines (the blank one not): what it read when err is not nil.
func readHead(br *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return lines, err
		}
		if l == "\r\n" {
			return lines, nil
		}
		lines = append(lines, l)
	}
}

// TestLoadScenarios runs every scenario briefly with each load generator
// against each kind of origin, directly and through the tunnelling proxy.
func TestLoadScenarios(t *testing.T) {
	for _, kind := range originKinds {
		for _, client := range clientKinds {
			if client == clientWrk {
				continue // http only, no -n, not always installed: TestRunWrk
			}
			t.Run(kind+"/"+client, func(t *testing.T) { testLoadScenarios(t, kind, client) })
		}
	}
}

func testLoadScenarios(t *testing.T, kind, client string) {
	o, err := startOrigin(kind, "p256")
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	proxy := startTunnelProxy(t)
	roots := x509.NewCertPool()
	roots.AddCert(o.cert)
	for _, tt := range []struct {
		scenario, path string
		viaProxy       bool
		max            int64
	}{
		// Plain HTTP runs for its duration (long enough for requests at
		// a load of 18, where 150 ms once made none); the TLS runs stop
		// after a number of requests instead, which stays quick and
		// reliable when -race and a busy machine make handshakes slow
		// (the duration is then only an upper bound).
		{scenarioHTTP, "/small", false, 0},
		{scenarioHTTP, "/large", true, 0},
		{scenarioHTTP, "/small", true, 50},
		{scenarioHTTPS, "/small", false, 40},
		{scenarioHTTPS, "/large", true, 40},
		{scenarioHTTPSNewConn, "/small", false, 12},
		{scenarioHTTPSNewConn, "/large", true, 12},
	} {
		name := fmt.Sprintf("%s%s,proxy=%v,n=%d", tt.scenario, tt.path, tt.viaProxy, tt.max)
		t.Run(name, func(t *testing.T) {
			cfg := loadConfig{
				scenario: tt.scenario, target: o.addr(), viaProxy: tt.viaProxy, originAddr: o.addr(),
				path: tt.path, conns: 4, duration: 500 * time.Millisecond, warmup: 20 * time.Millisecond,
				maxRequests: tt.max, ioTimeout: 5 * time.Second, client: client,
			}
			if tt.scenario != scenarioHTTP {
				cfg.target, cfg.originAddr, cfg.tlsConfig = o.tlsAddr(), o.tlsAddr(), clientTLS(roots)
				cfg.duration = 5 * time.Second
			}
			if tt.viaProxy {
				cfg.target = proxy.addr()
			}
			before := o.handshakes.Load()
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.errors != 0 || res.requests == 0 || len(res.latencies) != int(res.requests) {
				t.Errorf("%d requests, %d errors, %d latencies", res.requests, res.errors, len(res.latencies))
			}
			if want := int64(bodySizes[tt.path]) * res.requests; res.bytes != want {
				t.Errorf("read %d body bytes, want %d", res.bytes, want)
			}
			if tt.max > 0 && res.requests > tt.max {
				t.Errorf("%d requests, more than -n %d", res.requests, tt.max)
			}
			if res.percentile(50) > res.percentile(99) {
				t.Errorf("percentiles out of order")
			}
			switch hs := o.handshakes.Load() - before; tt.scenario {
			case scenarioHTTP:
				if hs != 0 {
					t.Errorf("%d TLS handshakes for plain HTTP", hs)
				}
			case scenarioHTTPS:
				if hs != int64(cfg.conns) {
					t.Errorf("%d TLS handshakes for %d keep-alive connections", hs, cfg.conns)
				}
			case scenarioHTTPSNewConn:
				// Warm-up requests shake hands too.
				if hs < res.requests {
					t.Errorf("%d TLS handshakes for %d requests on new connections", hs, res.requests)
				}
			}
		})
	}
}

func TestClientTLSHasNoSessionCache(t *testing.T) {
	if c := clientTLS(x509.NewCertPool()); c.ClientSessionCache != nil || c.SessionTicketsDisabled {
		t.Errorf("clientTLS: ClientSessionCache %v; want nil, so that every handshake is a full one", c.ClientSessionCache)
	}
}

// useFakeMitmdump makes the test binary stand in for the mitmdump the
// harness starts (see TestMain): exe is the binary to give as -mitmgo-bin,
// and every start appends its arguments to argsFile.
func useFakeMitmdump(t *testing.T) (exe, argsFile string) {
	argsFile = filepath.Join(t.TempDir(), "args")
	t.Setenv(fakeProxyEnv, argsFile)
	// A program built with -race sleeps a second at exit unless told not
	// to, and the fake proxy is started and stopped several times.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe, argsFile
}

// TestRunEndToEnd runs the whole harness briefly: direct, the tunnelling
// proxy given with -proxy, and the test binary standing in for a mitmdump
// it starts, with and without a script.
func TestRunEndToEnd(t *testing.T) {
	exe, argsFile := useFakeMitmdump(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "add_header.py")
	if err := os.WriteFile(script, []byte("def response(flow):\n    flow.response.headers[\"newheader\"] = \"foo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := startTunnelProxy(t)
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		// Each run ends after 8 requests (5s only bounds it), so that
		// slow handshakes under -race on a busy machine still finish.
		conns: 2, duration: 5 * time.Second, maxRequests: 8, warmup: 10 * time.Millisecond,
		bodies: []string{"small"}, scenarios: scenarios, proxy: proxy.addr(),
		mitmgo: true, mitmgoBin: exe, proxyArgs: []string{"-q"}, script: script + " arg1",
		originKey: "p256", originKind: originRaw, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	checkReport(t, report, scenarioTitles[scenarioHTTP], scenarioTitles[scenarioHTTPS], scenarioTitles[scenarioHTTPSNewConn], scenarioTitles[scenarioH2],
		scenarioTitles[scenarioWS], "client: raw (the harness's own HTTP/1.1 client, fastest)\n        h2: "+h2ClientDescription+"\n        ws: "+wsClientDescription,
		"mitmgo +script", "start, cold", "origin TLS handshakes that resumed a session: direct, small: 0%",
		// The tunnelling proxies leave ALPN to the origin.
		"ALPN with the client, per connection (all rounds): direct h2 2; proxy "+proxy.addr()+" h2 2; mitmgo h2 2; mitmgo +script h2 2")
	if strings.Contains(report, "failed") {
		t.Errorf("a run failed:\n%s\n%s", report, log.String())
	}
	// 4 tables x 4 targets: direct, proxy, mitmgo, mitmgo +script; and
	// the ws table's rows, whose messages are 100 B.
	if n := strings.Count(report, " small "); n != 16 {
		t.Errorf("%d result rows, want 16:\n%s", n, report)
	}
	if n := strings.Count(report, " 100 B "); n != 4 {
		t.Errorf("%d ws rows, want 4:\n%s", n, report)
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	// Cold and warm start of each of the two started targets.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d proxy starts, want 4:\n%s", len(lines), data)
	}
	for i, l := range lines {
		args := strings.Split(l, "\x00")
		joined := strings.Join(args, " ")
		if !strings.Contains(joined, "--set ssl_verify_upstream_trusted_ca=") || !strings.Contains(joined, "-q") {
			t.Errorf("start %d: %q lacks the upstream trust or -proxy-args", i, joined)
		}
		hasScript := strings.Contains(joined, "-s "+script+" arg1")
		if wantScript := i >= 2; hasScript != wantScript {
			t.Errorf("start %d: script passed = %v, want %v: %q", i, hasScript, wantScript, joined)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	base := options{bodies: []string{"small"}, scenarios: scenarios, originKey: "p256", originKind: originRaw, conns: 1, duration: time.Second, ioTimeout: time.Second}
	for _, tt := range []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"unknown scenario", func(o *options) { o.scenarios = []string{"h3"} }, false},
		{"unknown body", func(o *options) { o.bodies = []string{"huge"} }, false},
		{"unknown key", func(o *options) { o.originKey = "dsa" }, false},
		{"unknown origin", func(o *options) { o.originKind = "nginx" }, false},
		{"nethttp origin", func(o *options) { o.originKind = originNetHTTP }, true},
		{"missing script", func(o *options) { o.script = "/nonexistent/x.py" }, false},
		{"script-only without script", func(o *options) { o.scriptOnly = true }, false},
		{"remote proxy", func(o *options) { o.proxy = "10.0.0.1:8080" }, false},
		{"no connections", func(o *options) { o.conns = 0 }, false},
		{"rounds", func(o *options) { o.rounds = 5 }, true},
		{"negative rounds", func(o *options) { o.rounds = -1 }, false},
		{"negative ws-conn-bytes", func(o *options) { o.wsConnBytes = -1 }, false},
		{"ws only", func(o *options) { o.scenarios = []string{scenarioWS} }, true},
		{"proxy-pid without -proxy", func(o *options) { o.proxyPID = os.Getpid() }, false},
		{"proxy-pid", func(o *options) { o.proxy, o.proxyPID = "127.0.0.1:8080", os.Getpid() }, true},
		{"proxy-pid of no process", func(o *options) { o.proxy, o.proxyPID = "127.0.0.1:8080", 1<<30 }, false},
	} {
		o := base
		tt.change(&o)
		if err := o.validate(); (err == nil) != tt.ok {
			t.Errorf("%s: validate() = %v", tt.name, err)
		}
	}
}

func TestConnectTunnelRefused(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		br := bufio.NewReader(server)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		server.Write([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"))
	}()
	if err := connectTunnel(client, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "407") {
		t.Errorf("got %v, want a 407 error", err)
	}
}

func TestRoundTripConnectionClose(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		bufio.NewReader(server).ReadString('\n')
		server.Write([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(3) + "\r\n\r\nabc"))
	}()
	n, err := roundTrip(client, bufio.NewReader(client), "GET / HTTP/1.1\r\n\r\n")
	if n != 3 || !errors.Is(err, errConnClose) {
		t.Errorf("roundTrip = %d, %v; want 3, errConnClose", n, err)
	}
}

func TestRoundTripChunked(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		bufio.NewReader(server).ReadString('\n')
		server.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"))
	}()
	n, err := roundTrip(client, bufio.NewReader(client), "GET / HTTP/1.1\r\n\r\n")
	if err != nil || n != 8 {
		t.Errorf("roundTrip = %d, %v; want 8, nil", n, err)
	}
}

func TestRoundTripRejectsErrors(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		bufio.NewReader(server).ReadString('\n')
		server.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
	}()
	if _, err := roundTrip(client, bufio.NewReader(client), "GET / HTTP/1.1\r\n\r\n"); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("got %v, want a 502 error", err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:1": true,
		"10.0.0.1:8080": false, "example.com:80": false, "nonsense": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add("GET /small HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("GET http://127.0.0.1:1/large HTTP/1.0\r\nConnection: close\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		path, _, err := readRequest(bufio.NewReader(strings.NewReader(in)))
		if err == nil && strings.Contains(path, "://") {
			t.Errorf("absolute-form target not reduced: %q", path)
		}
	})
}

// TestNetHTTPOrigin fetches both bodies from the nethttp origin with
// net/http's client over HTTP and HTTPS; the client offers h2 as well, and
// the origin must still answer in HTTP/1.1.
func TestNetHTTPOrigin(t *testing.T) {
	o, err := startOrigin(originNetHTTP, "p256")
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	roots := x509.NewCertPool()
	roots.AddCert(o.cert)
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, tt := range []struct {
		base, path string
		status     int
	}{
		{"http://" + o.addr(), "/small", 200},
		{"http://" + o.addr(), "/large", 200},
		{"https://" + o.tlsAddr(), "/small", 200},
		{"https://" + o.tlsAddr(), "/large", 200},
		{"http://" + o.addr(), "/missing", 404},
	} {
		t.Run(tt.base+tt.path, func(t *testing.T) {
			// Twice: the second request reuses the connection.
			for range 2 {
				resp, err := client.Get(tt.base + tt.path)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tt.status || resp.Proto != "HTTP/1.1" {
					t.Fatalf("%s %d, want HTTP/1.1 %d", resp.Proto, resp.StatusCode, tt.status)
				}
				if tt.status != 200 {
					continue
				}
				if want := bodySizes[tt.path]; len(body) != want || resp.ContentLength != int64(want) {
					t.Errorf("body %d bytes, Content-Length %d; want %d", len(body), resp.ContentLength, want)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
					t.Errorf("Content-Type %q", ct)
				}
				if resp.TLS != nil && resp.TLS.NegotiatedProtocol != "http/1.1" {
					t.Errorf("ALPN %q, want http/1.1", resp.TLS.NegotiatedProtocol)
				}
			}
		})
	}
	if hs := o.handshakes.Load(); hs != 1 {
		t.Errorf("%d TLS handshakes for one keep-alive connection", hs)
	}
}

func TestNginxConfig(t *testing.T) {
	for _, tt := range []struct {
		name  string
		root  bool
		build string
		want  []string
		not   []string
	}{
		{"root, full build", true, "configure arguments: --with-http_ssl_module", []string{"user root;", "uwsgi_temp_path /d/uwsgi;", "scgi_temp_path /d/scgi;"}, nil},
		{"user, no uwsgi", false, "configure arguments: --without-http_uwsgi_module", []string{"scgi_temp_path /d/scgi;", "fastcgi_temp_path /d/fastcgi;"}, []string{"user ", "uwsgi_temp_path"}},
	} {
		conf := nginxConfig("/d", 8080, "127.0.0.1:9", 32, tt.root, tt.build)
		common := []string{
			"daemon off;", "master_process on;", "worker_processes auto;", "error_log /d/error.log", "pid /d/nginx.pid;",
			"access_log off;", "client_body_temp_path /d/client_body;", "proxy_temp_path /d/proxy;",
			"server 127.0.0.1:9;", "keepalive 64;", "listen 127.0.0.1:8080;", "proxy_pass http://origin_up;",
			"proxy_http_version 1.1;", `proxy_set_header Connection "";`, "proxy_set_header Host $http_host;", "proxy_buffering on;",
		}
		for _, w := range append(common, tt.want...) {
			if !strings.Contains(conf, w) {
				t.Errorf("%s: config lacks %q:\n%s", tt.name, w, conf)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(conf, n) {
				t.Errorf("%s: config has %q:\n%s", tt.name, n, conf)
			}
		}
		if strings.Count(conf, "{") != strings.Count(conf, "}") {
			t.Errorf("%s: unbalanced braces:\n%s", tt.name, conf)
		}
	}
}

// TestRunNginx runs the harness with -compare-nginx against the nethttp
// origin: nginx is measured in the http scenario and noted as not measured
// in https, and no nginx process is left afterwards.
func TestRunNginx(t *testing.T) {
	if _, err := findNginx("nginx"); err != nil {
		t.Skip("nginx not installed (apt-get install nginx-light); skipping the nginx comparison")
	}
	// The harness's temporary directory, and with it nginx's
	// configuration path, is then under this test's own directory.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		conns: 2, duration: 5 * time.Second, maxRequests: 20, warmup: 10 * time.Millisecond,
		bodies: []string{"small", "large"}, scenarios: []string{scenarioHTTP, scenarioHTTPS},
		compareNginx: true, nginxBin: "nginx",
		originKey: "p256", originKind: originNetHTTP, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	for _, want := range []string{"origin: nethttp", "nginx: not measured here", "start, cold"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s\n%s", want, report, log.String())
		}
	}
	if strings.Contains(report, "failed") || strings.Contains(report, "not measured: nginx") {
		t.Errorf("nginx was not measured:\n%s\n%s", report, log.String())
	}
	results, stats := 0, 0
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 10 && (f[1] == "small" || f[1] == "large"):
			// target body req/s p50 p99 3 ratios CPU/req errors
			results++
			if f[0] == nginxName && f[9] != "0" {
				t.Errorf("nginx had errors: %q", l)
			}
		case len(f) >= 5 && f[0] == nginxName:
			stats++
			if f[3] == "n/a" && runtime.GOOS == "linux" {
				t.Errorf("no peak RSS for nginx: %q", l)
			}
		}
	}
	// Direct small and large in http and https, nginx in http only.
	if results != 6 || stats != 1 {
		t.Errorf("%d result rows, want 6; %d nginx stats rows, want 1:\n%s", results, stats, report)
	}
	if left := processesMentioning(tmp); len(left) > 0 {
		t.Errorf("nginx processes left running: %v", left)
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), s) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

// TestRunNginxMissing: without nginx the harness says so and measures the
// rest.
func TestRunNginxMissing(t *testing.T) {
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		conns: 1, duration: 5 * time.Second, maxRequests: 5, warmup: 10 * time.Millisecond,
		bodies: []string{"small"}, scenarios: []string{scenarioHTTP},
		compareNginx: true, nginxBin: filepath.Join(t.TempDir(), "no-nginx"),
		originKey: "p256", originKind: originRaw, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "skipped: nginx not found") {
		t.Errorf("no skip message:\n%s", log.String())
	}
	if !strings.Contains(out.String(), "not measured: nginx") || !strings.Contains(out.String(), "direct  small") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestNginxProbeFails starts nginx for an origin that is not there: the
// start fails, and the error shows nginx's error log.
func TestNginxProbeFails(t *testing.T) {
	bin, err := findNginx("nginx")
	if err != nil {
		t.Skip("nginx not installed (apt-get install nginx-light)")
	}
	port, err := benchkit.FreePort() // free a moment ago: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	tg := nginxTarget(bin, nginxBuild(context.Background(), bin), "127.0.0.1:"+strconv.Itoa(port), 1, 10*time.Second, 5*time.Second)
	dir := t.TempDir()
	p, err := tg.start(context.Background(), dir)
	if err == nil {
		p.stop()
		t.Fatal("nginx started for an origin that does not listen")
	}
	t.Log(err)
	if msg := err.Error(); !strings.Contains(msg, "does not proxy") || !strings.Contains(msg, "nginx error log") {
		t.Errorf("error does not explain itself: %v", err)
	}
	if left := processesMentioning(dir); len(left) > 0 {
		t.Errorf("nginx processes left running: %v", left)
	}
}
