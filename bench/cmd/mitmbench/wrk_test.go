package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	for _, tt := range []struct {
		file              string
		requests, errors  int64
		elapsed, p50, p99 time.Duration
	}{
		{"testdata/wrk-ok.txt", 9832, 0, time.Second, 678 * time.Microsecond, 5840 * time.Microsecond},
		// 100 non-2xx responses are in wrk's total; 10 socket errors
		// are not.
		{"testdata/wrk-errors.txt", 19900, 110, 2 * time.Second, 1500 * time.Microsecond, 1200 * time.Millisecond},
	} {
		out, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseWrk(out)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if r.requests != tt.requests || r.errors != tt.errors || r.elapsed != tt.elapsed ||
			r.percentile(50) != tt.p50 || r.percentile(99) != tt.p99 {
			t.Errorf("%s: %d requests, %d errors, %v, p50 %v, p99 %v; want %d, %d, %v, %v, %v", tt.file,
				r.requests, r.errors, r.elapsed, r.percentile(50), r.percentile(99),
				tt.requests, tt.errors, tt.elapsed, tt.p50, tt.p99)
		}
	}
	for _, bad := range []string{
		"",
		"unable to connect to 127.0.0.1:9 Connection refused",
		// No --latency distribution.
		"  9832 requests in 1.00s, 2.84MB read\nRequests/sec:   9810.15\n",
		"  9832 requests in 1.00x, 2.84MB read\n",
	} {
		if r, err := parseWrk([]byte(bad)); err == nil {
			t.Errorf("parseWrk(%q) = %+v, want an error", bad, r)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	for _, file := range []string{"testdata/wrk-ok.txt", "testdata/wrk-errors.txt"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("  1 requests in 99999999999999999999m,\n     50%  1e308m\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := parseWrk(out)
		if err != nil {
			return
		}
		if r.requests < 0 || r.errors < 0 || r.elapsed < 0 || len(r.pcts) != 4 {
			t.Fatalf("parseWrk accepted %q as %+v", out, r)
		}
	})
}

// TestRunWrk drives the origin directly and through a tunnelling proxy
// with wrk: both rows are measured, the proxied one with the proxy's CPU
// time (it runs in this process, given with -proxy-pid).
func TestRunWrk(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed (apt-get install wrk); skipping the wrk client")
	}
	proxy := startTunnelProxy(t)
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		conns: 4, duration: time.Second, warmup: 0,
		bodies: []string{"small"}, scenarios: []string{scenarioHTTP}, proxy: proxy.addr(), proxyPID: os.Getpid(),
		clientKind: clientWrk, wrkBin: "wrk",
		originKey: "p256", originKind: originNetHTTP, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	if strings.Contains(report, "failed") || !strings.Contains(report, "client: wrk") {
		t.Fatalf("report:\n%s\n%s", report, log.String())
	}
	row := regexp.MustCompile(`(?m)^ +proxy \S+ +small +(\d+) +\S+ +\S+ +\d\.\d\d .* +0 *$`)
	m := row.FindStringSubmatch(report)
	if m == nil || m[1] == "0" {
		t.Errorf("no proxied wrk row with requests and no errors:\n%s", report)
	}
}

func TestWrkOptions(t *testing.T) {
	base := options{bodies: []string{"small"}, scenarios: []string{scenarioHTTP}, originKey: "p256", originKind: originRaw,
		conns: 1, duration: time.Second, ioTimeout: time.Second, clientKind: clientWrk, wrkBin: "wrk"}
	for _, tt := range []struct {
		name   string
		change func(*options)
		want   string
	}{
		{"https", func(o *options) { o.scenarios = scenarios }, "http scenario only"},
		{"-n", func(o *options) { o.maxRequests = 10 }, "no -n"},
		{"missing", func(o *options) { o.wrkBin = "/nonexistent/wrk" }, "not found"},
	} {
		o := base
		tt.change(&o)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}
