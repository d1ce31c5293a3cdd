package cli

import (
	"io"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/proxy"
)

// TestBuiltinsKeepNoFlows: every built-in that receives HTTP flows says
// whether it keeps them (addon.FlowKeeper), and none does in mitmdump's
// default chain, so the proxy recycles the buffers of large bodies. A new
// built-in with flow hooks fails here until it declares what it does.
func TestBuiltinsKeepNoFlows(t *testing.T) {
	m := addon.NewManager()
	m.Options().MustAdd("confdir", addon.String, t.TempDir(), "")
	srv := proxy.New(m)
	chain, err := buildChain(m, srv, Env{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(chain...); err != nil {
		t.Fatal(err)
	}
	for _, a := range chain {
		k, ok := a.(addon.FlowKeeper)
		switch {
		case ok && k.KeepsFlows():
			t.Errorf("%s keeps flows", addon.AddonName(a))
		case !ok && m.KeepsFlows():
			// Not every addon receives flows; name the one that makes
			// the manager answer true.
			t.Logf("%s does not implement addon.FlowKeeper", addon.AddonName(a))
		}
	}
	if m.KeepsFlows() {
		t.Error("the default chain keeps flows: large body buffers are never recycled")
	}
}

// BenchmarkChainHooks is what mitmdump's built-ins cost per flow with the
// default options (-q): the HTTP hooks of one request and response.
func BenchmarkChainHooks(b *testing.B) {
	m := addon.NewManager()
	m.Options().MustAdd("confdir", addon.String, b.TempDir(), "")
	srv := proxy.New(m)
	chain, err := buildChain(m, srv, Env{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Add(chain...); err != nil {
		b.Fatal(err)
	}
	if err := m.Options().Set("flow_detail=0", "termlog_verbosity=error"); err != nil {
		b.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		b.Fatal(err)
	}
	client := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	b.ReportAllocs()
	for b.Loop() {
		f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
		f.Request = &flow.Request{
			Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.NewHeaders("Host", "example.com", "User-Agent", "bench", "Accept", "*/*")},
			Method:  "GET", Scheme: "http", Host: "example.com", Port: 80, Path: "/",
		}
		m.RequestHeaders(f)
		m.Request(f)
		f.Response = flow.NewResponse(200, []byte("ok"), flow.NewHeaders("Content-Type", "text/plain", "Content-Length", "2"))
		m.ResponseHeaders(f)
		m.Response(f)
	}
}
