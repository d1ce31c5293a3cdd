package readfile

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// smallFlows encodes n small HTTP flows (a GET with a few headers and a
// short HTML response, about 1.5 kB each) as a version 21 flow file.
func smallFlows(b *testing.B, n int) []byte {
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
