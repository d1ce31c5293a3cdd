// Command mitmbench measures what a proxy costs: it starts a fast HTTP/1.1
// origin on loopback, drives it with keep-alive connections directly and
// through proxies (mitmgo's mitmdump, built from ./cmd/mitmdump; optionally
// Debian's mitmdump; or any proxy given with -proxy), and prints requests
// per second and p50/p99 latency with ratios against the direct run, plus
// each started proxy's start-to-listening time, peak RSS and CPU time.
//
// Everything stays on 127.0.0.1 and every run is bounded by -d (and -n);
// see bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	conns        int
	duration     time.Duration
	warmup       time.Duration
	maxRequests  int64
	bodies       []string
	proxy        string
	mitmgo       bool
	mitmgoBin    string
	compare      bool
	mitmproxyBin string
	proxyArgs    []string
	startTimeout time.Duration
	ioTimeout    time.Duration
}

func main() {
	var o options
	var bodies, proxyArgs string
	flag.IntVar(&o.conns, "c", 32, "concurrent keep-alive connections")
	flag.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of each run")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each run")
	flag.Int64Var(&o.maxRequests, "n", 0, "stop a run after this many measured requests (0: only -d bounds it)")
	flag.StringVar(&bodies, "bodies", "small,large", "bodies to fetch: small (200 B), large (64 KiB)")
	flag.StringVar(&o.proxy, "proxy", "", "also measure an already running proxy at host:port (loopback only)")
	flag.BoolVar(&o.mitmgo, "mitmgo", true, "build ./cmd/mitmdump and measure it")
	flag.StringVar(&o.mitmgoBin, "mitmgo-bin", "", "use this mitmgo mitmdump binary instead of building one")
	flag.BoolVar(&o.compare, "compare-mitmproxy", false, "also measure Debian's mitmproxy mitmdump, when installed")
	flag.StringVar(&o.mitmproxyBin, "mitmproxy-bin", "mitmdump", "mitmproxy's mitmdump for -compare-mitmproxy")
	flag.StringVar(&proxyArgs, "proxy-args", "-q", "extra arguments for the proxies the harness starts (space-separated)")
	flag.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long a started proxy may take to listen")
	flag.DurationVar(&o.ioTimeout, "io-timeout", 10*time.Second, "how long one request may take")
	flag.Parse()
	o.bodies = strings.Split(bodies, ",")
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
}

// row is one measured run.
type row struct {
	target, body string
	res          *loadResult
	err          error
}

// procStats are the measurements of a started proxy.
type procStats struct {
	target               string
	coldStart, warmStart time.Duration
	peakRSS              int64
	cpu                  time.Duration
	requests             int64
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	for _, b := range o.bodies {
		if _, ok := bodySizes["/"+b]; !ok {
			return fmt.Errorf("unknown body %q (use small or large)", b)
		}
	}
	warnIfBusy(stderr)
	org, err := startOrigin()
	if err != nil {
		return err
	}
	defer org.close()

	tmp, err := os.MkdirTemp("", "mitmbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	targets := []target{{name: "direct"}}
	if o.proxy != "" {
		if err := checkLoopback(o.proxy); err != nil {
			return err
		}
		targets = append(targets, target{name: "proxy " + o.proxy, addr: o.proxy})
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
			targets = append(targets, proxyTarget("mitmgo", bin, o, stderr))
		}
	}
	if o.compare {
		bin, err := exec.LookPath(o.mitmproxyBin)
		if err != nil {
			fmt.Fprintf(stderr, "skipping mitmproxy: %s not found (apt-get install mitmproxy)\n", o.mitmproxyBin)
		} else {
			targets = append(targets, proxyTarget("mitmproxy", bin, o, stderr))
		}
	}

	var rows []row
	var procs []procStats
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		var p *proxyProc
		var stats procStats
		if t.start != nil {
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
				continue
			}
			cold.stop()
			fmt.Fprintf(stderr, "starting %s (warm) ...\n", t.name)
			p, err = t.start(ctx, confdir)
			if err != nil {
				fmt.Fprintf(stderr, "skipping %s: %v\n", t.name, err)
				continue
			}
			t.addr = p.addr
			stats = procStats{target: t.name, coldStart: cold.startup, warmStart: p.startup}
		}
		cpuBefore := time.Duration(0)
		if p != nil {
			cpuBefore = p.cpuTime()
		}
		for _, b := range o.bodies {
			fmt.Fprintf(stderr, "measuring %s, %s body, %d connections, %v ...\n", t.name, b, o.conns, o.duration)
			res, err := runLoad(ctx, loadConfig{
				target: firstNonEmpty(t.addr, org.addr()), viaProxy: t.addr != "", originAddr: org.addr(),
				path: "/" + b, conns: o.conns, duration: o.duration, warmup: o.warmup,
				maxRequests: o.maxRequests, ioTimeout: o.ioTimeout,
			})
			rows = append(rows, row{target: t.name, body: b, res: res, err: err})
			if res != nil {
				stats.requests += res.requests
			}
		}
		if p != nil {
			stats.cpu = p.cpuTime() - cpuBefore
			stats.peakRSS = p.peakRSS()
			p.stop()
			procs = append(procs, stats)
		}
	}
	printReport(stdout, o, rows, procs)
	return ctx.Err()
}

func proxyTarget(name, bin string, o options, stderr io.Writer) target {
	args := o.proxyArgs
	return target{name: name, start: func(ctx context.Context, confdir string) (*proxyProc, error) {
		p, err := startProxy(ctx, name, bin, args, confdir, o.startTimeout)
		if err != nil && len(args) > 0 && strings.Contains(err.Error(), "unknown option") {
			// A mitmdump that lacks the options -q sets (an early mitmgo)
			// is measured with its default output instead.
			fmt.Fprintf(stderr, "%s does not take %q; measuring it without\n", name, strings.Join(args, " "))
			args = nil
			p, err = startProxy(ctx, name, bin, args, confdir, o.startTimeout)
		}
		return p, err
	}}
}

// warnIfBusy says so when the machine is already loaded: other work on the
// CPUs skews every number.
func warnIfBusy(stderr io.Writer) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	var load float64
	if _, err := fmt.Sscan(string(data), &load); err == nil && load > float64(runtime.NumCPU()) {
		fmt.Fprintf(stderr, "warning: load average %.1f on %d CPUs; results will be noisy\n", load, runtime.NumCPU())
	}
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

func printReport(w io.Writer, o options, rows []row, procs []procStats) {
	direct := map[string]*loadResult{}
	for _, r := range rows {
		if r.target == "direct" && r.err == nil {
			direct[r.body] = r.res
		}
	}
	fmt.Fprintf(w, "\n%d connections, %v per run after %v warm-up, origin and proxies on 127.0.0.1\n\n",
		o.conns, o.duration, o.warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tbody\treq/s\tp50\tp99\treq/s ratio\tp50 ratio\tp99 ratio\terrors\t")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t%s\tfailed: %v\t\t\t\t\t\t\t\n", r.target, r.body, r.err)
			continue
		}
		d := direct[r.body]
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.target, r.body, r.res.rps(),
			fmtDur(r.res.percentile(50)), fmtDur(r.res.percentile(99)),
			ratio(r.res.rps(), d, (*loadResult).rps),
			ratioDur(r.res.percentile(50), d, 50), ratioDur(r.res.percentile(99), d, 99), r.res.errors)
	}
	tw.Flush()
	if len(procs) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "proxy\tstart, cold\tstart, warm\tpeak RSS\tCPU\tCPU per 1k req\t")
	for _, p := range procs {
		perK := "-"
		if p.requests > 0 && p.cpu > 0 {
			perK = fmtDur(p.cpu * 1000 / time.Duration(p.requests))
		}
		rss := "n/a"
		if p.peakRSS > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(p.peakRSS)/(1<<20))
		}
		cpu := "n/a"
		if p.cpu > 0 {
			cpu = fmt.Sprintf("%.2fs", p.cpu.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", p.target, fmtDur(p.coldStart), fmtDur(p.warmStart), rss, cpu, perK)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nratios are against direct: req/s ratio below 1 and latency ratios above 1 are the proxy's cost.")
	fmt.Fprintln(w, "start is the time from exec until the proxy accepts a TCP connection (cold: empty confdir, CA generated).")
}

func ratio(v float64, d *loadResult, f func(*loadResult) float64) string {
	if d == nil || f(d) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/f(d))
}

func ratioDur(v time.Duration, d *loadResult, p float64) string {
	if d == nil || d.percentile(p) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(v)/float64(d.percentile(p)))
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
