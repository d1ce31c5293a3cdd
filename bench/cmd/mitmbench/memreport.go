package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printMemoryReport prints the memory measurements: idle connections
// (with them open, then after they close) and the soaks.
func printMemoryReport(w io.Writer, o options, limits string, idle []idleResult, soaks []soakResult, skipped []string, loadBefore, loadAfter string) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "memory of each proxy's process tree, on 127.0.0.1: RSS (VmRSS, /proc/PID/status), PSS and private")
	fmt.Fprintln(w, "(Private_Clean + Private_Dirty, /proc/PID/smaps_rollup); KiB and MiB are 1024 bytes and 1024 KiB")
	fmt.Fprintf(w, "origin: %s, %s certificate; load average %s before, %s after, %d CPUs\n",
		o.originKind, o.originKey, loadBefore, loadAfter, runtime.NumCPU())
	seen := map[string]bool{}
	addLimit := func(target string, l fileLimit, ok bool) {
		if ok && !seen[target] {
			seen[target] = true
			limits += fmt.Sprintf("; %s %s", target, l)
		}
	}
	for _, r := range idle {
		addLimit(r.target, r.limit, r.hasLimit)
	}
	for _, r := range soaks {
		addLimit(r.target, r.limit, r.hasLimit)
	}
	fmt.Fprintf(w, "descriptor limits (RLIMIT_NOFILE soft/hard): %s\n", limits)
	if len(idle) > 0 {
		printIdle(w, o, idle)
	}
	if len(soaks) > 0 {
		printSoaks(w, o, soaks)
	}
	if len(skipped) > 0 {
		fmt.Fprintln(w)
		for _, sk := range skipped {
			fmt.Fprintf(w, "not measured: %s\n", sk)
		}
	}
	fmt.Fprintln(w, "\nissue 18's targets, for orientation (not checked): an idle HTTP connection under 12 KB, an idle HTTPS one")
	fmt.Fprintln(w, "under 48 KB, RSS back under twice its idle start within 30 s of the connections closing.")
}

func printIdle(w io.Writer, o options, idle []idleResult) {
	fmt.Fprintf(w, "\nidle connections: each made one request (https: CONNECT, TLS handshake, request), then stays open and idle;\n")
	fmt.Fprintf(w, "memory read %v after the last one opened, against the idle start (the same proxy process %v after one request\n", o.idleSettle, o.idleSettle)
	fmt.Fprintf(w, "on a connection of its own, closed); per conn = (with them - idle start) / connections\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tproto\tconns\topen took\tstill open\tidle start RSS\tRSS\tper conn RSS\tPSS\tper conn private\tthreads\tgoroutines\theap live\t")
	for _, r := range idle {
		if r.err != nil && r.open.rss == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%d\tfailed: %s\t\t\t\t\t\t\t\t\t\t\n", r.target, r.proto, r.n, errSummary(r.err))
			continue
		}
		rss, private := r.perConn()
		still := "n/a"
		if r.checked > 0 {
			still = fmt.Sprintf("%d/%d", r.stillOpen, r.opened)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.target, r.proto, r.opened,
			fmtDur(r.openTook), still, fmtMiB(r.start.rss), fmtMiB(r.open.rss), fmtKiB(rss),
			fmtMiB(r.open.pss), fmtKiB(private), r.open.threads, fmtGoroutines(r.open.goroutines), fmtHeap(r.open))
	}
	tw.Flush()

	var times []time.Duration
	for _, r := range idle {
		if len(r.after) > len(times) {
			times = times[:0]
			for _, s := range r.after {
				times = append(times, s.at)
			}
		}
	}
	if len(times) == 0 {
		return
	}
	fmt.Fprintf(w, "\nafter the connections close: RSS from the moment they closed, and the last against the idle start\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "target\tproto\tconns\tidle start\t"
	for _, at := range times {
		head += fmt.Sprintf("+%v\t", at)
	}
	head += fmt.Sprintf("+%v / idle start\tPSS\theap live\tupstream conns left\t", times[len(times)-1])
	fmt.Fprintln(tw, head)
	var dumps []string
	for _, r := range idle {
		if len(r.after) == 0 {
			continue
		}
		line := fmt.Sprintf("%s\t%s\t%d\t%s\t", r.target, r.proto, r.opened, fmtMiB(r.start.rss))
		for i := range times {
			if i < len(r.after) {
				line += fmtMiB(r.after[i].rss) + "\t"
			} else {
				line += "-\t"
			}
		}
		last := r.after[len(r.after)-1]
		left := "n/a"
		if n := r.originOpen[len(r.originOpen)-1]; n >= 0 {
			left = fmt.Sprint(n)
		}
		line += fmt.Sprintf("%.2fx\t%s\t%s\t%s\t", float64(last.rss)/float64(max(r.start.rss, 1)), fmtMiB(last.pss), fmtHeap(last), left)
		fmt.Fprintln(tw, line)
		if r.dump != nil {
			dumps = append(dumps, fmt.Sprintf("  %s, %s, %d: %d goroutines (%s)", r.target, r.proto, r.opened, r.dump.total, strings.Join(r.dump.topCreators(4), ", ")))
		}
	}
	tw.Flush()
	if len(dumps) > 0 {
		fmt.Fprintf(w, "\ngoroutines at the end, +%v after the close (the Go runtime's dump on SIGQUIT), with the commonest creators\n(the runtime's own left out):\n", times[len(times)-1])
		for _, d := range dumps {
			fmt.Fprintln(w, d)
		}
	}
	fmt.Fprintln(w)
	if slices.ContainsFunc(idle, func(r idleResult) bool { return r.open.hasGC }) {
		fmt.Fprintln(w, "heap live is what the proxy's last GC marked live (GODEBUG=gctrace=1, whole MiB), with that GC's number. RSS far")
		fmt.Fprintln(w, "above it is memory the Go runtime has not returned to the system, or garbage no GC has collected yet (the same")
		fmt.Fprintln(w, "GC number after the close: none ran); a heap above RSS is allocated memory never written (large buffers whose")
		fmt.Fprintln(w, "pages the kernel has not had to provide yet).")
	}
	fmt.Fprintln(w, "upstream conns left: the origin's connections still open at the end (n/a: the nethttp origin does not count them).")
}

func printSoaks(w io.Writer, o options, soaks []soakResult) {
	fmt.Fprintf(w, "\nsoak: %v of mixed load through each proxy, %d workers (worker i does kind i mod %d):\n", o.soak, o.conns, len(soakKinds))
	for _, k := range soakKinds {
		fmt.Fprintf(w, "  %s: %s\n", k.name, k.what)
	}
	fmt.Fprintf(w, "memory every %v, from just before the load (after one HTTP and one HTTPS request) to its end, then every %v\n", o.soakEvery, o.sampleEvery)
	fmt.Fprintf(w, "for %v after the load stopped and its connections closed; req/s counts aborts too\n\n", o.afterClose)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tat\tRSS\tPSS\tprivate\tthreads\tgoroutines\theap live\tGCs\treq/s\terrors\t")
	var notes []string
	for _, r := range soaks {
		if r.err != nil && len(r.samples) == 0 {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\t\t\t\t\n", r.target, errSummary(r.err))
			continue
		}
		prevGC := int64(-1)
		row := func(at string, s memSample, rate string, errs string) {
			gcs := "-"
			if s.hasGC {
				if prevGC >= 0 {
					gcs = fmt.Sprint(s.gc.n - prevGC)
				}
				prevGC = s.gc.n
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.target, at, fmtMiB(s.rss), fmtMiB(s.pss),
				fmtMiB(s.private), s.threads, fmtGoroutines(s.goroutines), fmtHeap(s), gcs, rate, errs)
		}
		for i, s := range r.samples {
			rate, errs := "-", "-"
			if r.rates[i] >= 0 {
				rate, errs = fmt.Sprintf("%.0f", r.rates[i]), fmt.Sprint(r.errs[i])
			}
			row(fmt.Sprint(s.at), s, rate, errs)
		}
		for _, s := range r.after {
			row(fmt.Sprintf("+%v after", s.at), s, "-", "-")
		}
		var total, aborted, errs int64
		var parts, lastErrs []string
		for _, k := range r.kinds {
			total += k.ok
			aborted += k.aborted
			errs += k.errors
			n := k.ok
			if k.aborted > 0 {
				n = k.aborted
			}
			parts = append(parts, fmt.Sprintf("%s %d", k.name, n))
			if k.errors > 0 {
				lastErrs = append(lastErrs, fmt.Sprintf("%s: %d, last: %s", k.name, k.errors, k.lastErr))
			}
		}
		note := fmt.Sprintf("  %s: %d requests and %d aborts (%s); %d errors", r.target, total, aborted, strings.Join(parts, ", "), errs)
		if len(lastErrs) > 0 {
			note += " (" + strings.Join(lastErrs, "; ") + ")"
		}
		note += fmt.Sprintf("; peak RSS (VmHWM) %s", fmtMiB(r.peakRSS))
		if len(r.after) > 0 && len(r.samples) > 0 {
			last := r.after[len(r.after)-1]
			note += fmt.Sprintf("; RSS +%v after the load %s, %.2fx its idle start", last.at, fmtMiB(last.rss), float64(last.rss)/float64(max(r.samples[0].rss, 1)))
		}
		if r.dump != nil {
			note += fmt.Sprintf("\n  %s: %d goroutines at the end (SIGQUIT dump), by creator: %s", r.target, r.dump.total, strings.Join(r.dump.topCreators(4), ", "))
		}
		if r.err != nil {
			note += fmt.Sprintf("\n  %s: %v", r.target, r.err)
		}
		notes = append(notes, note)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, "goroutines: from the proxy's pprof endpoint ("+debugAddrEnv+" for a mitmgo that knows it, -proxy-debug for -proxy), else n/a;")
	fmt.Fprintln(w, "threads (Threads in /proc/PID/status) stand in for them.")
}

func fmtMiB(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func fmtKiB(b float64) string {
	if b == -1 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}

func fmtGoroutines(n int) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprint(n)
}

func fmtHeap(s memSample) string {
	if !s.hasGC {
		return "-"
	}
	return fmt.Sprintf("%d MiB (gc %d)", s.gc.heapLive, s.gc.n)
}
