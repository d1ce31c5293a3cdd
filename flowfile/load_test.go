package flowfile

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// loadFlows reads every flow of data and converts it with flow.FromState,
// as mitmdump -r, mitmweb and the console do, keeping them all.
func loadFlows(tb testing.TB, data []byte) []any {
	tb.Helper()
	r := NewReader(bytes.NewReader(data))
	var flows []any
	for {
		d, err := r.Next()
		if err == io.EOF {
			return flows
		}
		if err != nil {
			tb.Fatal(err)
		}
		f, err := flow.FromState(d)
		if err != nil {
			tb.Fatal(err)
		}
		flows = append(flows, f)
	}
}

// liveHeapPerFlow loads the flows of data and returns the live heap they
// hold, in bytes per flow, measured after a collection with the flows
// still referenced.
func liveHeapPerFlow(tb testing.TB, data []byte, n int) float64 {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	flows := loadFlows(tb, data)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(flows) != n {
		tb.Fatalf("loaded %d flows, want %d", len(flows), n)
	}
	perFlow := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	// The input stays referenced too, or its freeing would be subtracted.
	runtime.KeepAlive(flows)
	runtime.KeepAlive(data)
	return perFlow
}

// BenchmarkLoadSmallFlows measures the -r path: reading 10,000 small
// flows into flow values that stay referenced (as in mitmweb's and the
// console's view). live-B/flow is the heap they keep after a collection.
func BenchmarkLoadSmallFlows(b *testing.B) {
	const n = 10000
	data := smallFlowFile(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		flows := loadFlows(b, data)
		if len(flows) != n {
			b.Fatalf("loaded %d flows", len(flows))
		}
	}
	reportRate(b, n, cpu0)
	b.StopTimer()
	b.ReportMetric(liveHeapPerFlow(b, data, n), "live-B/flow")
}

// TestLoadedFlowHeap checks that a loaded flow keeps only what it holds,
// not the buffer of the whole record it was decoded from: while a flow's
// body pointed into that buffer, the benchmark's small flow kept 3,978
// bytes instead of 2,042 (its 2,001-byte record in a 2,048-byte block).
func TestLoadedFlowHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 10,000 flows")
	}
	const n = 10000
	data := smallFlowFile(n)
	recordSize := float64(len(data)) / n
	per := liveHeapPerFlow(t, data, n)
	t.Logf("%.0f bytes of live heap per loaded flow (record %.0f bytes)", per, recordSize)
	// The flow itself (structs, strings, headers, a 100-byte body) takes
	// about 2.0 KB; keeping the record too adds 2 KB. The bound leaves half
	// of that as margin.
	const bound = 3000
	if per > bound {
		t.Errorf("a loaded flow keeps %.0f bytes of heap, want at most %d: something still shares the %.0f-byte record buffer",
			per, bound, recordSize)
	}
}

// BenchmarkLoadBodies loads 100 flows whose response body has the given
// size: flow.FromState copies a body out of its record at every size,
// which these numbers weigh against keeping it in place.
func BenchmarkLoadBodies(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("body=%dK", size>>10), func(b *testing.B) {
			const n = 100
			var buf bytes.Buffer
			w := NewWriter(&buf, 21)
			for i := range n {
				f := smallFlow(i)
				f.Dict("response").Set("content", bytes.Repeat([]byte("x"), size))
				if err := w.Write(f); err != nil {
					b.Fatal(err)
				}
			}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				loadFlows(b, data)
			}
			b.StopTimer()
			b.ReportMetric(liveHeapPerFlow(b, data, n), "live-B/flow")
		})
	}
}
