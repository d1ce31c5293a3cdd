// Command mitmbench measures what a proxy costs: it starts an HTTP/1.1
// origin on loopback (plain HTTP, and HTTPS with a self-signed certificate
// made at start; its own minimal server, or net/http with -origin nethttp),
// drives it directly and through proxies (mitmgo's mitmdump, built from
// ./cmd/mitmdump; optionally Debian's mitmdump, and nginx as a forward
// proxy for plain HTTP; or any proxy given with -proxy), and prints
// requests per second and p50/p99 latency with ratios against the direct
// run of the same scenario, plus each started proxy's start-to-listening
// time, peak RSS and CPU time.
//
// Scenarios: plain HTTP keep-alive, HTTPS keep-alive (CONNECT, then TLS with
// the proxy's minted certificate), HTTPS with a new connection and a full
// handshake per request, and HTTP/2 (ALPN h2, -streams concurrent streams
// per connection, with the Go client or h2load; the report says which
// protocol each target agreed on, and when a proxy downgraded to HTTP/1.1).
// With -script, the started proxies are also measured with a script loaded
// (-s).
//
// Everything stays on 127.0.0.1 and every run is bounded by -d (and -n);
// see bench/README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

type options struct {
	conns        int
	streams      int
	duration     time.Duration
	warmup       time.Duration
	maxRequests  int64
	bodies       []string
	scenarios    []string
	proxy        string
	proxyCA      string
	proxyPID     int
	mitmgo       bool
	mitmgoBin    string
	compare      bool
	mitmproxyBin string
	proxyArgs    []string
	script       string
	scriptOnly   bool
	originKey    string
	originKind   string
	clientKind   string
	wrkBin       string
	h2loadBin    string
	compareNginx bool
	nginxBin     string
	// The Go peers (peers.go).
	compareGoproxy bool
	compareGomitm  bool
	gomitmSrc      string
	sslInsecure    bool
	startTimeout   time.Duration
	ioTimeout      time.Duration
	rounds         int
	wsConnBytes    int64

	// The memory measurements (memory.go): -idle and -soak.
	idleNs      []int
	idleProtos  []string
	idleSettle  time.Duration
	afterClose  time.Duration
	sampleEvery time.Duration
	openConc    int
	openTimeout time.Duration
	soak        time.Duration
	soakEvery   time.Duration
	gctrace     bool
	proxyDebug  string
}

func main() {
	var o options
	var bodies, scens, proxyArgs string
	flag.IntVar(&o.conns, "c", 32, "concurrent connections (workers)")
	flag.IntVar(&o.streams, "streams", 10, "h2 scenario: concurrent streams (requests in flight) per connection")
	flag.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of each run")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each run")
	flag.Int64Var(&o.maxRequests, "n", 0, "stop a run after this many measured requests (0: only -d bounds it)")
	flag.StringVar(&bodies, "bodies", "small,large", "bodies to fetch: small (200 B), large (64 KiB); in the ws scenario, the message size: small (100 B), large (64 KiB)")
	flag.StringVar(&scens, "scenarios", strings.Join(scenarios, ","), "scenarios to run: http (keep-alive), https (keep-alive), https-newconn (a new TLS connection per request), h2 (HTTP/2, -streams per connection), ws (WebSocket echoes, one message in flight per connection)")
	flag.StringVar(&o.proxy, "proxy", "", "also measure an already running proxy at host:port (loopback only)")
	flag.StringVar(&o.proxyCA, "proxy-ca", "", "CA certificate (PEM) of the -proxy proxy, for the HTTPS scenarios")
	flag.IntVar(&o.proxyPID, "proxy-pid", 0, "process ID of the -proxy proxy: report its CPU time per request and peak RSS")
	flag.BoolVar(&o.mitmgo, "mitmgo", true, "build ./cmd/mitmdump and measure it")
	flag.StringVar(&o.mitmgoBin, "mitmgo-bin", "", "use this mitmgo mitmdump binary instead of building one")
	flag.BoolVar(&o.compare, "compare-mitmproxy", false, "also measure Debian's mitmproxy mitmdump, when installed")
	flag.StringVar(&o.mitmproxyBin, "mitmproxy-bin", "mitmdump", "mitmproxy's mitmdump for -compare-mitmproxy")
	flag.StringVar(&proxyArgs, "proxy-args", "-q", "extra arguments for the proxies the harness starts (space-separated)")
	flag.StringVar(&o.script, "script", "", "also measure the started proxies with -s SCRIPT (a path, optionally followed by its arguments)")
	flag.BoolVar(&o.scriptOnly, "script-only", false, "with -script, measure the started proxies only with the script")
	flag.StringVar(&o.originKey, "origin-key", "p256", "key of the origin's certificate: "+strings.Join(originKeyTypes, " or "))
	flag.StringVar(&o.clientKind, "client", clientRaw, "the load generator: raw (the harness's own, fastest Go client), nethttp (net/http's Client), wrk (the C load generator, http scenario only) or h2load (nghttp2's, h2 scenario only); h2 otherwise uses the harness's Go HTTP/2 client")
	flag.StringVar(&o.wrkBin, "wrk-bin", "wrk", "wrk binary for -client wrk")
	flag.StringVar(&o.h2loadBin, "h2load-bin", "h2load", "h2load binary for -client h2load")
	flag.StringVar(&o.originKind, "origin", originRaw, "the origin's server: raw (the harness's own, fastest) or nethttp (a plain net/http server)")
	flag.BoolVar(&o.compareNginx, "compare-nginx", false, "also measure nginx as a forward proxy in the http scenario, when installed")
	flag.StringVar(&o.nginxBin, "nginx-bin", "nginx", "nginx binary for -compare-nginx")
	flag.BoolVar(&o.compareGoproxy, "compare-goproxy", false, "also measure github.com/elazarl/goproxy as an intercepting proxy (bench/peers/goproxy, built with the go command)")
	flag.BoolVar(&o.compareGomitm, "compare-gomitmproxy", false, "also measure github.com/lqqyt2423/go-mitmproxy as an intercepting proxy (bench/peers/gomitmproxy, built with the go command)")
	flag.StringVar(&o.gomitmSrc, "gomitmproxy-src", "", "-compare-gomitmproxy: build against this checkout of github.com/lqqyt2423/go-mitmproxy instead of the pinned version from the module proxy")
	flag.BoolVar(&o.sslInsecure, "ssl-insecure", false, "start the proxies with -k instead of trusting the origin's certificate (ssl_verify_upstream_trusted_ca)")
	flag.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long a started proxy may take to listen")
	flag.DurationVar(&o.ioTimeout, "io-timeout", 10*time.Second, "how long one request may take (with https-newconn: connect, handshake and request)")
	flag.Int64Var(&o.wsConnBytes, "ws-conn-bytes", 4<<20, "ws scenario: replace a WebSocket connection once it has sent this many bytes of messages, as the proxies keep every message of a connection until it closes (0: never)")
	flag.IntVar(&o.rounds, "rounds", 1, "repeat every run this many times, the targets taking turns, and report medians (steadier figures on a busy machine)")
	var idleNs, idleProtoList string
	flag.StringVar(&idleNs, "idle", "", "measure memory per idle connection instead of throughput: numbers of connections, comma-separated (for instance 1000,10000)")
	flag.StringVar(&idleProtoList, "idle-protos", strings.Join(idleProtos, ","), "-idle: which idle connections: http (one request, then idle), https (CONNECT, TLS handshake, one request, then idle)")
	flag.DurationVar(&o.idleSettle, "idle-settle", 3*time.Second, "-idle, -soak: wait this long before reading the idle start, and after the last connection opened")
	flag.DurationVar(&o.afterClose, "after-close", 30*time.Second, "-idle, -soak: follow the proxy's memory this long after the connections close")
	flag.DurationVar(&o.sampleEvery, "sample-every", 5*time.Second, "-idle, -soak: read the memory this often after the connections close")
	flag.IntVar(&o.openConc, "open-concurrency", 64, "-idle: connections being opened at once")
	flag.DurationVar(&o.openTimeout, "open-timeout", 5*time.Minute, "-idle: give up when the connections are not all open after this long")
	flag.DurationVar(&o.soak, "soak", 0, "measure memory during a mixed load of this duration instead of throughput (for instance 3m; at most 1h); -c workers")
	flag.DurationVar(&o.soakEvery, "soak-every", 10*time.Second, "-soak: read the memory this often")
	flag.BoolVar(&o.gctrace, "gctrace", true, "-idle, -soak: start mitmgo with GODEBUG=gctrace=1 and report its live heap")
	flag.StringVar(&o.proxyDebug, "proxy-debug", "", "-idle, -soak: loopback host:port where the -proxy proxy serves /debug/pprof/ (for its goroutine count)")
	flag.Parse()
	for _, f := range strings.Split(idleNs, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil {
			fmt.Fprintf(os.Stderr, "mitmbench: -idle %q: not a number\n", f)
			os.Exit(2)
		}
		o.idleNs = append(o.idleNs, n)
	}
	o.idleProtos = strings.Split(idleProtoList, ",")
	o.bodies = strings.Split(bodies, ",")
	o.scenarios = strings.Split(scens, ",")
	o.proxyArgs = strings.Fields(proxyArgs)

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mitmbench:", err)
		os.Exit(1)
	}
}

// target is one way of reaching the origin.
type target struct {
	name string
	// addr is the proxy's address; "" for the direct run.
	addr string
	// start launches the proxy; nil for direct and external proxies.
	start func(ctx context.Context, confdir string) (*proxyProc, error)
	// startWith is start with options for the process (the memory
	// measurements' environment and output watchers).
	startWith func(ctx context.Context, confdir string, opts procOptions) (*proxyProc, error)
	// bin is the binary a started proxy runs ("" for nginx, which is
	// not a mitmdump).
	bin string
	// goProxy marks a mitmgo: a Go program, whose GC trace and
	// goroutine dump the memory measurements can read.
	goProxy bool
	// roots are what the client trusts in the HTTPS scenarios: the
	// origin's certificate, plus the proxy's CA once known.
	roots *x509.CertPool
	// httpOnly marks a forward proxy without CONNECT (nginx): measured
	// in the http scenario only, and without a CA to read.
	httpOnly bool
	// proc is the started proxy; stats are the measurements of a started
	// proxy or of a -proxy given with -proxy-pid, whose CPU time cpu
	// reads.
	proc  *proxyProc
	stats *procStats
	cpu   func() time.Duration
}

// row is one measured run, or with note, why a target was not measured
// in a scenario.
type row struct {
	target, scenario, body string
	// round counts from 0 (see -rounds).
	round int
	res   *loadResult
	err   error
	note  string
	// handshakes and resumed count the origin's TLS handshakes during the
	// run (warm-up included), and those of them that resumed a session;
	// originALPN counts them by the protocol agreed on in ALPN.
	handshakes, resumed int64
	originALPN          alpnCounts
}

// procStats are the measurements of a started proxy.
type procStats struct {
	target               string
	coldStart, warmStart time.Duration
	peakRSS              int64
	// cpu is the CPU time of the runs: the proxy's total less what its
	// start-up took (cpuAtStart).
	cpu, cpuAtStart time.Duration
	peakRSSOf       func() int64
}

func (o *options) validate() error {
	for _, b := range o.bodies {
		if _, ok := bodySizes["/"+b]; !ok {
			return fmt.Errorf("unknown body %q (use small or large)", b)
		}
	}
	for _, s := range o.scenarios {
		if !slices.Contains(scenarios, s) {
			return fmt.Errorf("unknown scenario %q (use %s)", s, strings.Join(scenarios, ", "))
		}
	}
	if o.clientKind == "" {
		o.clientKind = clientRaw
	}
	if !slices.Contains(clientKinds, o.clientKind) {
		return fmt.Errorf("unknown -client %q (use %s)", o.clientKind, strings.Join(clientKinds, ", "))
	}
	if o.clientKind == clientWrk {
		if slices.ContainsFunc(o.scenarios, func(s string) bool { return s != scenarioHTTP }) {
			return fmt.Errorf("-client wrk drives the http scenario only (it has no CONNECT): add -scenarios http")
		}
		if o.maxRequests > 0 {
			return errors.New("-client wrk runs for -d; it has no -n")
		}
		if o.wrkBin == "" {
			o.wrkBin = "wrk"
		}
		if _, err := exec.LookPath(o.wrkBin); err != nil {
			return fmt.Errorf("-client wrk: %s not found (apt-get install wrk, or -wrk-bin)", o.wrkBin)
		}
	}
	if o.clientKind == clientH2load {
		if slices.ContainsFunc(o.scenarios, func(s string) bool { return s != scenarioH2 }) {
			return fmt.Errorf("-client h2load drives the h2 scenario only: add -scenarios h2")
		}
		if o.maxRequests > 0 {
			return errors.New("-client h2load runs for -d; it has no -n")
		}
		if o.h2loadBin == "" {
			o.h2loadBin = clientH2load
		}
		if _, err := exec.LookPath(o.h2loadBin); err != nil {
			return fmt.Errorf("-client h2load: %s not found (apt-get install nghttp2-client, or -h2load-bin)", o.h2loadBin)
		}
	}
	if o.streams == 0 {
		o.streams = 10
	}
	if o.streams < 1 {
		return errors.New("-streams must be positive")
	}
	if !slices.Contains(originKinds, o.originKind) {
		return fmt.Errorf("unknown -origin %q (use %s)", o.originKind, strings.Join(originKinds, " or "))
	}
	if !slices.Contains(originKeyTypes, o.originKey) {
		return fmt.Errorf("unknown -origin-key %q (use %s)", o.originKey, strings.Join(originKeyTypes, " or "))
	}
	if o.gomitmSrc != "" && !o.compareGomitm {
		return errors.New("-gomitmproxy-src needs -compare-gomitmproxy")
	}
	if o.scriptOnly && o.script == "" {
		return errors.New("-script-only needs -script")
	}
	if o.script != "" {
		// The first word is the file; the rest are the script's arguments.
		path := strings.Fields(o.script)[0]
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("-script: %w", err)
		}
	}
	if o.proxy != "" {
		if err := checkLoopback(o.proxy); err != nil {
			return err
		}
	}
	if o.proxyPID != 0 {
		if o.proxy == "" {
			return errors.New("-proxy-pid needs -proxy")
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", o.proxyPID)); err != nil {
			return fmt.Errorf("-proxy-pid %d: no such process (%w)", o.proxyPID, err)
		}
	}
	if o.conns < 1 || o.duration <= 0 || o.ioTimeout <= 0 {
		return errors.New("-c, -d and -io-timeout must be positive")
	}
	if o.rounds == 0 {
		o.rounds = 1
	}
	if o.rounds < 1 {
		return errors.New("-rounds must be positive")
	}
	if o.wsConnBytes < 0 {
		return errors.New("-ws-conn-bytes must not be negative")
	}
	return nil
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.memoryMode() {
		if err := o.validateMemory(); err != nil {
			return err
		}
	}
	loadBefore := warnIfBusy(stderr)
	org, err := startOrigin(o.originKind, o.originKey)
	if err != nil {
		return err
	}
	defer org.close()
	var wsOrg *wsOrigin
	if slices.Contains(o.scenarios, scenarioWS) {
		if wsOrg, err = startWSOrigin(); err != nil {
			return err
		}
		defer wsOrg.close()
	}

	tmp, err := os.MkdirTemp("", "mitmbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	originCert := filepath.Join(tmp, "origin-cert.pem")
	if err := os.WriteFile(originCert, org.certPEM, 0o600); err != nil {
		return err
	}
	originRoots := func() *x509.CertPool {
		pool := x509.NewCertPool()
		pool.AddCert(org.cert)
		return pool
	}

	// What every started proxy needs: trust in the origin's certificate,
	// so that it can verify the upstream as it does by default.
	required := []string{"--set", "ssl_verify_upstream_trusted_ca=" + originCert}
	if o.sslInsecure {
		required = []string{"-k"}
	}
	targets := []target{{name: "direct", roots: originRoots()}}
	if o.proxy != "" {
		t := target{name: "proxy " + o.proxy, addr: o.proxy, roots: originRoots()}
		if o.proxyCA != "" {
			if err := readCA(t.roots, o.proxyCA); err != nil {
				return fmt.Errorf("-proxy-ca: %w", err)
			}
		}
		if o.proxyPID > 0 {
			pid := o.proxyPID
			t.cpu = func() time.Duration { return benchkit.TreeCPU(pid) }
			t.stats = &procStats{target: t.name, cpuAtStart: t.cpu(), peakRSSOf: func() int64 { return benchkit.TreePeakRSS(pid) }}
		}
		targets = append(targets, t)
	}
	addStarted := func(name, bin string) {
		if !o.scriptOnly {
			targets = append(targets, proxyTarget(name, bin, required, o.proxyArgs, o.startTimeout, stderr))
		}
		if o.script != "" {
			args := append(slices.Clone(required), "-s", o.script)
			targets = append(targets, proxyTarget(name+" +script", bin, args, o.proxyArgs, o.startTimeout, stderr))
		}
	}
	if o.mitmgo {
		bin := o.mitmgoBin
		if bin == "" {
			wd, _ := os.Getwd()
			fmt.Fprintln(stderr, "building ./cmd/mitmdump ...")
			bin, err = buildMitmgo(ctx, wd, tmp)
			if err != nil {
				fmt.Fprintf(stderr, "skipping mitmgo: %v\n", err)
			}
		}
		if bin != "" {
			n := len(targets)
			addStarted("mitmgo", bin)
			for i := n; i < len(targets); i++ {
				targets[i].goProxy = true
			}
		}
	}
	if o.compare {
		bin, err := exec.LookPath(o.mitmproxyBin)
		if err != nil {
			fmt.Fprintf(stderr, "skipping mitmproxy: %s not found (apt-get install mitmproxy)\n", o.mitmproxyBin)
		} else {
			addStarted("mitmproxy", bin)
		}
	}
	if o.compareGoproxy || o.compareGomitm {
		wd, _ := os.Getwd()
		root, err := benchkit.ModuleRoot(wd)
		if err != nil {
			return fmt.Errorf("the Go peers are built from bench/peers of the module: %w", err)
		}
		peers, err := addPeers(ctx, o, root, tmp, originCert, stderr)
		if err != nil {
			return err
		}
		targets = append(targets, peers...)
	}
	var skipped []string
	if o.compareNginx {
		bin, err := findNginx(o.nginxBin)
		switch {
		case !slices.Contains(o.scenarios, scenarioHTTP):
			fmt.Fprintln(stderr, "skipped: nginx is measured in the http scenario only (it has no CONNECT)")
		case err != nil:
			fmt.Fprintf(stderr, "skipped: nginx not found (%s; apt-get install nginx-light); going on without it\n", o.nginxBin)
			skipped = append(skipped, "nginx: "+o.nginxBin+" not found")
		default:
			conns := o.conns
			for _, n := range o.idleNs {
				conns = max(conns, n)
			}
			targets = append(targets, nginxTarget(bin, nginxBuild(ctx, bin), org.addr(), conns, o.startTimeout, o.ioTimeout))
		}
	}
	if o.memoryMode() {
		return runMemory(ctx, o, org, tmp, targets, skipped, originRoots, stdout, stderr, loadBefore)
	}
	runs := 0
	for _, t := range targets {
		if t.httpOnly {
			runs += len(o.bodies)
		} else {
			runs += len(o.scenarios) * len(o.bodies)
		}
	}
	runs *= o.rounds
	fmt.Fprintf(stderr, "%d runs of %v each (plus proxy start-ups): about %v\n",
		runs, o.warmup+o.duration, time.Duration(runs)*(o.warmup+o.duration))

	// Every proxy is started before the first run and stopped after the
	// last, so that rounds can take turns (see -rounds).
	var procs []*procStats
	var started []*proxyProc
	defer func() {
		for _, p := range started {
			p.stop()
		}
	}()
	var ready []*target
	for i := range targets {
		t := &targets[i]
		if ctx.Err() != nil {
			break
		}
		if t.start == nil {
			ready = append(ready, t)
			continue
		}
		confdir := fmt.Sprintf("%s/confdir-%d", tmp, i)
		if err := os.MkdirAll(confdir, 0o700); err != nil {
			return err
		}
		// The first start writes a CA into the empty confdir; the
		// second is what a user sees every day.
		fmt.Fprintf(stderr, "starting %s (cold) ...\n", t.name)
		cold, err := t.start(ctx, confdir)
		if err != nil {
			fmt.Fprintf(stderr, "skipping %s: %v\n", t.name, err)
			skipped = append(skipped, t.name+": "+firstLine(err))
			continue
		}
		cold.stop()
		fmt.Fprintf(stderr, "starting %s (warm) ...\n", t.name)
		p, err := t.start(ctx, confdir)
		if err != nil {
			fmt.Fprintf(stderr, "skipping %s: %v\n", t.name, err)
			skipped = append(skipped, t.name+": "+firstLine(err))
			continue
		}
		started = append(started, p)
		t.proc = p
		t.addr = p.addr
		t.roots = originRoots()
		// A plain HTTP forward proxy intercepts nothing and has no CA.
		if !t.httpOnly {
			if err := readCA(t.roots, filepath.Join(confdir, caFile)); err != nil {
				fmt.Fprintf(stderr, "%s: no CA to trust (%v); its HTTPS runs will fail unless it does not intercept\n", t.name, err)
			}
		}
		t.cpu = p.cpuTime
		t.stats = &procStats{target: t.name, coldStart: cold.startup, warmStart: p.startup, cpuAtStart: p.cpuTime(), peakRSSOf: p.peakRSS}
		ready = append(ready, t)
	}

	var rows []row
	for _, t := range ready {
		for _, sc := range o.scenarios {
			if t.httpOnly && sc != scenarioHTTP {
				rows = append(rows, row{target: t.name, scenario: sc,
					note: "not measured here: it has no CONNECT (a forward proxy for plain HTTP only)"})
			}
		}
	}
	measure := func(t *target, sc, b string, round int) {
		fmt.Fprintf(stderr, "measuring %s, %s, %s body, %d connections, %v", t.name, sc, b, o.conns, o.duration)
		if o.rounds > 1 {
			fmt.Fprintf(stderr, ", round %d of %d", round+1, o.rounds)
		}
		fmt.Fprintln(stderr, " ...")
		cfg := loadConfig{
			scenario: sc, target: firstNonEmpty(t.addr, org.addr()), viaProxy: t.addr != "", originAddr: org.addr(),
			path: "/" + b, conns: o.conns, duration: o.duration, warmup: o.warmup,
			maxRequests: o.maxRequests, ioTimeout: o.ioTimeout, client: o.clientKind, wrkBin: o.wrkBin,
			streams: o.streams, h2loadBin: o.h2loadBin, wsConnBytes: o.wsConnBytes,
		}
		switch sc {
		case scenarioHTTP:
		case scenarioWS:
			cfg.originAddr = wsOrg.addr()
			cfg.target = firstNonEmpty(t.addr, wsOrg.addr())
		case scenarioH2:
			cfg.originAddr = org.h2Addr()
			cfg.target = firstNonEmpty(t.addr, org.h2Addr())
			cfg.tlsConfig = h2ClientTLS(clientTLS(t.roots))
		default:
			cfg.originAddr = org.tlsAddr()
			cfg.target = firstNonEmpty(t.addr, org.tlsAddr())
			cfg.tlsConfig = clientTLS(t.roots)
		}
		cfg.cpu = t.cpu
		hs, rs, alpn := org.handshakes.Load(), org.resumed.Load(), org.alpn()
		res, err := runLoad(ctx, cfg)
		if err != nil && ctx.Err() == nil {
			// The table shows the first line; the whole story (a load
			// generator's output) goes here.
			fmt.Fprintf(stderr, "%s, %s, %s body: %v\n", t.name, sc, b, err)
		}
		rows = append(rows, row{target: t.name, scenario: sc, body: b, round: round, res: res, err: err,
			handshakes: org.handshakes.Load() - hs, resumed: org.resumed.Load() - rs, originALPN: org.alpn().sub(alpn)})
	}
	for round := 0; round < o.rounds; round++ {
		for _, sc := range o.scenarios {
			for _, b := range o.bodies {
				// Each round starts with a different target, so that none
				// always runs right after another's load.
				for i := range ready {
					t := ready[(i+round)%len(ready)]
					if ctx.Err() != nil || t.httpOnly && sc != scenarioHTTP {
						continue
					}
					measure(t, sc, b, round)
				}
			}
		}
	}
	for _, t := range ready {
		if t.stats != nil {
			t.stats.cpu = t.cpu() - t.stats.cpuAtStart
			t.stats.peakRSS = t.stats.peakRSSOf()
			procs = append(procs, t.stats)
		}
	}
	printReport(stdout, o, rows, procs, skipped, loadBefore, loadAvg())
	return ctx.Err()
}

// clientTLS is the load generator's TLS configuration: it trusts roots, and
// has no session cache, so that every new connection pays for a full
// handshake, as a client seeing the server for the first time does.
func clientTLS(roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		RootCAs: roots,
		// An IP address: verified against the certificate's IP SANs,
		// and sent as no SNI, so the proxy names the leaf after the
		// CONNECT target.
		ServerName:         "127.0.0.1",
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: nil,
	}
}

// proxyTarget is a proxy the harness starts: bin with required arguments
// (trust in the origin, a script) and extra ones (-proxy-args).
func proxyTarget(name, bin string, required, extra []string, timeout time.Duration, stderr io.Writer) target {
	startWith := func(ctx context.Context, confdir string, opts procOptions) (*proxyProc, error) {
		p, err := startProxy(ctx, name, bin, append(slices.Clone(required), extra...), confdir, timeout, opts)
		if err != nil && len(extra) > 0 && strings.Contains(err.Error(), "unknown option") {
			// A mitmdump that lacks the options -q sets (an early mitmgo)
			// is measured with its default output instead; if that does
			// not help either, the first error is the one to report.
			if p2, err2 := startProxy(ctx, name, bin, required, confdir, timeout, opts); err2 == nil {
				fmt.Fprintf(stderr, "%s does not take %q; measuring it without\n", name, strings.Join(extra, " "))
				extra = nil
				return p2, nil
			}
		}
		return p, err
	}
	return target{name: name, bin: bin, startWith: startWith,
		start: func(ctx context.Context, confdir string) (*proxyProc, error) {
			return startWith(ctx, confdir, procOptions{})
		}}
}

// loadAvg is the 1-minute load average, or "n/a".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "n/a"
}

// warnIfBusy says so when the machine is already loaded: other work on the
// CPUs skews every number. It returns the load average.
func warnIfBusy(stderr io.Writer) string {
	avg := loadAvg()
	var load float64
	if _, err := fmt.Sscan(avg, &load); err == nil && load > float64(runtime.NumCPU()) {
		fmt.Fprintf(stderr, "warning: load average %.1f on %d CPUs; results will be noisy\n", load, runtime.NumCPU())
	}
	return avg
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkLoopback refuses proxies that are not on this machine: the harness
// sends load, and load belongs on loopback.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("-proxy %q: %w", hostport, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("-proxy must be a loopback address such as 127.0.0.1:8080")
	}
	return nil
}

// scenarioTitles head the report's tables.
var scenarioTitles = map[string]string{
	scenarioHTTP:         "http: plain HTTP, keep-alive (absolute-form requests to the proxy)",
	scenarioHTTPS:        "https: HTTPS, keep-alive (CONNECT and one handshake per connection, before the warm-up)",
	scenarioHTTPSNewConn: "https-newconn: HTTPS, a new connection per request (TCP, CONNECT, full handshake, one request, close)",
	scenarioH2:           "h2: HTTP/2 over TLS, concurrent streams on keep-alive connections (CONNECT and one handshake offering ALPN h2, http/1.1 per connection, before the warm-up)",
	scenarioWS:           "ws: WebSocket, binary messages echoed by the origin, one in flight per connection (an absolute-form upgrade request to the proxy per connection, before the warm-up); msgs/s counts echoes: the proxy relays two messages per echo",
}

// firstLine is an error's message up to the proxy output it may carry,
// plus that output's last line, which says why a proxy did not start.
func firstLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) == 1 {
		return lines[0]
	}
	return lines[0] + " " + strings.TrimSpace(lines[len(lines)-1])
}

// errSummary is the first line of a failed run's error, for the report's
// tables; the rest (a load generator's output) is on stderr.
func errSummary(err error) string {
	line, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	return line
}

func printReport(w io.Writer, o options, rows []row, procs []*procStats, skipped []string, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "\n%d connections, %v per run after %v warm-up, origin and proxies on 127.0.0.1\n",
		o.conns, o.duration, o.warmup)
	if o.rounds > 1 {
		fmt.Fprintf(w, "%d rounds, the targets taking turns; figures are medians over the rounds, ratios the medians of each round's ratio\n", o.rounds)
	}
	fmt.Fprintf(w, "origin: %s (%s), %s certificate\n", o.originKind, originDescriptions[o.originKind], o.originKey)
	switch {
	case o.clientKind == clientH2load:
		fmt.Fprintf(w, "client: %s (%s)\n", o.clientKind, clientDescriptions[o.clientKind])
	case slices.Equal(o.scenarios, []string{scenarioH2}):
		fmt.Fprintf(w, "client: %s\n", h2ClientDescription)
	case slices.Equal(o.scenarios, []string{scenarioWS}):
		fmt.Fprintf(w, "client: %s\n", wsClientDescription)
	default:
		fmt.Fprintf(w, "client: %s (%s)\n", o.clientKind, clientDescriptions[o.clientKind])
		if slices.Contains(o.scenarios, scenarioH2) {
			fmt.Fprintf(w, "        h2: %s\n", h2ClientDescription)
		}
		if slices.Contains(o.scenarios, scenarioWS) {
			fmt.Fprintf(w, "        ws: %s\n", wsClientDescription)
		}
	}
	fmt.Fprintf(w, "load average %s before, %s after, %d CPUs\n", loadBefore, loadAfter, runtime.NumCPU())
	for _, sc := range o.scenarios {
		fmt.Fprintf(w, "\n%s\n\n", scenarioTitles[sc])
		if sc == scenarioH2 {
			fmt.Fprintf(w, "%d connections x %d streams: up to %d requests in flight\n\n", o.conns, o.streams, o.conns*o.streams)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := "target\tbody\treq/s\tp50\tp99\treq/s ratio\tp50 ratio\tp99 ratio\tproxy CPU/req\terrors\t"
		if sc == scenarioWS {
			head = "target\tmessage\tmsgs/s\tp50\tp99\tmsgs/s ratio\tp50 ratio\tp99 ratio\tproxy CPU/msg\terrors\t"
		}
		if sc == scenarioH2 {
			head += "ALPN\t"
		}
		fmt.Fprintln(tw, head)
		var byRound []string
		var failures []string
		for _, b := range o.bodies {
			for _, g := range groupRuns(rows, sc, b) {
				if len(g.ok) == 0 {
					if len(g.failed) > 0 {
						fmt.Fprintf(tw, "%s\t%s\tfailed: %s\t\t\t\t\t\t\t\t\n", g.target, bodyLabel(sc, b), errSummary(g.failed[0].err))
					}
					continue
				}
				// Some rounds failed, others not: the row is the
				// others', the failures are listed below the table.
				for _, r := range g.failed {
					failures = append(failures, fmt.Sprintf("%s, %s body, round %d: %s", r.target, bodyLabel(sc, r.body), r.round+1, errSummary(r.err)))
				}
				a := aggregate(g.ok, directRuns(rows, sc, b))
				cpu := "-"
				if a.requests > 0 && a.hasCPU {
					cpu = fmtDur(a.cpu / time.Duration(a.requests))
				}
				line := fmt.Sprintf("%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t", g.target, bodyLabel(sc, b), a.rps,
					fmtDur(a.p50), fmtDur(a.p99), fmtRatio(a.rpsRatio), fmtRatio(a.p50Ratio), fmtRatio(a.p99Ratio), cpu, a.errors)
				if sc == scenarioH2 {
					line += alpnCell(g.target, clientALPN(g.ok)) + "\t"
				}
				fmt.Fprintln(tw, line)
				if o.rounds > 1 && g.target != "direct" && len(a.rpsRatios) > 0 {
					byRound = append(byRound, fmt.Sprintf("  %s, %s body: %s", g.target, bodyLabel(sc, b), joinRatios(a.rpsRatios)))
				}
			}
		}
		tw.Flush()
		if len(byRound) > 0 {
			unit := "req/s"
			if sc == scenarioWS {
				unit = "msgs/s"
			}
			fmt.Fprintf(w, "\n  %s ratio in each round:\n", unit)
			for _, l := range byRound {
				fmt.Fprintln(w, l)
			}
		}
		for _, f := range failures {
			fmt.Fprintf(w, "  failed: %s\n", f)
		}
		if sc == scenarioHTTPSNewConn {
			printResumed(w, o, rows)
		}
		if sc == scenarioH2 {
			printALPN(w, o, rows)
		}
		if sc == scenarioWS {
			printVersus(w, o, rows, sc)
		}
		for _, r := range rows {
			if r.scenario == sc && r.note != "" {
				fmt.Fprintf(w, "  %s: %s\n", r.target, r.note)
			}
		}
	}
	if len(procs) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "proxy\tstart, cold\tstart, warm\tpeak RSS\tCPU, all runs\t")
		for _, p := range procs {
			rss := "n/a"
			if p.peakRSS > 0 {
				rss = fmt.Sprintf("%.1f MiB", float64(p.peakRSS)/(1<<20))
			}
			cpu := "n/a"
			if p.cpu > 0 {
				cpu = fmt.Sprintf("%.2fs", p.cpu.Seconds())
			}
			cold, warm := "-", "-" // not started here (-proxy)
			if p.warmStart > 0 {
				cold, warm = fmtDur(p.coldStart), fmtDur(p.warmStart)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", p.target, cold, warm, rss, cpu)
		}
		tw.Flush()
	}
	if len(skipped) > 0 {
		fmt.Fprintln(w)
		for _, sk := range skipped {
			fmt.Fprintf(w, "not measured: %s\n", sk)
		}
	}
	fmt.Fprintln(w, "\nratios are against direct in the same scenario: req/s ratio below 1 and latency ratios above 1 are the proxy's cost.")
	fmt.Fprintln(w, "proxy CPU/req is the proxy's CPU time (with its child processes) during the measured period per request.")
	if slices.Contains(o.scenarios, scenarioWS) {
		fmt.Fprintln(w, "ws: a message is one echo (the proxy relays it both ways); proxy CPU/msg is per echo.")
	}
	if len(procs) > 0 {
		fmt.Fprintln(w, "start is the time from exec until the proxy accepts a TCP connection (cold: empty confdir, CA generated).")
	}
}

// printResumed says how many of the origin's handshakes on new connections
// resumed a session: none from the harness's client, which never resumes;
// from a proxy, as many as it keeps sessions with the origin.
func printResumed(w io.Writer, o options, rows []row) {
	var parts []string
	for _, b := range o.bodies {
		for _, g := range groupRuns(rows, scenarioHTTPSNewConn, b) {
			var handshakes, resumed int64
			for _, r := range g.ok {
				handshakes += r.handshakes
				resumed += r.resumed
			}
			if handshakes > 0 {
				parts = append(parts, fmt.Sprintf("%s, %s: %.0f%%", g.target, b, 100*float64(resumed)/float64(handshakes)))
			}
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "  origin TLS handshakes that resumed a session: %s\n", strings.Join(parts, "; "))
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
