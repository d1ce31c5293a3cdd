package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestParseH2load(t *testing.T) {
	for _, tt := range []struct {
		file     string
		protocol string
		// total, done, succeeded, failed, errored, timeout
		counts [6]int64
		status [4]int64
	}{
		{"testdata/h2load-ok.txt", "h2", [6]int64{29067, 29067, 29067, 0, 0, 0}, [4]int64{29080, 0, 0, 0}},
		// 404s, 500s and reset streams: all three are failed.
		{"testdata/h2load-errors.txt", "h2", [6]int64{32690, 32690, 8173, 24517, 8171, 0}, [4]int64{8173, 0, 8173, 8173}},
		{"testdata/h2load-h1.txt", "http/1.1", [6]int64{37829, 37829, 37829, 0, 0, 0}, [4]int64{37829, 0, 0, 0}},
		// h2load offered only h2 to a server without it: no protocol,
		// no request.
		{"testdata/h2load-noalpn.txt", "", [6]int64{}, [4]int64{}},
	} {
		out, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseH2load(out)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got := [6]int64{r.total, r.done, r.succeeded, r.failed, r.errored, r.timeout}
		if r.protocol != tt.protocol || got != tt.counts || r.status != tt.status {
			t.Errorf("%s: %q %v %v, want %q %v %v", tt.file, r.protocol, got, r.status, tt.protocol, tt.counts, tt.status)
		}
	}
	for _, bad := range []string{
		"",
		"starting benchmark...\n",
		// No status codes line.
		"requests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout\n",
		"requests: 99999999999999999999 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout\nstatus codes: 1 2xx, 0 3xx, 0 4xx, 0 5xx\n",
	} {
		if r, err := parseH2load([]byte(bad)); err == nil {
			t.Errorf("parseH2load(%q) = %+v, want an error", bad, r)
		}
	}
}

func FuzzParseH2load(f *testing.F) {
	for _, file := range []string{"testdata/h2load-ok.txt", "testdata/h2load-errors.txt", "testdata/h2load-h1.txt", "testdata/h2load-noalpn.txt"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := parseH2load(out)
		if err != nil {
			return
		}
		if r.total < 0 || r.succeeded < 0 || r.failed < 0 || strings.ContainsAny(r.protocol, " \n") {
			t.Fatalf("parseH2load accepted %q as %+v", out, r)
		}
	})
}

func TestParseH2loadLog(t *testing.T) {
	data, err := os.ReadFile("testdata/h2load-requests.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseH2loadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	// 10 lines with 200, two each of 404, 500 and -1 (failed streams).
	if r.ok != 10 || r.other != 6 || len(r.latencies) != 10 {
		t.Fatalf("%d ok, %d other, %d latencies; want 10, 6, 10", r.ok, r.other, len(r.latencies))
	}
	if r.latencies[0] != 181*time.Microsecond || r.latencies[9] != 5216*time.Microsecond {
		t.Errorf("latencies %v, want sorted from 181µs to 5.216ms", r.latencies)
	}
	if r, err := parseH2loadLog(nil); err != nil || r.ok != 0 {
		t.Errorf("empty log: %+v, %v", r, err)
	}
	for _, bad := range []string{"1\t200\n", "1\t200\tx\n", "1\tOK\t5\n", "1\t200\t-1\n", "1\t200\t99999999999999999\n"} {
		if r, err := parseH2loadLog([]byte(bad)); err == nil {
			t.Errorf("parseH2loadLog(%q) = %+v, want an error", bad, r)
		}
	}
}

func FuzzParseH2loadLog(f *testing.F) {
	if b, err := os.ReadFile("testdata/h2load-requests.log"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("1\t200\t0\n\n2\t-1\t3\t4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseH2loadLog(data)
		if err != nil {
			return
		}
		if r.ok != int64(len(r.latencies)) || r.other < 0 {
			t.Fatalf("parseH2loadLog accepted %q as %+v", data, r)
		}
		for i, l := range r.latencies {
			if l < 0 || i > 0 && l < r.latencies[i-1] {
				t.Fatalf("latencies negative or unsorted: %v", r.latencies)
			}
		}
	})
}

func TestH2loadArgs(t *testing.T) {
	cfg := loadConfig{originAddr: "127.0.0.1:8443", path: "/large", conns: 32, streams: 10,
		duration: 5 * time.Second, warmup: 500 * time.Millisecond, ioTimeout: 10 * time.Second}
	h2 := strings.Join(h2loadArgs(cfg, "h2", "127.0.0.1:9", "/t/log"), " ")
	for _, want := range []string{"-c 32 ", "-D 5000ms", "--warm-up-time 500ms", "-m 10 --npn-list h2", "--connect-to 127.0.0.1:9", "--log-file /t/log", " https://127.0.0.1:8443/large"} {
		if !strings.Contains(h2, want) {
			t.Errorf("h2 args %q lack %q", h2, want)
		}
	}
	// A target that does not speak h2: one request at a time on
	// HTTP/1.1, not h2load's pipelining.
	h1 := strings.Join(h2loadArgs(cfg, "http/1.1", "127.0.0.1:9", "/t/log"), " ")
	if !strings.Contains(h1, "-m 1 --h1") || strings.Contains(h1, "npn-list") {
		t.Errorf("downgraded args %q", h1)
	}
	cfg.warmup = 0
	if a := strings.Join(h2loadArgs(cfg, "h2", "x", "y"), " "); strings.Contains(a, "warm-up") {
		t.Errorf("no warm-up, but %q", a)
	}
}

// h2TestClient is a Go HTTP/2 client for the origin's h2 listener.
func h2TestClient(t *testing.T, o *origin) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(o.cert)
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// TestH2Origin fetches the bodies from each kind of origin's h2 listener
// over HTTP/2, and over HTTP/1.1 from a client that does not offer h2.
func TestH2Origin(t *testing.T) {
	for _, kind := range originKinds {
		t.Run(kind, func(t *testing.T) {
			o, err := startOrigin(kind, "p256")
			if err != nil {
				t.Fatal(err)
			}
			defer o.close()
			h2c := h2TestClient(t, o)
			roots := x509.NewCertPool()
			roots.AddCert(o.cert)
			h1tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}}
			defer h1tr.CloseIdleConnections()
			h1c := &http.Client{Transport: h1tr, Timeout: 5 * time.Second}
			for _, tt := range []struct {
				client *http.Client
				proto  string
				path   string
				status int
			}{
				{h2c, "HTTP/2.0", "/small", 200},
				{h2c, "HTTP/2.0", "/large", 200},
				{h2c, "HTTP/2.0", "/missing?x=1", 404},
				{h1c, "HTTP/1.1", "/small", 200},
				{h1c, "HTTP/1.1", "/large", 200},
			} {
				// Twice: the second request reuses the connection.
				for range 2 {
					resp, err := tt.client.Get("https://" + o.h2Addr() + tt.path)
					if err != nil {
						t.Fatalf("%s %s: %v", tt.proto, tt.path, err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					if resp.Proto != tt.proto || resp.StatusCode != tt.status {
						t.Fatalf("%s: %s %d, want %s %d", tt.path, resp.Proto, resp.StatusCode, tt.proto, tt.status)
					}
					if want := bodySizes[tt.path]; tt.status == 200 && (len(body) != want || resp.ContentLength != int64(want)) {
						t.Errorf("%s %s: body %d bytes, Content-Length %d; want %d", tt.proto, tt.path, len(body), resp.ContentLength, want)
					}
				}
			}
			// One connection per client.
			if a := o.alpn(); a.h2 != 1 || a.h1 != 1 || a.none != 0 {
				t.Errorf("origin ALPN counts %v, want h2 1, http/1.1 1", a)
			}
		})
	}
}

// TestRawH2FlowControl talks to the raw origin's HTTP/2 server frame by
// frame with a small stream window: it must send no more than the window
// allows, and the rest after WINDOW_UPDATE, in frames no larger than the
// peer's maximum.
func TestRawH2FlowControl(t *testing.T) {
	o, err := startOrigin(originRaw, "p256")
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	roots := x509.NewCertPool()
	roots.AddCert(o.cert)
	c, err := tls.Dial("tcp", o.h2Addr(), &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q", p)
	}
	bw := bufio.NewWriter(c)
	fr := http2.NewFramer(bw, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	const window = 1000
	io.WriteString(bw, h2Preface)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", o.h2Addr()}, {":path", "/large"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hbuf.Bytes(), EndHeaders: true, EndStream: true})
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	var got int
	var status string
	ended, updated := false, false
	for !ended {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			status = f.PseudoValue("status")
		case *http2.DataFrame:
			if len(f.Data()) > 16384 {
				t.Fatalf("DATA frame of %d bytes, more than the default maximum", len(f.Data()))
			}
			got += len(f.Data())
			ended = f.StreamEnded()
			if !updated && got > window {
				t.Fatalf("%d bytes sent within a stream window of %d", got, window)
			}
			if !updated && got == window {
				// Both windows open wide: the rest may come.
				updated = true
				fr.WriteWindowUpdate(1, 1<<20)
				fr.WriteWindowUpdate(0, 1<<20)
				bw.Flush()
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
				bw.Flush()
			}
		}
	}
	if status != "200" || got != bodySizes["/large"] || !updated {
		t.Errorf("status %q, %d body bytes (window updated: %v); want 200, %d", status, got, updated, bodySizes["/large"])
	}
}

// TestRunH2 runs the Go HTTP/2 load generator briefly: directly against
// both kinds of origin, through the tunnelling proxy (which leaves ALPN to
// the origin: h2), and against the origin's HTTP/1.1-only listener, where
// the connections are downgraded and must be counted as such.
func TestRunH2(t *testing.T) {
	proxy := startTunnelProxy(t)
	for _, tt := range []struct {
		name, kind, path string
		viaProxy         bool
		h1Only           bool
	}{
		{"raw/direct", originRaw, "/small", false, false},
		{"raw/proxy", originRaw, "/large", true, false},
		{"nethttp/direct", originNetHTTP, "/large", false, false},
		{"nethttp/proxy", originNetHTTP, "/small", true, false},
		{"raw/downgraded", originRaw, "/small", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := startOrigin(tt.kind, "p256")
			if err != nil {
				t.Fatal(err)
			}
			defer o.close()
			roots := x509.NewCertPool()
			roots.AddCert(o.cert)
			originAddr := o.h2Addr()
			if tt.h1Only {
				originAddr = o.tlsAddr()
			}
			cfg := loadConfig{
				scenario: scenarioH2, target: originAddr, viaProxy: tt.viaProxy, originAddr: originAddr,
				tlsConfig: h2ClientTLS(clientTLS(roots)), path: tt.path, conns: 3, streams: 4,
				// The run ends after -n requests; the duration only
				// bounds it, for a slow machine under -race.
				duration: 5 * time.Second, warmup: 20 * time.Millisecond, maxRequests: 60, ioTimeout: 5 * time.Second,
				client: clientRaw,
			}
			if tt.viaProxy {
				cfg.target = proxy.addr()
			}
			start := time.Now()
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("run took %v", d)
			}
			if res.errors != 0 || res.requests == 0 || len(res.latencies) != int(res.requests) {
				t.Errorf("%d requests, %d errors, %d latencies", res.requests, res.errors, len(res.latencies))
			}
			if want := int64(bodySizes[tt.path]) * res.requests; res.bytes != want {
				t.Errorf("read %d body bytes, want %d", res.bytes, want)
			}
			want := alpnCounts{h2: 3}
			if tt.h1Only {
				want = alpnCounts{h1: 3}
			}
			if !res.hasALPN || res.alpn != want {
				t.Errorf("client ALPN %v, want %v", res.alpn, want)
			}
			if got := o.alpn(); got != want {
				t.Errorf("origin ALPN %v, want %v", got, want)
			}
		})
	}
}

// TestRunH2load runs h2load through the harness, directly and through the
// tunnelling proxy (given with -proxy and -proxy-pid, so that its CPU time
// is read at h2load's phase lines).
func TestRunH2load(t *testing.T) {
	if _, err := exec.LookPath("h2load"); err != nil {
		t.Skip("h2load not installed (apt-get install nghttp2-client); skipping the h2load client")
	}
	proxy := startTunnelProxy(t)
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		conns: 2, streams: 4, duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond,
		bodies: []string{"small", "large"}, scenarios: []string{scenarioH2}, proxy: proxy.addr(), proxyPID: os.Getpid(),
		clientKind: clientH2load, h2loadBin: "h2load",
		originKey: "p256", originKind: originRaw, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	if strings.Contains(report, "failed") || strings.Contains(report, "DOWNGRADED") || !strings.Contains(report, "client: h2load") {
		t.Fatalf("report:\n%s\n%s", report, log.String())
	}
	row := regexp.MustCompile(`(?m)^ +proxy \S+ +(small|large) +(\d+) +\S+ +\S+ +\d+\.\d\d .* +0 +h2 *$`)
	if m := row.FindAllStringSubmatch(report, -1); len(m) != 2 || m[0][2] == "0" || m[1][2] == "0" {
		t.Errorf("want two proxied h2load rows with requests, no errors, ALPN h2:\n%s", report)
	}
	if !strings.Contains(report, "ALPN with the client, per connection (all rounds): direct h2 4; proxy "+proxy.addr()+" h2 4") {
		t.Errorf("ALPN line:\n%s", report)
	}
}

func TestH2Options(t *testing.T) {
	base := options{bodies: []string{"small"}, scenarios: []string{scenarioH2}, originKey: "p256", originKind: originRaw,
		conns: 1, duration: time.Second, ioTimeout: time.Second, clientKind: clientH2load, h2loadBin: "h2load"}
	for _, tt := range []struct {
		name   string
		change func(*options)
		want   string
	}{
		{"https", func(o *options) { o.scenarios = []string{scenarioHTTPS, scenarioH2} }, "h2 scenario only"},
		{"-n", func(o *options) { o.maxRequests = 10 }, "no -n"},
		{"missing", func(o *options) { o.h2loadBin = "/nonexistent/h2load" }, "not found"},
		{"streams", func(o *options) { o.clientKind, o.streams = clientRaw, -1 }, "-streams"},
		{"wrk", func(o *options) { o.clientKind, o.wrkBin = clientWrk, "/bin/true" }, "http scenario only"},
	} {
		o := base
		tt.change(&o)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
	o := base
	o.clientKind = clientRaw
	if err := o.validate(); err != nil || o.streams != 10 {
		t.Errorf("h2 with the Go client: %v, streams %d (want the default 10)", err, o.streams)
	}
}

func TestALPNReport(t *testing.T) {
	for _, tt := range []struct {
		c    alpnCounts
		want string
	}{
		{alpnCounts{}, "-"},
		{alpnCounts{h2: 32}, "h2"},
		{alpnCounts{h1: 32}, "http/1.1 (DOWNGRADED)"},
		{alpnCounts{none: 3}, "none (DOWNGRADED)"},
		{alpnCounts{h2: 30, h1: 2}, "h2 30, http/1.1 2 (DOWNGRADED)"},
	} {
		if got := alpnCell("mitmgo", tt.c); got != tt.want {
			t.Errorf("alpnCell(%v) = %q, want %q", tt.c, got, tt.want)
		}
	}
	res := func(rps int64, a alpnCounts) *loadResult {
		return &loadResult{requests: rps, elapsed: time.Second, latencies: []time.Duration{time.Millisecond}, alpn: a, hasALPN: true}
	}
	rows := []row{
		{target: "direct", scenario: scenarioH2, body: "small", res: res(1000, alpnCounts{h2: 4}), originALPN: alpnCounts{h2: 4}},
		{target: "mitmgo", scenario: scenarioH2, body: "small", res: res(500, alpnCounts{h1: 4}), originALPN: alpnCounts{h1: 5}},
		{target: "mitmproxy", scenario: scenarioH2, body: "small", res: res(10, alpnCounts{h2: 4}), originALPN: alpnCounts{h2: 4}},
	}
	o := options{conns: 4, streams: 10, bodies: []string{"small"}, scenarios: []string{scenarioH2}, rounds: 1,
		originKind: originRaw, originKey: "p256", clientKind: clientRaw}
	report := reportOf(o, rows)
	checkReport(t, report,
		"client: "+h2ClientDescription,
		"4 connections x 10 streams: up to 40 requests in flight",
		"ALPN with the client, per connection (all rounds): direct h2 4; mitmgo http/1.1 4; mitmproxy h2 4",
		"ALPN at the origin, per handshake",
		"direct h2 4; mitmgo http/1.1 5; mitmproxy h2 4",
		"DOWNGRADED: mitmgo: the proxy did not agree on h2 on 4 of 4 connections",
		"(4 in flight, not 40)",
	)
	if n := strings.Count(report, "DOWNGRADED:"); n != 1 {
		t.Errorf("%d downgrade notes, want 1 (mitmgo's):\n%s", n, report)
	}
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == "direct" || f[0] == "mitmproxy") && f[len(f)-1] != "h2" {
			t.Errorf("row without ALPN h2: %q", l)
		}
	}
}

// TestRelayRefused: a relay whose proxy refuses the CONNECT counts the
// failure and closes the client's connection.
func TestRelayRefused(t *testing.T) {
	addr := serveOneConn(t, func(c net.Conn, br *bufio.Reader) {
		readHead(br)
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	})
	r, err := startRelay(loadConfig{target: addr, viaProxy: true, originAddr: "127.0.0.1:1", ioTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	c, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from a refused tunnel", n)
	}
	if r.failures() != 1 || r.lastError() == nil || !strings.Contains(r.lastError().Error(), "403") {
		t.Errorf("failures %d, last %v; want 1, a 403", r.failures(), r.lastError())
	}
}
