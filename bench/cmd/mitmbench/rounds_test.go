package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func result(rps float64, p50, p99 time.Duration) *loadResult {
	// 1s elapsed: requests = rps. Latencies: half at p50, the rest at p99.
	r := &loadResult{requests: int64(rps), elapsed: time.Second}
	for i := 0; i < 100; i++ {
		l := p50
		if i >= 98 {
			l = p99
		}
		r.latencies = append(r.latencies, l)
	}
	return r
}

func TestAggregate(t *testing.T) {
	ms := time.Millisecond
	direct := map[int]*loadResult{
		0: result(100, 1*ms, 4*ms),
		1: result(200, 1*ms, 4*ms),
		2: result(300, 2*ms, 4*ms),
		// round 3 has no direct run (it failed): its proxied run counts
		// for the medians of its own figures, not for the ratios.
	}
	runs := []row{
		{round: 0, res: result(50, 2*ms, 8*ms)},
		{round: 1, res: result(60, 4*ms, 8*ms)},
		{round: 2, res: result(150, 2*ms, 12*ms)},
		{round: 3, res: result(1000, 1*ms, 1*ms)},
	}
	a := aggregate(runs, direct)
	check := func(name string, got, want float64) {
		t.Helper()
		if d := got - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("rps (median of 50 60 150 1000)", a.rps, 105)
	check("rps ratio (median of .5 .3 .5)", a.rpsRatio, 0.5)
	check("p50 ratio (median of 2 4 1)", a.p50Ratio, 2)
	check("p99 ratio (median of 2 2 3)", a.p99Ratio, 2)
	check("p50", float64(a.p50), float64(2*ms))
	if len(a.rpsRatios) != 3 || a.requests != 1260 {
		t.Errorf("ratios %v, requests %d", a.rpsRatios, a.requests)
	}
	if got := joinRatios(a.rpsRatios); got != "0.50 0.30 0.50 (median 0.50)" {
		t.Errorf("joinRatios = %q", got)
	}
	if a := aggregate(runs[:1], nil); a.rpsRatio != 0 || fmtRatio(a.rpsRatio) != "-" {
		t.Errorf("without a direct run the ratio is %v", a.rpsRatio)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRunRounds runs the harness with three rounds: each started proxy is
// started once (cold and warm), every target runs once per round, each
// round opens with a different target, and the report gives each round's
// ratio and their median. The -proxy is this process, given with
// -proxy-pid: its CPU time per request and peak RSS are reported.
func TestRunRounds(t *testing.T) {
	exe, argsFile := useFakeMitmdump(t)
	proxy := startTunnelProxy(t)
	var out, log bytes.Buffer
	err := run(context.Background(), options{
		conns: 2, duration: 5 * time.Second, maxRequests: 8, warmup: 10 * time.Millisecond,
		bodies: []string{"small"}, scenarios: []string{scenarioHTTP}, proxy: proxy.addr(), proxyPID: os.Getpid(),
		mitmgo: true, mitmgoBin: exe, proxyArgs: []string{"-q"}, rounds: 3,
		originKey: "p256", originKind: originRaw, startTimeout: 10 * time.Second, ioTimeout: 5 * time.Second,
	}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	if strings.Contains(report, "failed") {
		t.Fatalf("a run failed:\n%s\n%s", report, log.String())
	}
	if !strings.Contains(report, "3 rounds, the targets taking turns") {
		t.Errorf("report does not say it took rounds:\n%s", report)
	}
	// One row per target, and one line of ratios per proxy.
	if n := len(regexp.MustCompile(`(?m) small +\d+ `).FindAllString(report, -1)); n != 3 {
		t.Errorf("%d result rows, want 3:\n%s", n, report)
	}
	// A run of 8 requests on a loaded machine may be ten times faster
	// through a proxy than direct: ratios of two digits and more.
	perRound := regexp.MustCompile(`(?m)^  (mitmgo|proxy \S+), small body: \d+\.\d\d \d+\.\d\d \d+\.\d\d \(median \d+\.\d\d\)$`)
	if n := len(perRound.FindAllString(report, -1)); n != 2 {
		t.Errorf("%d lines of ratios by round, want 2:\n%s", n, report)
	}
	// The -proxy row has a CPU time per request, and a line in the
	// proxies' table without start times.
	external := regexp.MustCompile(`(?m)^ +proxy \S+ +small( +\S+){6} +(\d+µs|[\d.]+m?s) +0 *$`)
	if !external.MatchString(report) {
		t.Errorf("no CPU time per request for the -proxy-pid proxy:\n%s", report)
	}
	if !regexp.MustCompile(`(?m)^ +proxy \S+ +- +- +\d+\.\d MiB +\d+\.\d\ds *$`).MatchString(report) {
		t.Errorf("no peak RSS and CPU for the -proxy-pid proxy:\n%s", report)
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Split(strings.TrimSpace(string(data)), "\n")); n != 2 {
		t.Errorf("mitmgo started %d times, want 2 (cold and warm, once for all rounds)", n)
	}
	// Who opened each round.
	measuring := regexp.MustCompile(`(?m)^measuring (.+?), http, small body, .*, round (\d) of 3`)
	first := map[string]string{}
	for _, m := range measuring.FindAllStringSubmatch(log.String(), -1) {
		if _, ok := first[m[2]]; !ok {
			first[m[2]] = m[1]
		}
	}
	openers := []string{first["1"], first["2"], first["3"]}
	if len(openers) != 3 || openers[0] == openers[1] || openers[1] == openers[2] || openers[0] == openers[2] {
		t.Errorf("rounds opened by %q, want three different targets:\n%s", openers, log.String())
	}
}
