package script

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTimes returns the user+system CPU time of process pid (Linux /proc).
func cpuTimes(pid int) (time.Duration, bool) {
	u, s, ok := cpuSplit(pid)
	return u + s, ok
}

// cpuSplit returns the user and the system CPU time of process pid.
func cpuSplit(pid int) (user, sys time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	// Fields after the command name (which is in parentheses).
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// Clock ticks are 100 Hz on Linux.
	return time.Duration(ut) * 10 * time.Millisecond, time.Duration(st) * 10 * time.Millisecond, true
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation of the Python child (the
// script host's cost of a hook call: on a busy machine it says more than
// the wall time) and of this process (go-cpu-µs/op: the Go side, which in
// a ping-pong loop includes the scheduler's spinning while it waits), and
// the Go side's allocations.
func reportCPU(b *testing.B, e *env, run func()) {
	b.ReportAllocs()
	pid := e.a.liveHost().cmd.Process.Pid
	pu0, ps0, ok := cpuSplit(pid)
	go0 := selfCPU()
	b.ResetTimer()
	run()
	b.StopTimer()
	if pu1, ps1, ok2 := cpuSplit(pid); ok && ok2 {
		b.ReportMetric(float64((pu1+ps1-pu0-ps0).Microseconds())/float64(b.N), "py-cpu-µs/op")
		// The kernel's part (pipe reads, writes, wake-ups): what batching
		// and fewer system calls save.
		b.ReportMetric(float64((ps1-ps0).Microseconds())/float64(b.N), "py-sys-µs/op")
	}
	if go1 := selfCPU(); go0 > 0 {
		b.ReportMetric(float64((go1-go0).Microseconds())/float64(b.N), "go-cpu-µs/op")
	}
}

// BenchmarkHookRoundTrip measures one response hook through the Python
// child with the seed's add_header.py: build the message, run the handler,
// apply the change.
func BenchmarkHookRoundTrip(b *testing.B) {
	e := newEnv(b, Config{}, nil, "seed/add_header.py")
	f := newFlow(b, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
	e.m.Response(f)
	reportCPU(b, e, func() {
		for i := 0; i < b.N; i++ {
			f.Response.Headers.Del("newheader")
			e.m.Response(f)
		}
	})
}

// BenchmarkHookNotDefined is the cost of a hook no script defines: the
// request hook with add_header.py (which defines only response).
func BenchmarkHookNotDefined(b *testing.B) {
	e := newEnv(b, Config{}, nil, "seed/add_header.py")
	f := newFlow(b, "GET", "http://example.com/", 200, "hello")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.m.Request(f)
	}
}

// BenchmarkBodyTransfer is the cost of a 1 MiB response body: a handler
// that does not read it (the body stays in Go), one that reads it (fetched on
// first use), and one that reads it when bodies are sent with the call.
func BenchmarkBodyTransfer(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "body.py")
	if err := os.WriteFile(path, []byte(`
def response(flow):
    if flow.request.path == "/read":
        flow.response.headers["x-len"] = str(len(flow.response.raw_content))
    else:
        flow.response.headers["x-seen"] = "1"
`), 0o644); err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name  string
		limit int64
		path  string
	}{
		{"untouched", 0, "/skip"},
		{"read-on-demand", 0, "/read"},
		{"untouched-inline", 4 << 20, "/skip"},
		{"read-inline", 4 << 20, "/read"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, Config{BodyInlineLimit: tc.limit}, nil, path)
			f := newFlow(b, "GET", "http://example.com"+tc.path, 200, body)
			b.SetBytes(int64(len(body)))
			reportCPU(b, e, func() {
				for i := 0; i < b.N; i++ {
					e.m.Response(f)
				}
			})
		})
	}
}
