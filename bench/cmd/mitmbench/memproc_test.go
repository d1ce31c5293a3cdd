package main

import (
	"bytes"
	"net"
	"net/http"
	_ "net/http/pprof" // the fake mitmdump's debug endpoint (debugAddrEnv)
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The golden /proc files are those of a running mitmbench (a Go program,
// with its descriptor limit raised), read on Linux 6.x.
func TestParseStatus(t *testing.T) {
	st, err := parseStatus(readTestdata(t, "proc-status.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (procStatus{vmRSS: 35368 << 10, vmHWM: 35368 << 10, rssAnon: 27260 << 10, threads: 9}); st != want {
		t.Errorf("parseStatus = %+v, want %+v", st, want)
	}
	for _, bad := range []string{
		"",
		"Name:\tkthreadd\nThreads:\t1\n", // a kernel thread: no VmRSS
		"VmRSS:\t 12 kB\n",               // no Threads
		"VmRSS:\t 12 MB\nThreads:\t1\n",
		"VmRSS:\t -12 kB\nThreads:\t1\n",
		"VmRSS:\t 12 kB\nThreads:\tmany\n",
	} {
		if st, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, st)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(readTestdata(f, "proc-status.txt"))
	f.Add([]byte("VmRSS: 99999999999999999999 kB\nThreads: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStatus(data)
		if err == nil && (st.vmRSS < 0 || st.vmHWM < 0 || st.rssAnon < 0 || st.threads < 0) {
			t.Fatalf("parseStatus(%q) = %+v", data, st)
		}
	})
}

func TestParseSmapsRollup(t *testing.T) {
	s, err := parseSmapsRollup(readTestdata(t, "proc-smaps_rollup.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := smapsRollup{rss: 35368 << 10, pss: 33934 << 10, privateClean: 6604 << 10, privateDirty: 27260 << 10, anonymous: 27260 << 10}
	if s != want {
		t.Errorf("parseSmapsRollup = %+v, want %+v", s, want)
	}
	if s.private() != (6604+27260)<<10 {
		t.Errorf("private = %d", s.private())
	}
	for _, bad := range []string{"", "Rss: 1 kB\n", "Rss: 1 kB\nPss: x kB\n", "Rss: 1 kB\nPss: 1\n"} {
		if s, err := parseSmapsRollup([]byte(bad)); err == nil {
			t.Errorf("parseSmapsRollup(%q) = %+v, want an error", bad, s)
		}
	}
}

func FuzzParseSmapsRollup(f *testing.F) {
	f.Add(readTestdata(f, "proc-smaps_rollup.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSmapsRollup(data)
		if err == nil && (s.rss < 0 || s.pss < 0 || s.private() < 0) {
			t.Fatalf("parseSmapsRollup(%q) = %+v", data, s)
		}
	})
}

func TestParseLimits(t *testing.T) {
	lim, err := parseLimits(readTestdata(t, "proc-limits.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (fileLimit{soft: 20000, hard: 20000}); lim != want {
		t.Errorf("parseLimits = %+v, want %+v", lim, want)
	}
	if !lim.allows(20000) || lim.allows(20001) || lim.String() != "20000/20000" {
		t.Errorf("allows/String wrong for %v", lim)
	}
	if n := mostConns(lim); n != (20000-fdSlack)/2 {
		t.Errorf("mostConns = %d", n)
	}
	lim, err = parseLimits([]byte("Max open files            1024                 unlimited            files\n"))
	if err != nil || lim != (fileLimit{soft: 1024, hard: unlimited}) || lim.String() != "1024/unlimited" {
		t.Errorf("parseLimits(unlimited hard) = %v, %v", lim, err)
	}
	for _, bad := range []string{"", "Max open files 12\n", "Max open files -1 5 files\n", "Max processes 5 5\n"} {
		if lim, err := parseLimits([]byte(bad)); err == nil {
			t.Errorf("parseLimits(%q) = %+v, want an error", bad, lim)
		}
	}
}

func FuzzParseLimits(f *testing.F) {
	f.Add(readTestdata(f, "proc-limits.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim, err := parseLimits(data)
		if err == nil && (lim.soft < unlimited || lim.hard < unlimited) {
			t.Fatalf("parseLimits(%q) = %+v", data, lim)
		}
	})
}

func TestParsePortRange(t *testing.T) {
	if lo, hi, err := parsePortRange([]byte("32768\t60999\n")); err != nil || lo != 32768 || hi != 60999 {
		t.Errorf("parsePortRange = %d, %d, %v", lo, hi, err)
	}
	for _, bad := range []string{"", "1", "5 4", "0 10", "1 70000", "a b"} {
		if _, _, err := parsePortRange([]byte(bad)); err == nil {
			t.Errorf("parsePortRange(%q): no error", bad)
		}
	}
}

// TestGCWatcher feeds a GC trace, with a proxy's other output between the
// lines and split at odd places, through the watcher.
func TestGCWatcher(t *testing.T) {
	data := readTestdata(t, "gctrace.txt")
	var out bytes.Buffer
	w := &gcWatcher{out: &out}
	if _, ok := w.lastGC(); ok {
		t.Fatal("a GC before any output")
	}
	for len(data) > 0 {
		n := min(len(data), 37)
		w.Write(data[:n])
		data = data[n:]
	}
	gc, ok := w.lastGC()
	want := gcTrace{n: 9, at: 68 * time.Millisecond, heapStart: 51, heapEnd: 51, heapLive: 0, goal: 72, forced: true}
	if !ok || gc != want {
		t.Errorf("last GC %+v, want %+v", gc, want)
	}
	if !bytes.Equal(out.Bytes(), readTestdata(t, "gctrace.txt")) {
		t.Error("the output did not pass through unchanged")
	}
	if gc, ok := parseGCTrace("gc 5 @0.009s 6%: 0.038+0.14+0.003 ms clock, 0.076+0.065/0.046/0.001+0.007 ms cpu, 71->71->32 MB, 72 MB goal, 3 MB stacks, 0 MB globals, 2 P"); !ok ||
		gc != (gcTrace{n: 5, at: 9 * time.Millisecond, heapStart: 71, heapEnd: 71, heapLive: 32, goal: 72, stacks: 3}) {
		t.Errorf("parseGCTrace = %+v, %v", gc, ok)
	}
	for _, bad := range []string{"", "gc 10 @1.5s: truncated", "127.0.0.1:5000: GET http://x/", "gc 1 @0.1s 1%: a, 99999999999999999999->1->1 MB, 4 MB goal, 0 MB stacks"} {
		if gc, ok := parseGCTrace(bad); ok {
			t.Errorf("parseGCTrace(%q) = %+v", bad, gc)
		}
	}
}

func FuzzParseGCTrace(f *testing.F) {
	for line := range strings.SplitSeq(string(readTestdata(f, "gctrace.txt")), "\n") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		gc, ok := parseGCTrace(line)
		if ok && (gc.n < 0 || gc.at < 0 || gc.heapLive < 0 || gc.goal < 0 || gc.stacks < 0) {
			t.Fatalf("parseGCTrace(%q) = %+v", line, gc)
		}
	})
}

// The golden dump is a mitmgo mitmdump's answer to SIGQUIT (Go 1.26,
// GOTRACEBACK=all: headers with gp=, m= and mp=).
func TestParseGoroutineDump(t *testing.T) {
	d := parseGoroutineDump(readTestdata(t, "goroutine-dump.txt"))
	if d.total != 12 || d.byCreator["runtime.gcenable"] != 2 || d.byCreator[noCreator] != 1 ||
		d.byCreator["github.com/mitmgo/mitmgo.(*Master).Start"] != 1 {
		t.Errorf("parseGoroutineDump = %+v", d)
	}
	top := d.topCreators(2)
	if len(top) != 2 || top[0] != "github.com/mitmgo/mitmgo.(*Master).Start 1" || strings.Contains(strings.Join(top, " "), "runtime.") {
		t.Errorf("topCreators = %q", top)
	}
	old := "goroutine 1 [running]:\nmain.main()\n\nwith text\ngoroutine 7 [IO wait, 5 minutes]:\nnet.(*conn).Read()\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/x.go:1\ngoroutine x [y]:\ngoroutine 8 [select]:\ncreated by net/http.(*Server).Serve\n"
	d = parseGoroutineDump([]byte(old))
	if d.total != 3 || d.byCreator["net/http.(*Server).Serve"] != 2 || d.byCreator[noCreator] != 1 {
		t.Errorf("parseGoroutineDump(older format) = %+v", d)
	}
}

func FuzzParseGoroutineDump(f *testing.F) {
	f.Add(readTestdata(f, "goroutine-dump.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := parseGoroutineDump(data)
		sum := 0
		for _, n := range d.byCreator {
			sum += n
		}
		if sum != d.total || d.total > bytes.Count(data, []byte("goroutine ")) {
			t.Fatalf("parseGoroutineDump(%q) = %+v", data, d)
		}
	})
}

func TestParseGoroutineProfile(t *testing.T) {
	if n, err := parseGoroutineProfile(readTestdata(t, "pprof-goroutine.txt")); err != nil || n != 4 {
		t.Errorf("parseGoroutineProfile = %d, %v; want 4", n, err)
	}
	for _, bad := range []string{"", "<html>404</html>", "goroutine profile: total -1", "goroutine profile: total many"} {
		if n, err := parseGoroutineProfile([]byte(bad)); err == nil {
			t.Errorf("parseGoroutineProfile(%q) = %d", bad, n)
		}
	}
}

func FuzzParseGoroutineProfile(f *testing.F) {
	f.Add(readTestdata(f, "pprof-goroutine.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := parseGoroutineProfile(data); err == nil && n < 0 {
			t.Fatalf("parseGoroutineProfile(%q) = %d", data, n)
		}
	})
}

// TestGoroutineCount asks this process's own pprof endpoint.
func TestGoroutineCount(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.DefaultServeMux}
	go srv.Serve(ln)
	defer srv.Close()
	n, err := goroutineCount(&http.Client{Timeout: 5 * time.Second}, ln.Addr().String())
	if err != nil || n < 2 {
		t.Errorf("goroutineCount = %d, %v", n, err)
	}
	probe := &memProbe{pid: os.Getpid(), debugAddr: ln.Addr().String()}
	s := probe.sample()
	if s.err != nil || s.rss <= 0 || s.threads < 1 || s.goroutines < 2 {
		t.Errorf("sample of this process = %+v", s)
	}
	if s.pss >= 0 && (s.pss <= 0 || s.private <= 0) {
		t.Errorf("smaps_rollup read but PSS %d, private %d", s.pss, s.private)
	}
}

func TestBinaryMentions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bin")
	// The name straddles the 1 MiB chunks binaryMentions reads.
	data := append(bytes.Repeat([]byte{0}, 1<<20-5), []byte(debugAddrEnv)...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !binaryMentions(path, debugAddrEnv) {
		t.Error("the name across two chunks was not found")
	}
	if binaryMentions(path, "MITMGO_NOT_THERE") || binaryMentions(filepath.Join(dir, "missing"), debugAddrEnv) {
		t.Error("found what is not there")
	}
}
