package save

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// smallFlow is a GET with a few headers and a short HTML response, about
// 1.5 kB in a flow file.
func smallFlow(b *testing.B, i int) *flow.HTTPFlow {
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000 + i%1000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
		flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req, err := flow.NewRequest("GET", fmt.Sprintf("http://example.com/page/%d?q=%d", i, i), nil,
		flow.NewHeaders("Host", "example.com", "User-Agent", "bench/1.0", "Accept", "*/*"))
	if err != nil {
		b.Fatal(err)
	}
	f.Request = req
	f.Response = flow.NewResponse(200, bytes.Repeat([]byte("<p>hello</p>"), 20), flow.NewHeaders("Content-Type", "text/html", "Server", "bench"))
	return f
}

func benchSave(b *testing.B, version string, parallel bool) {
	out := filepath.Join(b.TempDir(), "out.mitm")
	m := addon.NewManager()
	if err := m.Add(New()); err != nil {
		b.Fatal(err)
	}
	if err := m.Options().Set("save_stream_file="+out, "save_stream_version="+version); err != nil {
		b.Fatal(err)
	}
	flows := make([]*flow.HTTPFlow, 1000)
	for i := range flows {
		flows[i] = smallFlow(b, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				complete(m, flows[i%len(flows)])
				i++
			}
		})
	} else {
		for i := range b.N {
			complete(m, flows[i%len(flows)])
		}
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

// BenchmarkSave measures -w: each completed flow converted to its state,
// encoded and written (one write system call per flow).
func BenchmarkSave(b *testing.B) {
	b.Run("v21", func(b *testing.B) { benchSave(b, "21", false) })
	b.Run("v17", func(b *testing.B) { benchSave(b, "17", false) })
	b.Run("v21-parallel", func(b *testing.B) { benchSave(b, "21", true) })
}

// BenchmarkRewrite measures mitmdump -n -r in -w out: read, dispatch and
// write of 10,000 small flows.
func BenchmarkRewrite(b *testing.B) {
	const n = 10000
	var buf bytes.Buffer
	w := flowfile.NewWriter(&buf, flowfile.Version21)
	for i := range n {
		if err := w.Write(smallFlow(b, i).State()); err != nil {
			b.Fatal(err)
		}
	}
	in := filepath.Join(b.TempDir(), "in.mitm")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "out.mitm")
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m := addon.NewManager()
		rf := readfile.New(m)
		if err := m.Add(rf, New()); err != nil {
			b.Fatal(err)
		}
		if err := m.Options().Set("rfile="+in, "save_stream_file="+out); err != nil {
			b.Fatal(err)
		}
		if err := rf.ReadAll(context.Background()); err != nil {
			b.Fatal(err)
		}
		m.Done()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
