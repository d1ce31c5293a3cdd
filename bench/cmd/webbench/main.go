// Command webbench measures mitmweb's web UI in headless chromium (issue 16
// item 6): how long a flow takes from completing in the proxy to its row in
// the browser's DOM, at a few flow rates; how long the table takes to show
// the result of a filter over many flows; and the page's JS heap with that
// many flows. It measures mitmgo's mitmweb (built from ./cmd/mitmweb) and,
// with -compare-mitmproxy, Debian's mitmproxy 8.1.1 mitmweb the same way.
//
//	go run ./bench/cmd/webbench                                # mitmgo: 200 and 1,000 flows/s; 100,000 flows filtered
//	go run ./bench/cmd/webbench -compare-mitmproxy             # ... and mitmproxy 8.1.1's mitmweb
//	go run ./bench/cmd/webbench -rates 200 -d 3s -filter-flows 10000
//
// It stops by itself: every rate runs -d (plus up to -settle for the last
// rows), every wait is bounded, and Ctrl-C stops everything it started.
// It is a benchmark, not a test: it prints figures and asserts nothing.
// See bench/cmd/webbench/README.md for what is measured and how.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/browsertest"
)

// errNoTable: the page opened but has no flow table (the front end is
// missing); the latency run still measures the WebSocket.
var errNoTable = errors.New("no flow table in the page")

type config struct {
	rates            []int
	dur              time.Duration
	workers          int
	settle           time.Duration
	filterFlows      int
	mitmgo           bool
	mitmwebBin       string
	compareMitmproxy bool
	mitmproxyBin     string
	startTimeout     time.Duration
	loadTimeout      time.Duration
	verbose          bool
	shots            string
	profile          string
	trace            string
}

func main() {
	var c config
	var rates string
	flag.StringVar(&rates, "rates", "200,1000", "flow rates (flows per second) of the latency runs; empty for none")
	flag.DurationVar(&c.dur, "d", 5*time.Second, "duration of each latency run (flows = rate × d)")
	flag.IntVar(&c.workers, "c", 64, "concurrent client connections of the load")
	flag.DurationVar(&c.settle, "settle", 30*time.Second, "after the load, wait at most this long for the last rows")
	flag.IntVar(&c.filterFlows, "filter-flows", 100000, "flows loaded (with -r) for the filter and heap measurement; 0 for none")
	flag.BoolVar(&c.mitmgo, "mitmgo", true, "measure mitmgo's mitmweb")
	flag.StringVar(&c.mitmwebBin, "mitmweb-bin", "", "mitmgo mitmweb binary (default: build ./cmd/mitmweb)")
	flag.BoolVar(&c.compareMitmproxy, "compare-mitmproxy", false, "also measure Debian's mitmproxy mitmweb")
	flag.StringVar(&c.mitmproxyBin, "mitmproxy-bin", "/usr/bin/mitmweb", "mitmproxy's mitmweb binary")
	flag.DurationVar(&c.startTimeout, "start-timeout", 3*time.Minute, "how long a mitmweb may take to start (it loads the flow file first)")
	flag.DurationVar(&c.loadTimeout, "load-timeout", 5*time.Minute, "how long the page may take to show the loaded flows")
	flag.BoolVar(&c.verbose, "v", false, "print progress")
	flag.StringVar(&c.shots, "screenshots", "", "save screenshots of the pages into this directory")
	flag.StringVar(&c.trace, "trace", "", "record a Chrome trace of each latency run and of the scrolling into this directory, and print where the renderer's time went")
	flag.StringVar(&c.profile, "profile", "", "record the page's JavaScript CPU profile of each latency run into this directory, and print its top functions")
	flag.Parse()
	for _, r := range strings.Split(rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "webbench: bad rate %q\n", r)
			os.Exit(2)
		}
		c.rates = append(c.rates, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webbench:", err)
		os.Exit(1)
	}
}

// latencyResult is one target's run at one rate.
type latencyResult struct {
	target         string
	rate, flows    int
	errs           int
	late           time.Duration // the p99 of how late requests were sent
	achieved       float64       // flows per second the proxy completed
	seen           int
	proxyLat       []float64  // ms: row with status in the DOM − the proxy's response timestamp_end
	clientLat      []float64  // ms: row with status in the DOM − the client's end of the response
	firstRow       []float64  // ms: the row's first appearance − the proxy's response timestamp_end
	wsLat          []float64  // ms: the flow with its response on the harness's own /updates WebSocket − timestamp_end
	noTable        bool       // the page has no flow table: only the WebSocket was measured
	profile        string     // -profile: the page's top functions
	trace          string     // -trace: the renderer's time by kind
	thread         threadTime // the page's main thread from the load's start until the last row
	offset, offErr float64
	note           string
}

// filterResult is one target's filter and heap measurement.
type filterResult struct {
	target             string
	flows              int
	startup            time.Duration
	getFlows           time.Duration // one GET /flows of all the flows, read and decoded by the harness
	loaded             float64       // ms from navigation until the table is quiet
	heapMB, nodes      float64
	one, method, clear float64
	rowsShown          int
	// scrolling all the flows: the intervals between animation frames
	scroll    []float64
	scrollTop float64 // where the table was at the end (px)
	// scrollThread: the page's main thread during the scrolling
	scrollThread threadTime
	scrollTrace  string // -trace: the renderer's time by kind
	note         string
}

func bench(ctx context.Context, c config, w io.Writer) error {
	chromium := browsertest.FindChromium()
	if chromium == "" {
		return errors.New("no chromium (apt-get install chromium, or set MITMGO_CHROMIUM)")
	}
	tmp, err := os.MkdirTemp("", "webbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	type tgt struct{ kind, bin string }
	var targets []tgt
	if c.mitmgo {
		bin := c.mitmwebBin
		if bin == "" {
			wd, _ := os.Getwd()
			if bin, err = buildMitmweb(wd, tmp); err != nil {
				return err
			}
		}
		targets = append(targets, tgt{"mitmgo", bin})
	}
	if c.compareMitmproxy {
		if _, err := os.Stat(c.mitmproxyBin); err != nil {
			return fmt.Errorf("-compare-mitmproxy: %w (apt-get install mitmproxy)", err)
		}
		targets = append(targets, tgt{"mitmproxy", c.mitmproxyBin})
	}
	origin, closeOrigin, err := startOrigin()
	if err != nil {
		return err
	}
	defer closeOrigin()

	fmt.Fprintf(w, "webbench: %s; %d CPUs; chromium %s; load average %s\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), chromium, loadavg())
	fmt.Fprintf(w, "latency runs: %v flows/s for %s each (%d client connections, open loop), filter runs over %d flows\n\n",
		c.rates, c.dur, c.workers, c.filterFlows)

	var lats []latencyResult
	var filts []filterResult
	for _, t := range targets {
		for _, rate := range c.rates {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := latencyRun(ctx, c, t.kind, t.bin, chromium, origin, rate)
			if err != nil {
				r = latencyResult{target: t.kind, rate: rate, note: err.Error()}
			}
			lats = append(lats, r)
			printLatency(w, r)
		}
		if c.filterFlows > 0 && ctx.Err() == nil {
			r, err := filterRun(ctx, c, t.kind, t.bin, chromium, tmp)
			if err != nil {
				r.target, r.flows, r.note = t.kind, c.filterFlows, err.Error()
			}
			filts = append(filts, r)
			printFilter(w, r)
		}
	}
	fmt.Fprintf(w, "\nload average after: %s\n", loadavg())
	return nil
}

func (c config) logf(format string, args ...any) {
	if c.verbose {
		fmt.Fprintf(os.Stderr, "webbench: "+format+"\n", args...)
	}
}

// openPage starts chromium on the target's UI and waits for its table.
func openPage(ctx context.Context, c config, chromium string, t *target, tmp string, timeout time.Duration) (context.Context, func(), error) {
	prof, err := os.MkdirTemp(tmp, "profile-")
	if err != nil {
		return nil, nil, err
	}
	// A tall window: a virtualized table renders more rows at once.
	tab, cancel, err := browsertest.Launch(ctx, browsertest.Options{ExecPath: chromium, UserDataDir: prof, Width: 1280, Height: 1600})
	if err != nil {
		return nil, nil, err
	}
	nctx, ncancel := context.WithTimeout(tab, timeout)
	defer ncancel()
	if err := chromedp.Do(nctx, chromedp.Navigate(t.open)); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("opening %s: %w", t.open, err)
	}
	wctx, wcancel := context.WithTimeout(nctx, 15*time.Second)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.WaitReady(chromedp.CSS(t.ui.Table))); err != nil {
		return tab, cancel, fmt.Errorf("%s: %w: %s in %s", t.name, errNoTable, t.ui.Table, t.open)
	}
	return tab, cancel, nil
}

func (c config) screenshot(ctx context.Context, name string) {
	if c.shots == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err == nil {
		_ = os.MkdirAll(c.shots, 0o755)
		err = os.WriteFile(filepath.Join(c.shots, name+".png"), buf, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "webbench: screenshot %s: %v\n", name, err)
	}
}

// latencyRun starts the target and a browser on its UI, sends rate×d
// flows at rate, and reports when each flow's row showed its status code
// in the DOM against when the flow completed.
func latencyRun(ctx context.Context, c config, kind, bin, chromium, origin string, rate int) (latencyResult, error) {
	res := latencyResult{target: kind, rate: rate, flows: int(float64(rate) * c.dur.Seconds())}
	tmp, err := os.MkdirTemp("", "webbench-run-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	c.logf("%s at %d flows/s: starting", kind, rate)
	t, err := startTarget(ctx, kind, bin, nil, c.startTimeout)
	if err != nil {
		return res, err
	}
	defer t.stop()
	tab, closeTab, err := openPage(ctx, c, chromium, t, tmp, time.Minute)
	if errors.Is(err, errNoTable) {
		res.noTable, res.note = true, err.Error()
	} else if err != nil {
		return res, err
	}
	defer closeTab()
	prefix := "/wb/"
	if _, err := eval[bool](tab, 10*time.Second, fmt.Sprintf(observerJS, jsCfg(observerCfg{
		Row: t.ui.Row, Path: t.ui.Path, Status: t.ui.Status, Prefix: prefix, Follow: true,
	}))); err != nil {
		return res, fmt.Errorf("installing the observer: %w", err)
	}
	upd, err := dialUpdates(t)
	if err != nil {
		return res, err
	}
	defer upd.close()
	if res.offset, res.offErr, err = clockOffset(tab); err != nil {
		return res, err
	}
	c.logf("%s at %d flows/s: clock offset %.3f ms ± %.3f; sending %d flows", kind, rate, res.offset, res.offErr, res.flows)
	if c.profile != "" {
		if err := startProfile(tab); err != nil {
			return res, fmt.Errorf("starting the profiler: %w", err)
		}
	}
	var thread0 threadTime
	if !res.noTable {
		if thread0, err = mainThread(tab); err != nil {
			return res, err
		}
	}
	var tr *tracer
	if c.trace != "" && !res.noTable {
		if tr, err = startTrace(tab); err != nil {
			return res, fmt.Errorf("starting the trace: %w", err)
		}
	}
	samples := load(ctx, t.proxy, origin, prefix, res.flows, rate, c.workers, 30*time.Second)
	var lates []float64
	var first, last time.Time
	for _, s := range samples {
		if s.err != nil {
			res.errs++
			continue
		}
		lates = append(lates, float64(s.late))
		if first.IsZero() || s.start.Before(first) {
			first = s.start
		}
		if s.done.After(last) {
			last = s.done
		}
	}
	res.late = time.Duration(percentile(lates, 99))
	if d := last.Sub(first).Seconds(); d > 0 {
		res.achieved = float64(len(lates)) / d
	}
	// Wait for the last rows, bounded.
	deadline := time.Now().Add(c.settle)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := len(upd.arrivals())
		if !res.noTable {
			if n, err = eval[int](tab, 10*time.Second, `window.__wb.count`); err != nil {
				return res, err
			}
		}
		if n >= res.flows-res.errs {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !res.noTable {
		thread1, err := mainThread(tab)
		if err != nil {
			return res, err
		}
		res.thread = thread1.sub(thread0)
	}
	if tr != nil {
		var b strings.Builder
		if err := tr.stop(tab, &b, c.trace, fmt.Sprintf("%s-%d", kind, rate), float64(res.flows-res.errs)/1000, "1,000 flows"); err != nil {
			return res, fmt.Errorf("the trace: %w", err)
		}
		res.trace = b.String()
	}
	c.screenshot(tab, fmt.Sprintf("%s-%d", kind, rate))
	if c.profile != "" {
		var b strings.Builder
		if err := stopProfile(tab, &b, c.profile, fmt.Sprintf("%s-%d", kind, rate)); err != nil {
			return res, fmt.Errorf("the profile: %w", err)
		}
		res.profile = b.String()
	}
	type marks struct {
		Seen map[string]float64 `json:"seen"`
		Rows map[string]float64 `json:"rows"`
	}
	got, err := eval[marks](tab, time.Minute, `({seen: window.__wb.seen, rows: window.__wb.rows})`)
	if err != nil {
		return res, err
	}
	times, err := t.flowTimes()
	if err != nil {
		return res, fmt.Errorf("reading /flows: %w", err)
	}
	res.seen = len(got.Seen)
	arrived := upd.arrivals()
	for _, smp := range samples {
		if smp.err != nil {
			continue
		}
		key := strconv.Itoa(smp.n)
		if at, ok := arrived[smp.n]; ok {
			if te, ok := times[prefix+key]; ok {
				res.wsLat = append(res.wsLat, float64(at.UnixNano())/1e6-te*1e3)
			}
		}
		seen, ok := got.Seen[key]
		if !ok {
			continue
		}
		seen -= res.offset // on the harness's clock
		if te, ok := times[prefix+key]; ok {
			res.proxyLat = append(res.proxyLat, seen-te*1e3)
			if first, ok := got.Rows[key]; ok {
				res.firstRow = append(res.firstRow, first-res.offset-te*1e3)
			}
		}
		res.clientLat = append(res.clientLat, seen-float64(smp.done.UnixNano())/1e6)
	}
	return res, nil
}

// filterRun starts the target with a flow file of c.filterFlows flows,
// opens the UI, waits until the table is quiet, reads the JS heap, and
// times three filters: one flow, half of them (~m POST), and none (all).
func filterRun(ctx context.Context, c config, kind, bin, chromium, tmp string) (filterResult, error) {
	res := filterResult{target: kind, flows: c.filterFlows}
	version := flowfile.Version21
	if kind == "mitmproxy" {
		version = flowfile.Version17
	}
	file := filepath.Join(tmp, fmt.Sprintf("flows-%d-v%d", c.filterFlows, version))
	if _, err := os.Stat(file); err != nil {
		c.logf("writing %d flows to %s", c.filterFlows, file)
		if err := writeFlowFile(file, c.filterFlows, version); err != nil {
			return res, err
		}
	}
	c.logf("%s: starting with -r (%d flows)", kind, c.filterFlows)
	start := time.Now()
	t, err := startTarget(ctx, kind, bin, []string{"-r", file}, c.startTimeout)
	if err != nil {
		return res, err
	}
	defer t.stop()
	// The proxy listens before the flows are read in; wait until /flows
	// has them all.
	for {
		var n []struct{}
		t0 := time.Now()
		if err := t.api("/flows", &n); err == nil && len(n) >= c.filterFlows {
			res.getFlows = time.Since(t0)
			break
		}
		if time.Since(start) > c.startTimeout || ctx.Err() != nil {
			return res, fmt.Errorf("/flows does not have %d flows after %s", c.filterFlows, c.startTimeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.startup = time.Since(start)
	c.logf("%s: %d flows in /flows after %s; opening the page", kind, c.filterFlows, res.startup.Round(time.Millisecond))
	tab, closeTab, err := openPage(ctx, c, chromium, t, tmp, c.loadTimeout)
	if err != nil {
		if closeTab != nil {
			closeTab()
		}
		return res, err
	}
	defer closeTab()
	timeoutMS := int(c.loadTimeout / time.Millisecond)
	if res.loaded, err = eval[float64](tab, c.loadTimeout+time.Minute, fmt.Sprintf(quietJS, jsCfg(map[string]any{
		"row": t.ui.Row, "quiet": 2000, "timeout": timeoutMS,
	}))); err != nil {
		return res, err
	}
	if res.loaded < 0 {
		return res, fmt.Errorf("the table did not settle within %s", c.loadTimeout)
	}
	res.rowsShown, _ = eval[int](tab, 10*time.Second, fmt.Sprintf(`document.querySelectorAll(%s).length`, browsertest.JSString(t.ui.Row)))
	c.screenshot(tab, kind+"-loaded")
	bytes, nodes, err := heap(tab)
	if err != nil {
		return res, err
	}
	res.heapMB, res.nodes = bytes/(1<<20), nodes
	// An even flow is a GET: the one-flow result does not already
	// satisfy the ~m POST condition that follows.
	target := strconv.Itoa(c.filterFlows * 7 / 9 &^ 1)
	runs := []struct {
		out              *float64
		value, want, arg string
	}{
		{&res.one, "~u /f/" + target + "$", "one", "/f/" + target},
		{&res.method, "~m POST", "method", "POST"},
		{&res.clear, "", "all", "POST"},
	}
	for _, r := range runs {
		c.logf("%s: filter %q", kind, r.value)
		v, err := eval[float64](tab, c.loadTimeout+time.Minute, fmt.Sprintf(filterJS, jsCfg(filterCfg{
			Input: t.ui.Filter, Row: t.ui.Row, Path: t.ui.Path, Method: t.ui.Method,
			Value: r.value, Want: r.want, Arg: r.arg, Enter: t.ui.Enter, Timeout: timeoutMS,
		})))
		if err != nil {
			return res, err
		}
		switch v {
		case -2:
			return res, fmt.Errorf("no filter input (%s) in the page", t.ui.Filter)
		case -1:
			return res, fmt.Errorf("the table did not show the result of the filter %q within %s", r.value, c.loadTimeout)
		}
		*r.out = v
		c.screenshot(tab, kind+"-filter-"+r.want)
	}
	// Scrolling all the flows (the filter is cleared): 3 s at 120 px a
	// frame (about 4.6 rows, 7,200 px/s at 60 frames/s), after the table
	// is quiet again.
	if _, err := eval[float64](tab, c.loadTimeout+time.Minute, fmt.Sprintf(quietJS, jsCfg(map[string]any{
		"row": t.ui.Row, "quiet": 1000, "timeout": timeoutMS,
	}))); err != nil {
		return res, err
	}
	c.logf("%s: scrolling", kind)
	st0, err := mainThread(tab)
	if err != nil {
		return res, err
	}
	var tr *tracer
	if c.trace != "" {
		if tr, err = startTrace(tab); err != nil {
			return res, fmt.Errorf("starting the trace: %w", err)
		}
	}
	so, err := eval[*scrollOut](tab, time.Minute, fmt.Sprintf(scrollJS, jsCfg(scrollCfg{Table: t.ui.Table, Step: 120, MS: 3000})))
	if err != nil {
		return res, err
	}
	if tr != nil && so != nil {
		var b strings.Builder
		if err := tr.stop(tab, &b, c.trace, kind+"-scroll", float64(len(so.Deltas)), "frame"); err != nil {
			return res, fmt.Errorf("the trace: %w", err)
		}
		res.scrollTrace = b.String()
	}
	st1, err := mainThread(tab)
	if err != nil {
		return res, err
	}
	res.scrollThread = st1.sub(st0)
	if so != nil {
		res.scroll, res.scrollTop = so.Deltas, so.Top
	}
	c.screenshot(tab, kind+"-scrolled")
	return res, nil
}

// longFrames counts the frame intervals over ms.
func longFrames(deltas []float64, ms float64) int {
	n := 0
	for _, d := range deltas {
		if d > ms {
			n++
		}
	}
	return n
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func printLatency(w io.Writer, r latencyResult) {
	if r.note != "" && len(r.proxyLat) == 0 && len(r.wsLat) == 0 {
		fmt.Fprintf(w, "%-9s %5d flows/s: not measured: %s\n", r.target, r.rate, firstLine(r.note))
		return
	}
	fmt.Fprintf(w, "%-9s %5d flows/s: %d flows, %d errors, %.0f flows/s achieved (p99 of requests sent late: %s), %d rows with a status seen; clock offset page−harness %.3f ms (±%.3f)\n",
		r.target, r.rate, r.flows, r.errs, r.achieved, r.late.Round(time.Millisecond), r.seen, r.offset, r.offErr)
	fmt.Fprintf(w, "    flow done in the proxy → flow on a Go /updates client: p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (n=%d)\n",
		percentile(r.wsLat, 50), percentile(r.wsLat, 99), percentile(r.wsLat, 100), len(r.wsLat))
	if r.noTable {
		fmt.Fprintf(w, "    rows in the DOM: not measured: %s\n", r.note)
		return
	}
	fmt.Fprintf(w, "    flow done in the proxy → row with status in the DOM: p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (n=%d)\n",
		percentile(r.proxyLat, 50), percentile(r.proxyLat, 99), percentile(r.proxyLat, 100), len(r.proxyLat))
	fmt.Fprintf(w, "    client has the response  → row with status in the DOM: p50 %7.1f ms  p99 %7.1f ms\n",
		percentile(r.clientLat, 50), percentile(r.clientLat, 99))
	fmt.Fprintf(w, "    flow done in the proxy → row first in the DOM:         p50 %7.1f ms  p99 %7.1f ms\n",
		percentile(r.firstRow, 50), percentile(r.firstRow, 99))
	// Per flow sent (the page received every one, shown or not).
	if n := max(r.flows-r.errs, 1); r.thread.task > 0 {
		per := r.thread.scale(1000 / float64(n))
		fmt.Fprintf(w, "    the page's main thread from the load's start to the last row: %s; per 1,000 flows: %s\n", r.thread, per)
	}
	if r.trace != "" {
		fmt.Fprint(w, r.trace)
	}
	if r.profile != "" {
		fmt.Fprintf(w, "    the page's JavaScript, self time during the run:\n%s", r.profile)
	}
}

func printFilter(w io.Writer, r filterResult) {
	if r.note != "" {
		fmt.Fprintf(w, "%-9s filter over %d flows: not measured: %s\n", r.target, r.flows, firstLine(r.note))
		return
	}
	fmt.Fprintf(w, "%-9s %d flows (-r): in /flows after %s (GET /flows %s); page settled %.0f ms after opening (%d rows in the DOM)\n",
		r.target, r.flows, r.startup.Round(time.Millisecond), r.getFlows.Round(time.Millisecond), r.loaded, r.rowsShown)
	fmt.Fprintf(w, "    JS heap after GC %.1f MiB, %0.f DOM nodes\n", r.heapMB, r.nodes)
	fmt.Fprintf(w, "    typing the filter → table shows the result: one flow %.0f ms, ~m POST (half) %.0f ms, cleared %.0f ms\n",
		r.one, r.method, r.clear)
	if len(r.scroll) > 0 {
		fmt.Fprintf(w, "    scrolling 120 px a frame for 3 s (to %.0f px): %d frames, interval p50 %.1f ms  p99 %.1f ms  max %.1f ms; over 20 ms: %d, over 50 ms: %d\n",
			r.scrollTop, len(r.scroll), percentile(r.scroll, 50), percentile(r.scroll, 99), percentile(r.scroll, 100),
			longFrames(r.scroll, 20), longFrames(r.scroll, 50))
		fmt.Fprintf(w, "    the page while scrolling: %s; per frame: %s\n", r.scrollThread, r.scrollThread.scale(1/float64(len(r.scroll))))
		fmt.Fprint(w, r.scrollTrace)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
