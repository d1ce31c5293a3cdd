package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// The memory measurements of issue 18 (item 8): what an idle connection
// costs a proxy (-idle), whether the memory comes back after the
// connections close, and a soak with a mixed load (-soak). Each runs on a
// proxy process of its own, one target after the other, so that nothing
// else loads the machine meanwhile.

// Idle protocols (-idle-protos).
const (
	idleHTTP  = "http"
	idleHTTPS = "https"
)

var idleProtos = []string{idleHTTP, idleHTTPS}

// Limits that keep the memory measurements bounded.
const (
	maxIdleConns  = 100_000
	maxSoak       = time.Hour
	maxAfterClose = 10 * time.Minute
)

// memoryMode says whether the harness measures memory (-idle, -soak)
// instead of throughput.
func (o *options) memoryMode() bool { return len(o.idleNs) > 0 || o.soak > 0 }

// validateMemory checks the memory measurements' flags.
func (o *options) validateMemory() error {
	for _, n := range o.idleNs {
		if n < 1 || n > maxIdleConns {
			return fmt.Errorf("-idle %d: use 1 to %d connections", n, maxIdleConns)
		}
	}
	if len(o.idleProtos) == 0 {
		o.idleProtos = idleProtos
	}
	for _, p := range o.idleProtos {
		if !slices.Contains(idleProtos, p) {
			return fmt.Errorf("unknown -idle-protos %q (use http, https)", p)
		}
	}
	if o.soak < 0 || o.soak > maxSoak {
		return fmt.Errorf("-soak %v: use up to %v", o.soak, maxSoak)
	}
	if o.afterClose < 0 || o.afterClose > maxAfterClose {
		return fmt.Errorf("-after-close %v: use 0 to %v", o.afterClose, maxAfterClose)
	}
	if o.soakEvery <= 0 || o.sampleEvery <= 0 {
		return errors.New("-soak-every and -sample-every must be positive")
	}
	if o.openConc < 1 {
		return errors.New("-open-concurrency must be positive")
	}
	if o.openTimeout <= 0 {
		return errors.New("-open-timeout must be positive")
	}
	if o.idleSettle < 0 {
		return errors.New("-idle-settle must not be negative")
	}
	if o.proxy != "" && o.proxyPID <= 0 {
		return errors.New("-idle and -soak read the proxy's memory: give the -proxy proxy's process with -proxy-pid")
	}
	if o.proxyDebug != "" {
		if o.proxy == "" {
			return errors.New("-proxy-debug needs -proxy")
		}
		if err := checkLoopback(o.proxyDebug); err != nil {
			return fmt.Errorf("-proxy-debug: %w", err)
		}
	}
	// Every connection to one proxy address needs a local port of its own.
	if lo, hi, err := localPortRange(); err == nil {
		if ports := hi - lo + 1; slices.Max(append([]int{0}, o.idleNs...)) > ports {
			return fmt.Errorf("-idle %d: connections to one address need a local port each, and net.ipv4.ip_local_port_range gives %d (%d-%d)",
				slices.Max(o.idleNs), ports, lo, hi)
		}
	}
	return nil
}

// parsePortRange reads /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999").
func parsePortRange(data []byte) (lo, hi int, err error) {
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("port range %q", strings.TrimSpace(string(data)))
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("port range %q", strings.TrimSpace(string(data)))
	}
	return lo, hi, nil
}

func localPortRange() (lo, hi int, err error) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, err
	}
	return parsePortRange(data)
}

// fdSlack is what a process needs besides its connections: listeners,
// standard streams, the poller, files.
const fdSlack = 64

// harnessFDs is how many descriptors the harness needs for n idle
// connections: it holds both ends, the client's and the origin's.
func harnessFDs(n int) int64 { return int64(2*n + fdSlack) }

// proxyFDs is how many descriptors a proxy needs for n idle connections:
// a client and an upstream socket each.
func proxyFDs(n int) int64 { return int64(2*n + fdSlack) }

// mostConns is the largest number of idle connections whose two
// descriptors each fit in limit.
func mostConns(limit fileLimit) int64 {
	if limit.soft == unlimited {
		return maxIdleConns
	}
	return max(0, (limit.soft-fdSlack)/2)
}

// idleResult is one idle measurement: n connections of one protocol
// through one proxy.
type idleResult struct {
	target, proto string
	n             int
	err           error
	// limit is the proxy's descriptor limit.
	limit    fileLimit
	hasLimit bool
	opened   int
	openTook time.Duration
	// stillOpen of checked connections were open (not closed by the
	// proxy) when the memory was read.
	stillOpen, checked int
	// start is the idle start (after one request on a connection of its
	// own, closed); open is with the n connections open; after are the
	// samples from the close on.
	start, open memSample
	after       []memSample
	// originOpen are the origin's open connections at each after sample.
	originOpen []int
	dump       *goroutineDump
}

// perConn is the memory one connection costs, in bytes, by RSS and by
// private memory (-1 where smaps_rollup is not readable).
func (r *idleResult) perConn() (rss, private float64) {
	n := float64(max(r.opened, 1))
	rss = float64(r.open.rss-r.start.rss) / n
	private = -1
	if r.open.private >= 0 && r.start.private >= 0 {
		private = float64(r.open.private-r.start.private) / n
	}
	return rss, private
}

// soakResult is one soak through one proxy.
type soakResult struct {
	target   string
	err      error
	limit    fileLimit
	hasLimit bool
	// samples are taken every -soak-every during the load, the first
	// just before it; rates and errors are per interval.
	samples    []memSample
	rates      []float64
	errs       []int64
	after      []memSample
	originOpen []int
	kinds      []soakKindStats
	peakRSS    int64
	dump       *goroutineDump
}

// memTarget is a target of the memory measurements, with its confdir.
type memTarget struct {
	*target
	confdir string
}

// runMemory runs the memory measurements on every proxy target.
func runMemory(ctx context.Context, o options, org *origin, tmp string, targets []target, skipped []string,
	originRoots func() *x509.CertPool, stdout, stderr io.Writer, loadBefore string) error {
	maxN := 0
	for _, n := range o.idleNs {
		maxN = max(maxN, n)
	}
	before, after, limErr := raiseFileLimit(harnessFDs(maxN))
	if limErr != nil && maxN > 0 && !after.allows(harnessFDs(maxN)) {
		return fmt.Errorf("-idle %d cannot be reached: the harness holds both ends of every connection (client and origin): %v; with its descriptor limit of %s, at most %d idle connections fit",
			maxN, limErr, after, mostConns(after))
	}
	limits := fmt.Sprintf("harness %s", before)
	if after != before {
		limits += fmt.Sprintf(", raised to %s", after)
	}

	var mts []memTarget
	for i := range targets {
		t := &targets[i]
		if t.name == "direct" {
			continue // the harness's own origin: nothing to measure
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		mt := memTarget{target: t}
		if t.startWith != nil {
			mt.confdir = filepath.Join(tmp, fmt.Sprintf("confdir-%d", i))
			if err := os.MkdirAll(mt.confdir, 0o700); err != nil {
				return err
			}
			// The first start writes the CA, which the client trusts
			// from then on; every measurement starts the proxy afresh.
			fmt.Fprintf(stderr, "starting %s to write its CA ...\n", t.name)
			p, err := t.startWith(ctx, mt.confdir, procOptions{})
			if err != nil {
				fmt.Fprintf(stderr, "skipping %s: %v\n", t.name, err)
				skipped = append(skipped, t.name+": "+firstLine(err))
				continue
			}
			p.stop()
			t.roots = originRoots()
			if !t.httpOnly {
				if err := readCA(t.roots, filepath.Join(mt.confdir, caFile)); err != nil {
					fmt.Fprintf(stderr, "%s: no CA to trust (%v); its HTTPS measurements will fail unless it does not intercept\n", t.name, err)
				}
			}
		}
		mts = append(mts, mt)
	}
	fmt.Fprintln(stderr, memoryEstimate(o, mts))

	var idle []idleResult
	var soaks []soakResult
	for _, mt := range mts {
		for _, n := range o.idleNs {
			for _, proto := range o.idleProtos {
				if ctx.Err() != nil {
					break
				}
				if mt.httpOnly && proto == idleHTTPS {
					idle = append(idle, idleResult{target: mt.name, proto: proto, n: n,
						err: errors.New("not measured: it has no CONNECT")})
					continue
				}
				fmt.Fprintf(stderr, "measuring %s: %d idle %s connections ...\n", mt.name, n, proto)
				r := measureIdle(ctx, o, org, mt, proto, n, stderr)
				if r.err != nil {
					fmt.Fprintf(stderr, "%s, %d idle %s connections: %v\n", mt.name, n, proto, r.err)
				}
				idle = append(idle, r)
			}
		}
		if o.soak > 0 && ctx.Err() == nil {
			if mt.httpOnly {
				soaks = append(soaks, soakResult{target: mt.name, err: errors.New("not measured: it has no CONNECT, and the soak's load is half HTTPS")})
				continue
			}
			fmt.Fprintf(stderr, "soaking %s for %v ...\n", mt.name, o.soak)
			r := measureSoak(ctx, o, org, mt, stderr)
			if r.err != nil {
				fmt.Fprintf(stderr, "%s, soak: %v\n", mt.name, r.err)
			}
			soaks = append(soaks, r)
		}
	}
	printMemoryReport(stdout, o, limits, idle, soaks, skipped, loadBefore, loadAvg())
	return ctx.Err()
}

// memoryEstimate says how long the measurements take at least.
func memoryEstimate(o options, mts []memTarget) string {
	var idleRuns, soaks int
	for _, mt := range mts {
		for range o.idleNs {
			for _, p := range o.idleProtos {
				if !mt.httpOnly || p == idleHTTP {
					idleRuns++
				}
			}
		}
		if o.soak > 0 && !mt.httpOnly {
			soaks++
		}
	}
	least := time.Duration(idleRuns)*(2*o.idleSettle+o.afterClose) + time.Duration(soaks)*(o.soak+o.afterClose)
	return fmt.Sprintf("%d idle measurements and %d soaks of %v, each on a proxy started for it (a -proxy proxy: in place): at least %v, plus opening the connections",
		idleRuns, soaks, o.soak, least)
}

// launched is a proxy started (or given with -proxy) for one measurement.
type launched struct {
	proc  *proxyProc // nil for -proxy
	addr  string
	probe *memProbe
	limit fileLimit
	// limitErr says why the limit is not known.
	limitErr error
	goProxy  bool
}

// launch starts mt's proxy for one measurement: a Go proxy (mitmgo) with
// its GC trace on (-gctrace) and, when its binary knows debugAddrEnv, a
// pprof endpoint for the goroutine count.
func launch(ctx context.Context, o options, mt memTarget) (*launched, error) {
	if mt.startWith == nil {
		l := &launched{addr: mt.addr, probe: &memProbe{pid: o.proxyPID, debugAddr: o.proxyDebug}}
		l.limit, l.limitErr = readFileLimit(o.proxyPID)
		return l, nil
	}
	probe := &memProbe{}
	var opts procOptions
	if mt.goProxy {
		// A goroutine dump (SIGQUIT at the end) is long: keep it.
		opts.outMax = 64 << 20
		opts.env = append(opts.env, "GOTRACEBACK=all")
		if o.gctrace {
			gw := &gcWatcher{}
			opts.tee = func(out io.Writer) io.Writer { gw.out = out; return gw }
			opts.env = append(opts.env, "GODEBUG="+strings.Trim(os.Getenv("GODEBUG")+",gctrace=1", ","))
			probe.gc = gw
		}
		if mt.bin != "" && binaryMentions(mt.bin, debugAddrEnv) {
			port, err := benchkit.FreePort()
			if err != nil {
				return nil, err
			}
			probe.debugAddr = "127.0.0.1:" + strconv.Itoa(port)
			opts.env = append(opts.env, debugAddrEnv+"="+probe.debugAddr)
		}
	}
	p, err := mt.startWith(ctx, mt.confdir, opts)
	if err != nil {
		return nil, err
	}
	probe.pid = p.cmd.Process.Pid
	l := &launched{proc: p, addr: p.addr, probe: probe, goProxy: mt.goProxy}
	l.limit, l.limitErr = readFileLimit(probe.pid)
	return l, nil
}

// finish stops a started proxy: a Go one with SIGQUIT, whose goroutine
// dump it returns, others as usual. A -proxy proxy stays.
func (l *launched) finish() *goroutineDump {
	p := l.proc
	if p == nil {
		return nil
	}
	if !l.goProxy {
		p.stop()
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.stop()
		return nil
	}
	d := parseGoroutineDump(p.out.Bytes())
	if d.total == 0 {
		return nil
	}
	return &d
}

// idleConfig is how the idle and soak connections reach the origin
// through the proxy at addr.
func idleConfig(o options, org *origin, roots *x509.CertPool, addr, proto string) loadConfig {
	cfg := loadConfig{scenario: scenarioHTTP, target: addr, viaProxy: true, originAddr: org.addr(),
		path: "/small", ioTimeout: o.ioTimeout}
	if proto == idleHTTPS {
		cfg.scenario, cfg.originAddr, cfg.tlsConfig = scenarioHTTPS, org.tlsAddr(), clientTLS(roots)
	}
	return cfg
}

// measureIdle starts mt's proxy, opens n connections of proto through it
// (one request each), reads the proxy's memory with them idle, closes
// them and follows the memory for -after-close.
func measureIdle(ctx context.Context, o options, org *origin, mt memTarget, proto string, n int, stderr io.Writer) (r idleResult) {
	r = idleResult{target: mt.name, proto: proto, n: n}
	l, err := launch(ctx, o, mt)
	if err != nil {
		r.err = err
		return r
	}
	defer func() { r.dump = l.finish() }()
	r.limit, r.hasLimit = l.limit, l.limitErr == nil
	if r.hasLimit && !l.limit.allows(proxyFDs(n)) {
		r.err = fmt.Errorf("cannot be reached: the proxy's descriptor limit is %s, and %d idle connections need about %d in it (a client and an upstream socket each): at most %d fit",
			l.limit, n, proxyFDs(n), mostConns(l.limit))
		return r
	}
	cfg := idleConfig(o, org, mt.roots, l.addr, proto)
	// One connection and request first, closed: the proxy's one-time
	// work (loading the CA, a leaf for 127.0.0.1, the upstream TLS
	// session) is then behind it, and the idle start measures a proxy
	// that has served a request.
	c, err := dialIdle(cfg, time.Now().Add(o.ioTimeout))
	if err != nil {
		r.err = fmt.Errorf("warm-up request: %w", err)
		return r
	}
	c.Close()
	if !sleepCtx(ctx, o.idleSettle) {
		r.err = ctx.Err()
		return r
	}
	r.start = l.probe.sample()
	if r.start.err != nil {
		r.err = fmt.Errorf("reading the proxy's memory: %w", r.start.err)
		return r
	}
	conns, took, err := openIdle(ctx, cfg, n, o.openConc, o.openTimeout)
	r.opened, r.openTook = len(conns), took
	if err != nil {
		closeAll(conns)
		r.err = fmt.Errorf("cannot be reached: opened %d of %d connections: %w", len(conns), n, err)
		return r
	}
	if !sleepCtx(ctx, o.idleSettle) {
		closeAll(conns)
		r.err = ctx.Err()
		return r
	}
	r.open = l.probe.sample()
	r.stillOpen, r.checked = countOpen(conns)
	closeAll(conns)
	r.after, r.originOpen = sampleAfter(ctx, l.probe, org, o.afterClose, o.sampleEvery)
	return r
}

// sleepCtx sleeps for d unless ctx ends first; false if it did.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dialIdle opens one connection through the proxy and completes one
// request on it (HTTPS: CONNECT, TLS handshake, request), leaving it
// idle, with no deadline and no buffered reader behind (the harness
// holds thousands of them).
func dialIdle(cfg loadConfig, deadline time.Time) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", cfg.target, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	conn := c
	if cfg.tlsConfig != nil {
		if err := connectTunnel(c, cfg.originAddr); err != nil {
			c.Close()
			return nil, err
		}
		tc := tls.Client(c, cfg.tlsConfig)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	br := bufio.NewReaderSize(conn, 4096)
	if _, err := roundTrip(conn, br, cfg.request()); err != nil {
		conn.Close()
		if errors.Is(err, errConnClose) {
			return nil, errors.New("the proxy closes the connection after the request: it cannot be held idle")
		}
		return nil, err
	}
	if br.Buffered() > 0 {
		conn.Close()
		return nil, fmt.Errorf("%w: data after the response", errBadResponse)
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// openIdle opens n idle connections with conc at a time, trying each up
// to three times; it gives up at the first connection that cannot be
// opened, or when budget is spent, returning those it opened.
func openIdle(ctx context.Context, cfg loadConfig, n, conc int, budget time.Duration) ([]net.Conn, time.Duration, error) {
	began := time.Now()
	deadline := began.Add(budget)
	conns := make([]net.Conn, n)
	var (
		next     atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var c net.Conn
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					if time.Now().After(deadline) {
						err = fmt.Errorf("not all open within -open-timeout %v", budget)
						break
					}
					c, err = dialIdle(cfg, minTime(deadline, time.Now().Add(cfg.ioTimeout)))
					if err == nil || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = describeOpenError(err)
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	conns = slices.DeleteFunc(conns, func(c net.Conn) bool { return c == nil })
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return conns, took, firstErr
}

// describeOpenError names the limit behind a failure to open a connection.
func describeOpenError(err error) error {
	switch {
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("%w (the harness ran out of descriptors: raise its limit, ulimit -n)", err)
	case errors.Is(err, syscall.ENFILE):
		return fmt.Errorf("%w (the system ran out of descriptors: fs.file-max)", err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%w (out of local ports: net.ipv4.ip_local_port_range)", err)
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// countOpen checks, without reading, how many of conns the peer has not
// closed.
func countOpen(conns []net.Conn) (open, checked int) {
	var o, ch atomic.Int64
	parallel(conns, func(c net.Conn) {
		closed, ok := peerClosed(c)
		if ok {
			ch.Add(1)
			if !closed {
				o.Add(1)
			}
		}
	})
	return int(o.Load()), int(ch.Load())
}

// closeAll closes conns, several at a time, so that they close at about
// the same moment.
func closeAll(conns []net.Conn) {
	parallel(conns, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(time.Second))
		c.Close()
	})
}

// parallel runs f on every conn with 16 goroutines.
func parallel(conns []net.Conn, f func(net.Conn)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(16, len(conns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				f(conns[i])
			}
		}()
	}
	wg.Wait()
}

// sampleAfter reads the proxy's memory at once and every `every` until
// total has passed (the last sample at total), with the origin's open
// connections at each.
func sampleAfter(ctx context.Context, probe *memProbe, org *origin, total, every time.Duration) ([]memSample, []int) {
	began := time.Now()
	var samples []memSample
	var originOpen []int
	for at := time.Duration(0); ; at = min(at+every, total) {
		if !sleepCtx(ctx, time.Until(began.Add(at))) {
			break
		}
		s := probe.sample()
		s.at = at
		samples = append(samples, s)
		originOpen = append(originOpen, org.openConns())
		if at >= total {
			break
		}
	}
	return samples, originOpen
}
