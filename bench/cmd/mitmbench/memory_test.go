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

// memOptions are quick memory measurements: a few connections, short
// waits, a soak of about a second.
func memOptions() options {
	return options{
		conns: len(soakKinds), duration: time.Second, warmup: 10 * time.Millisecond,
		bodies: []string{"small"}, scenarios: scenarios, proxyArgs: []string{"-q"},
		originKey: "p256", originKind: originRaw, startTimeout: 30 * time.Second, ioTimeout: 5 * time.Second,
		idleNs: []int{30}, idleProtos: idleProtos, idleSettle: 100 * time.Millisecond,
		afterClose: 600 * time.Millisecond, sampleEvery: 300 * time.Millisecond,
		openConc: 8, openTimeout: 30 * time.Second,
		soak: 1200 * time.Millisecond, soakEvery: 400 * time.Millisecond, gctrace: true,
	}
}

// TestRunMemory runs -idle and -soak through the tunnelling proxy (given
// with -proxy and -proxy-pid: this process) and the test binary standing
// in for a mitmgo the harness starts, which serves the goroutine count on
// MITMGO_DEBUG_ADDR (the test binary mentions the name) and prints a GC
// trace and a goroutine dump as any Go program does.
func TestRunMemory(t *testing.T) {
	exe, argsFile := useFakeMitmdump(t)
	proxy := startTunnelProxy(t)
	o := memOptions()
	o.proxy, o.proxyPID = proxy.addr(), os.Getpid()
	o.mitmgo, o.mitmgoBin = true, exe
	var out, log bytes.Buffer
	began := time.Now()
	if err := run(context.Background(), o, &out, &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if d := time.Since(began); d > 60*time.Second {
		t.Errorf("took %v", d)
	}
	report := out.String()
	if strings.Contains(report, "failed") {
		t.Fatalf("a measurement failed:\n%s\n%s", report, log.String())
	}
	name := regexp.QuoteMeta("proxy " + proxy.addr())
	for _, re := range []string{
		// Idle, with them open: all 30 open, a per-connection figure.
		`(?m)^ +` + name + ` +http +30 +\S+ +30/30 +[\d.]+ MiB +[\d.]+ MiB +-?[\d.]+ KiB `,
		`(?m)^ +` + name + ` +https +30 +\S+ +30/30 `,
		// mitmgo's rows have goroutines (pprof) and a live heap (GC trace).
		`(?m)^ +mitmgo +http +30 +\S+ +30/30 .* \d+ +\d+ +\d+ MiB \(gc \d+\) *$`,
		`(?m)^ +mitmgo +https +30 +\S+ +30/30 `,
		// After the close: samples at +0s, +300ms and +600ms.
		`(?m)^ +target +proto +conns +idle start +\+0s +\+300ms +\+600ms +\+600ms / idle start`,
		`(?m)^ +mitmgo +https +30 +[\d.]+ MiB( +[\d.]+ MiB){3} +[\d.]+x `,
		`goroutines at the end, \+600ms after the close`,
		`(?m)^  mitmgo, http, 30: \d+ goroutines`,
		// The soak: samples every 400ms, then after the load.
		`(?m)^ +mitmgo +1.2s +[\d.]+ MiB .* \d+ +\d+ +0 *$`,
		`(?m)^ +mitmgo +\+600ms after `,
		`(?m)^ +` + name + ` +400ms `,
		`(?m)^  mitmgo: \d+ requests and \d+ aborts \(.*\); 0 errors; peak RSS`,
		`(?m)^  mitmgo: \d+ goroutines at the end \(SIGQUIT dump\)`,
		`descriptor limits \(RLIMIT_NOFILE soft/hard\): harness \d+/\d+.*; mitmgo \d+/\d+`,
	} {
		if !regexp.MustCompile(re).MatchString(report) {
			t.Errorf("report does not match %s:\n%s", re, report)
		}
	}
	// Every kind of soak work was done, through both proxies.
	for _, m := range regexp.MustCompile(`(?m)^  \S.*: \d+ requests and \d+ aborts \((.*)\);`).FindAllStringSubmatch(report, -1) {
		for part := range strings.SplitSeq(m[1], ", ") {
			if strings.HasSuffix(part, " 0") {
				t.Errorf("soak kind without work: %s", part)
			}
		}
	}
	// The fake mitmgo was started with the GC trace, the traceback and
	// the debug endpoint, and with the raised descriptor limit.
	env, err := os.ReadFile(argsFile + ".env")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(env)), "\n")
	// One start for the CA, two idle measurements, one soak.
	if len(lines) != 4 {
		t.Fatalf("%d starts, want 4:\n%s", len(lines), env)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "gctrace=1") || !strings.Contains(l, "GOTRACEBACK=all") || !strings.Contains(l, debugAddrEnv+"=127.0.0.1:") {
			t.Errorf("environment %q lacks the GC trace, the traceback or the debug address", l)
		}
	}
}

// TestIdleRefusedByProxyLimit: a proxy whose descriptor limit cannot hold
// the connections is refused before any is opened, saying how many fit.
func TestIdleRefusedByProxyLimit(t *testing.T) {
	if _, err := os.Stat("/proc/self/limits"); err != nil {
		t.Skip("no /proc/PID/limits here")
	}
	// A process with a low limit stands for the proxy's process.
	cmd := exec.Command("sh", "-c", "ulimit -n 100 && exec sleep 30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot run sh:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if lim, err := readFileLimit(cmd.Process.Pid); err == nil && lim.soft == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the limit of sh did not become 100")
		}
		time.Sleep(10 * time.Millisecond)
	}
	proxy := startTunnelProxy(t)
	o := memOptions()
	o.proxy, o.proxyPID, o.mitmgo, o.soak = proxy.addr(), cmd.Process.Pid, false, 0
	o.idleNs, o.idleProtos = []int{100}, []string{idleHTTP}
	var out, log bytes.Buffer
	if err := run(context.Background(), o, &out, &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	want := "failed: cannot be reached: the proxy's descriptor limit is 100/100, and 100 idle connections need about 264 in it (a client and an upstream socket each): at most 18 fit"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}

// TestRaiseFileLimit raises this process's soft limit to its hard one,
// checks that a child inherits it, and that a need beyond what the kernel
// allows is refused without a change.
func TestRaiseFileLimit(t *testing.T) {
	if _, err := os.Stat("/proc/sys/fs/nr_open"); err != nil {
		t.Skip("not Linux")
	}
	before, after, err := raiseFileLimit(64)
	if err != nil {
		t.Fatal(err)
	}
	if after.soft != after.hard || after.hard != before.hard {
		t.Errorf("raised %v to %v, want the soft limit at the hard one", before, after)
	}
	out, err := exec.Command("sh", "-c", "ulimit -n").Output()
	if err != nil {
		t.Skip("cannot run sh:", err)
	}
	if got := strings.TrimSpace(string(out)); got != after.String()[:strings.IndexByte(after.String(), '/')] && !(after.soft == unlimited && got == "unlimited") {
		t.Errorf("a child's limit is %s, want %v", got, after)
	}
	huge := int64(nrOpenMax()) + 1
	b2, a2, err := raiseFileLimit(huge)
	if err == nil || !strings.Contains(err.Error(), "fs.nr_open") || a2 != b2 {
		t.Errorf("raiseFileLimit(%d) = %v -> %v, %v; want an error naming fs.nr_open and no change", huge, b2, a2, err)
	}
}

func TestValidateMemory(t *testing.T) {
	base := memOptions()
	_, hi, portErr := localPortRange()
	for _, tt := range []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"zero connections", func(o *options) { o.idleNs = []int{0} }, false},
		{"too many connections", func(o *options) { o.idleNs = []int{maxIdleConns + 1} }, false},
		{"unknown protocol", func(o *options) { o.idleProtos = []string{"h2"} }, false},
		{"soak too long", func(o *options) { o.soak = 2 * time.Hour }, false},
		{"negative soak", func(o *options) { o.soak = -time.Second }, false},
		{"after-close too long", func(o *options) { o.afterClose = time.Hour }, false},
		{"no sample interval", func(o *options) { o.sampleEvery = 0 }, false},
		{"no soak interval", func(o *options) { o.soakEvery = 0 }, false},
		{"no concurrency", func(o *options) { o.openConc = 0 }, false},
		{"no open timeout", func(o *options) { o.openTimeout = 0 }, false},
		{"-proxy without -proxy-pid", func(o *options) { o.proxy = "127.0.0.1:8080" }, false},
		{"-proxy with -proxy-pid", func(o *options) { o.proxy, o.proxyPID = "127.0.0.1:8080", os.Getpid() }, true},
		{"-proxy-debug without -proxy", func(o *options) { o.proxyDebug = "127.0.0.1:6060" }, false},
		{"-proxy-debug remote", func(o *options) {
			o.proxy, o.proxyPID, o.proxyDebug = "127.0.0.1:8080", os.Getpid(), "10.0.0.1:6060"
		}, false},
		{"more connections than local ports", func(o *options) { o.idleNs = []int{hi + 1} }, portErr != nil || hi+1 > maxIdleConns},
	} {
		o := base
		o.idleNs = append([]int(nil), base.idleNs...)
		tt.change(&o)
		if err := o.validateMemory(); (err == nil) != tt.ok {
			t.Errorf("%s: validateMemory() = %v", tt.name, err)
		}
	}
}

// TestRunMemoryMitmproxy measures Debian's mitmproxy briefly, when it is
// installed.
func TestRunMemoryMitmproxy(t *testing.T) {
	if _, err := exec.LookPath("mitmdump"); err != nil {
		t.Skip("mitmdump not installed (apt-get install mitmproxy); skipping mitmproxy's memory")
	}
	if testing.Short() {
		t.Skip("-short: mitmproxy takes seconds to start")
	}
	o := memOptions()
	o.mitmgo, o.compare, o.mitmproxyBin = false, true, "mitmdump"
	o.idleNs = []int{20}
	var out, log bytes.Buffer
	if err := run(context.Background(), o, &out, &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	report := out.String()
	for _, re := range []string{
		`(?m)^ +mitmproxy +http +20 +\S+ +20/20 `,
		`(?m)^ +mitmproxy +https +20 +\S+ +20/20 `,
		`(?m)^  mitmproxy: \d+ requests and \d+ aborts \(.*\); \d+ errors`,
	} {
		if !regexp.MustCompile(re).MatchString(report) {
			t.Errorf("report does not match %s:\n%s\n%s", re, report, log.String())
		}
	}
	// mitmproxy is not a Go program: no GC trace, no dump.
	if strings.Contains(report, "(gc ") || strings.Contains(report, "SIGQUIT dump), by") {
		t.Errorf("Go figures for mitmproxy:\n%s", report)
	}
}
