package savehar

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// BenchmarkSaveHar measures hardump: a HAR entry per completed small flow,
// written to the temporary file, and the final rename.
func BenchmarkSaveHar(b *testing.B) {
	out := filepath.Join(b.TempDir(), "out.har")
	m := addon.NewManager()
	if err := m.Add(New()); err != nil {
		b.Fatal(err)
	}
	if err := m.Options().Set("hardump=" + out); err != nil {
		b.Fatal(err)
	}
	flows := make([]*flow.HTTPFlow, 1000)
	for i := range flows {
		f := httpFlow(b, "GET", fmt.Sprintf("http://example.com/page/%d?q=%d", i, i))
		f.Response = flow.NewResponse(200, bytes.Repeat([]byte("<p>hello</p>"), 20), flow.NewHeaders("Content-Type", "text/html"))
		flows[i] = f
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m.Response(flows[i%len(flows)])
	}
	m.Done()
	b.StopTimer()
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(st.Size())/1e6/b.Elapsed().Seconds(), "MB/s")
}
