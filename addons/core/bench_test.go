package core_test

import (
	"fmt"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/core"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// BenchmarkEditAll runs a flow command on every flow of a view of 10,000
// flows that are over: flow.set, which checks each flow is readable
// (Context.EditReadable, a lookup in the view per flow), against
// flow.mark.toggle, which acts in flight and checks nothing. The
// difference is the price of the check.
func BenchmarkEditAll(b *testing.B) {
	m := addon.NewManager()
	v := view.New()
	if err := m.Add(core.New(), v); err != nil {
		b.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		b.Fatal(err)
	}
	flows := make([]flow.Any, 10000)
	for i := range flows {
		req, err := flow.NewRequest("GET", fmt.Sprintf("http://example.com/%d", i), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		f := flow.NewHTTPFlow(nil, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
		f.Request, f.Response = req, flow.NewResponse(200, nil, nil)
		f.SetLive(false)
		flows[i] = f
	}
	v.Add(flows...)
	for _, bc := range []struct {
		name string
		args []any
	}{
		{"flow.set", []any{flows, "reason", "Fine"}},
		{"flow.mark.toggle", []any{flows}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Commands().Call(bc.name, bc.args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
