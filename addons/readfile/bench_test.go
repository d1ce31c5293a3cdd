package readfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// smallFlows encodes n small HTTP flows (a GET with a few headers and a
// short HTML response, about 1.5 kB each) as a version 21 flow file.
func smallFlows(b *testing.B, n int) []byte { return smallFlowsT(b, n) }

func smallFlowsT(b testing.TB, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	w := flowfile.NewWriter(&buf, flowfile.Version21)
	for i := range n {
		f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000 + i%1000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
			flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
		req, err := flow.NewRequest("GET", fmt.Sprintf("http://example.com/page/%d?q=%d", i, i), nil,
			flow.NewHeaders("Host", "example.com", "User-Agent", "bench/1.0", "Accept", "*/*"))
		if err != nil {
			b.Fatal(err)
		}
		f.Request = req
		f.Response = flow.NewResponse(200, bytes.Repeat([]byte("<p>hello</p>"), 20), flow.NewHeaders("Content-Type", "text/html", "Server", "bench"))
		if err := w.Write(f.State()); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

// counter is a minimal addon at the end of the chain.
type counter struct{ n int }

func (c *counter) Response(*flow.HTTPFlow) { c.n++ }

// BenchmarkReadFile measures -r: decoding, migration check, conversion to
// flow objects and the full event sequence through a manager.
func BenchmarkReadFile(b *testing.B) {
	const n = 10000
	data := smallFlows(b, n)
	m := addon.NewManager()
	rf := New(m)
	c := &counter{}
	if err := m.Add(rf, c); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := rf.LoadFlows(context.Background(), bytes.NewReader(data))
		if err != nil || got != n {
			b.Fatalf("%d flows, %v", got, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// heapWatch samples the live heap while flows are dispatched.
type heapWatch struct {
	n    int
	peak uint64
}

func (h *heapWatch) Response(*flow.HTTPFlow) {
	h.n++
	if h.n%2000 == 0 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
}

// TestStreamingMemory reads a 40 MB file and checks that the live heap
// stays far below the file's size: flows are streamed, not loaded whole.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("slow, and the race detector skews memory; skipped with -short and -race")
	}
	const n = 20000
	data := smallFlowsT(t, n)
	path := filepath.Join(t.TempDir(), "big.mitm")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	size := len(data)
	data = nil
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	m := addon.NewManager()
	rf := New(m)
	hw := &heapWatch{}
	if err := m.Add(rf, hw); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set("rfile=" + path); err != nil {
		t.Fatal(err)
	}
	if err := rf.ReadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hw.n != n {
		t.Fatalf("%d flows read, want %d", hw.n, n)
	}
	grown := int64(hw.peak) - int64(base.HeapAlloc)
	t.Logf("file %d MB; live heap grew by at most %.1f MB while reading", size>>20, float64(grown)/(1<<20))
	if grown > int64(size)/8 {
		t.Errorf("live heap grew by %d bytes reading a %d byte file: flows are not streamed", grown, size)
	}
}
