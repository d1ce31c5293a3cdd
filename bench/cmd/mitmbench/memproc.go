package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// This file reads what the memory measurements (-idle, -soak) need from
// /proc, from the Go runtime's GC trace (GODEBUG=gctrace=1) and from
// goroutine dumps, with parsers that the tests feed golden files and fuzz.

// procStatus is what /proc/PID/status says about memory and threads.
type procStatus struct {
	// vmRSS, vmHWM and rssAnon are in bytes (the file says kB: KiB).
	vmRSS, vmHWM, rssAnon int64
	threads               int64
}

// parseStatus reads /proc/PID/status; VmRSS and Threads must be there
// (a kernel thread or a zombie has no VmRSS).
func parseStatus(data []byte) (procStatus, error) {
	var st procStatus
	var haveRSS, haveThreads bool
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name {
		case "VmRSS", "VmHWM", "RssAnon":
			n, err := parseKB(value)
			if err != nil {
				return procStatus{}, fmt.Errorf("status %s: %w", name, err)
			}
			switch name {
			case "VmRSS":
				st.vmRSS, haveRSS = n, true
			case "VmHWM":
				st.vmHWM = n
			default:
				st.rssAnon = n
			}
		case "Threads":
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 {
				return procStatus{}, fmt.Errorf("status Threads %q", strings.TrimSpace(value))
			}
			st.threads, haveThreads = n, true
		}
	}
	if !haveRSS || !haveThreads {
		return procStatus{}, errors.New("status: no VmRSS or Threads")
	}
	return st, nil
}

// parseKB reads a /proc value such as "  1234 kB" into bytes.
func parseKB(value string) (int64, error) {
	f := strings.Fields(value)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("not a kB value: %q", strings.TrimSpace(value))
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 || n > 1<<42 {
		return 0, fmt.Errorf("not a kB value: %q", strings.TrimSpace(value))
	}
	return n << 10, nil
}

// smapsRollup is what /proc/PID/smaps_rollup (Linux 4.14 and later) sums
// over all mappings, in bytes.
type smapsRollup struct {
	rss, pss, privateClean, privateDirty, anonymous, swap int64
}

// private is the memory no other process shares.
func (s smapsRollup) private() int64 { return s.privateClean + s.privateDirty }

// parseSmapsRollup reads /proc/PID/smaps_rollup: a header line naming the
// range, then "Name: N kB" lines. Rss and Pss must be there.
func parseSmapsRollup(data []byte) (smapsRollup, error) {
	var s smapsRollup
	var haveRSS, havePSS bool
	fields := map[string]*int64{
		"Rss": &s.rss, "Pss": &s.pss, "Private_Clean": &s.privateClean,
		"Private_Dirty": &s.privateDirty, "Anonymous": &s.anonymous, "Swap": &s.swap,
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		p, known := fields[name]
		if !known {
			continue
		}
		n, err := parseKB(value)
		if err != nil {
			return smapsRollup{}, fmt.Errorf("smaps_rollup %s: %w", name, err)
		}
		*p = n
		haveRSS = haveRSS || name == "Rss"
		havePSS = havePSS || name == "Pss"
	}
	if !haveRSS || !havePSS {
		return smapsRollup{}, errors.New("smaps_rollup: no Rss or Pss")
	}
	return s, nil
}

// unlimited stands for "unlimited" in a resource limit.
const unlimited = -1

// fileLimit is a process's RLIMIT_NOFILE; unlimited is -1.
type fileLimit struct{ soft, hard int64 }

func (l fileLimit) String() string {
	f := func(n int64) string {
		if n == unlimited {
			return "unlimited"
		}
		return strconv.FormatInt(n, 10)
	}
	return f(l.soft) + "/" + f(l.hard)
}

// allows says whether the soft limit leaves room for n descriptors.
func (l fileLimit) allows(n int64) bool { return l.soft == unlimited || l.soft >= n }

// parseLimits reads the "Max open files" line of /proc/PID/limits.
func parseLimits(data []byte) (fileLimit, error) {
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		var lim fileLimit
		for i, p := range []*int64{&lim.soft, &lim.hard} {
			if f[i] == "unlimited" {
				*p = unlimited
				continue
			}
			n, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil || n < 0 {
				return fileLimit{}, fmt.Errorf("limits: Max open files %q", strings.TrimSpace(rest))
			}
			*p = n
		}
		return lim, nil
	}
	return fileLimit{}, errors.New("limits: no Max open files line")
}

// readFileLimit is process pid's descriptor limit.
func readFileLimit(pid int) (fileLimit, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return fileLimit{}, err
	}
	return parseLimits(data)
}

// gcTrace is one line of the Go runtime's GC trace (GODEBUG=gctrace=1):
//
//	gc 9 @0.057s 1%: ... ms cpu, 51->51->0 MB, 88 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
//
// The heap figures are whole MB (MiB) as the runtime prints them.
type gcTrace struct {
	n int64
	// at is the time since the process started.
	at time.Duration
	// heapLive is the heap marked live by this GC (the third figure).
	heapStart, heapEnd, heapLive, goal, stacks int64
	forced                                     bool
}

var gcTraceRE = regexp.MustCompile(`^gc (\d+) @(\d+(?:\.\d+)?)s \d+%: .*, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, (\d+) MB stacks`)

// parseGCTrace parses one GC trace line; ok is false for other lines.
func parseGCTrace(line string) (gc gcTrace, ok bool) {
	m := gcTraceRE.FindStringSubmatch(line)
	if m == nil {
		return gcTrace{}, false
	}
	var nums [7]int64
	for i, s := range []string{m[1], m[3], m[4], m[5], m[6], m[7]} {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return gcTrace{}, false
		}
		nums[i] = n
	}
	secs, err := strconv.ParseFloat(m[2], 64)
	if err != nil || secs > 1e9 {
		return gcTrace{}, false
	}
	return gcTrace{n: nums[0], at: time.Duration(secs * float64(time.Second)),
		heapStart: nums[1], heapEnd: nums[2], heapLive: nums[3], goal: nums[4], stacks: nums[5],
		forced: strings.HasSuffix(strings.TrimSpace(line), "(forced)")}, true
}

// gcWatcher is a writer for a Go proxy's output that remembers the last
// GC trace line; the rest of the output passes through to out.
type gcWatcher struct {
	out  io.Writer
	mu   sync.Mutex
	part []byte
	last gcTrace
	seen bool
}

func (w *gcWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if gc, ok := parseGCTrace(string(w.part[:i])); ok {
			w.last, w.seen = gc, true
		}
		w.part = w.part[i+1:]
	}
	if len(w.part) > 4096 { // not a trace line; do not grow
		w.part = w.part[:0]
	}
	w.mu.Unlock()
	if w.out != nil {
		return w.out.Write(p)
	}
	return len(p), nil
}

// lastGC is the last GC trace seen, if any.
func (w *gcWatcher) lastGC() (gcTrace, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.seen
}

// goroutineDump summarises a Go traceback of all goroutines (what a Go
// program prints on SIGQUIT).
type goroutineDump struct {
	total int
	// byCreator counts goroutines by the function that started them
	// (noCreator for those without a "created by" line: the main
	// goroutine, and the one that took the signal).
	byCreator map[string]int
}

// parseGoroutineDump counts the goroutines of a traceback: each begins
// with "goroutine N [state...]:" (since Go 1.21 possibly with gp=, m= and
// mp= between), and all but the main one end with "created by F".
func parseGoroutineDump(data []byte) goroutineDump {
	d := goroutineDump{byCreator: map[string]int{}}
	inG := false
	creator := ""
	flush := func() {
		if inG {
			if creator == "" {
				creator = noCreator
			}
			d.byCreator[creator]++
		}
		inG, creator = false, ""
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if isGoroutineHeader(line) {
			flush()
			d.total++
			inG = true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "created by "); ok && inG {
			rest, _, _ = strings.Cut(rest, " in goroutine ")
			creator = strings.TrimSpace(rest)
		}
	}
	flush()
	return d
}

// noCreator stands for "no created by line" in goroutineDump.byCreator.
const noCreator = "(none)"

// isGoroutineHeader matches "goroutine 12 [IO wait, 3 minutes]:" and
// "goroutine 21 gp=0x... m=0 mp=0x... [syscall]:".
func isGoroutineHeader(line string) bool {
	rest, ok := strings.CutPrefix(line, "goroutine ")
	if !ok || !strings.HasSuffix(line, "]:") {
		return false
	}
	id, _, ok := strings.Cut(rest, " ")
	if !ok || id == "" {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return strings.Contains(rest, "[")
}

// topCreators lists the n commonest creators as "F 123", commonest first,
// leaving out the runtime's own goroutines and those without a creator.
func (d goroutineDump) topCreators(n int) []string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range d.byCreator {
		if k != noCreator && !strings.HasPrefix(k, "runtime.") {
			all = append(all, kv{k, v})
		}
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	var out []string
	for i, e := range all {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s %d", e.k, e.v))
	}
	return out
}

// parseGoroutineProfile reads the total from net/http/pprof's
// /debug/pprof/goroutine?debug=1, whose first line is
// "goroutine profile: total N".
func parseGoroutineProfile(data []byte) (int, error) {
	line, _, _ := strings.Cut(string(data), "\n")
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("not a goroutine profile: %q", firstN(line, 80))
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a goroutine profile: %q", firstN(line, 80))
	}
	return n, nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// debugAddrEnv is the environment variable that asks a mitmgo built with
// support for it to serve net/http/pprof on the given loopback address. The
// harness sets it only for a binary that mentions it (see binaryMentions);
// today's mitmgo does not, and the goroutine column then says n/a.
const debugAddrEnv = "MITMGO_DEBUG_ADDR"

// goroutineCount asks a pprof endpoint for the number of goroutines.
func goroutineCount(client *http.Client, addr string) (int, error) {
	resp, err := client.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", addr, resp.Status)
	}
	// The first line is all that is needed; the rest may be large.
	line, err := bufio.NewReaderSize(io.LimitReader(resp.Body, 4096), 4096).ReadString('\n')
	if err != nil && line == "" {
		return 0, err
	}
	return parseGoroutineProfile([]byte(line))
}

// binaryMentions reports whether the file at path contains s: whether a
// binary knows an environment variable.
func binaryMentions(path, s string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	keep := len(s) - 1
	var carry []byte
	for {
		n, err := f.Read(buf)
		chunk := append(carry, buf[:n]...)
		if bytes.Contains(chunk, []byte(s)) {
			return true
		}
		if err != nil {
			return false
		}
		carry = append([]byte(nil), chunk[max(0, len(chunk)-keep):]...)
	}
}

// memSample is the memory of a proxy's process tree at one moment.
type memSample struct {
	// at is the time since the phase began (soak start, or the close).
	at time.Duration
	// rss is the sum of VmRSS; pss and private come from smaps_rollup
	// (-1 where it cannot be read); all in bytes.
	rss, pss, private int64
	threads           int64
	// goroutines is -1 when the proxy does not tell.
	goroutines int
	// gc is the proxy's last GC trace line, when hasGC.
	gc    gcTrace
	hasGC bool
	err   error
}

// memProbe reads the memory of one proxy.
type memProbe struct {
	pid int
	// gc watches the proxy's GC trace (a Go proxy the harness started
	// with GODEBUG=gctrace=1); nil otherwise.
	gc *gcWatcher
	// debugAddr serves /debug/pprof/goroutine; "" when there is none.
	debugAddr string
	client    *http.Client
}

// sample reads /proc for pid and its descendants, and asks the debug
// endpoint for goroutines.
func (p *memProbe) sample() memSample {
	s := memSample{pss: 0, private: 0, goroutines: -1}
	smapsOK := true
	for i, pid := range benchkit.ProcTree(p.pid) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			if i == 0 {
				s.err = err
				return s
			}
			continue // a child that just ended
		}
		st, err := parseStatus(data)
		if err != nil {
			if i == 0 {
				s.err = err
				return s
			}
			continue
		}
		s.rss += st.vmRSS
		s.threads += st.threads
		if smapsOK {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
			if err == nil {
				var sr smapsRollup
				if sr, err = parseSmapsRollup(data); err == nil {
					s.pss += sr.pss
					s.private += sr.private()
				}
			}
			if err != nil {
				smapsOK = false
			}
		}
	}
	if !smapsOK {
		s.pss, s.private = -1, -1
	}
	if p.gc != nil {
		s.gc, s.hasGC = p.gc.lastGC()
	}
	if p.debugAddr != "" {
		if p.client == nil {
			p.client = &http.Client{Timeout: 5 * time.Second}
		}
		if n, err := goroutineCount(p.client, p.debugAddr); err == nil {
			s.goroutines = n
		}
	}
	return s
}
