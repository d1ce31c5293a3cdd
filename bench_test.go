package mitmgo_test

import (
	"io"
	"testing"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
)

// BenchmarkChainHooks is what mitmdump's built-ins cost per flow with the
// default options (-q): the HTTP hooks of one request and response.
func BenchmarkChainHooks(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  mitmgo.Config
	}{{"mitmdump", mitmgo.Config{Dump: true, Out: io.Discard}}, {"view", mitmgo.Config{View: true, Out: io.Discard}}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := mitmgo.New(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			if err := m.Setup([]string{"confdir=" + b.TempDir(), "flow_detail=0", "termlog_verbosity=error"}); err != nil {
				b.Fatal(err)
			}
			a := m.Addons
			client := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
				f.Request = &flow.Request{
					Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.NewHeaders("Host", "example.com", "User-Agent", "bench", "Accept", "*/*")},
					Method:  "GET", Scheme: "http", Host: "example.com", Port: 80, Path: "/",
				}
				a.RequestHeaders(f)
				a.Request(f)
				f.Response = flow.NewResponse(200, []byte("ok"), flow.NewHeaders("Content-Type", "text/plain", "Content-Length", "2"))
				a.ResponseHeaders(f)
				a.Response(f)
				f.SetLive(false)
				if n++; n%10000 == 0 && m.View != nil {
					m.View.Clear()
				}
			}
		})
	}
}
