package console

import (
	"testing"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// interceptedFlow is a live flow, without a response, that the view has
// seen intercepted at its request hook, as the proxy leaves one.
func interceptedFlow(t testing.TB, m *mitmgo.Master, ts float64) *flow.HTTPFlow {
	t.Helper()
	f := httpFlow(t, "GET", "http://example.com/live", 0, "", ts)
	f.SetLive(true)
	m.View.RequestHeaders(f)
	f.Intercept()
	m.View.Request(f)
	return f
}

// TestViewEventAfterResume: a command marks an intercepted flow (its
// Update event says the flow may be read), and before the console's
// subscriber runs another subscriber resumes the flow and the proxy writes
// its response. The console must not read the flow then (the race detector
// sees the read without the view's lock); the row keeps the marker.
func TestViewEventAfterResume(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	for i := range 20 {
		f := interceptedFlow(t, m, t0+float64(i))
		wrote := make(chan struct{})
		proxy := make(chan struct{})
		go func() {
			// The proxy, once the flow is resumed.
			<-proxy
			f.Response = flow.NewResponse(200, []byte("late"), flow.NewHeaders())
			close(wrote)
		}()
		cancel := m.View.Subscribe(func(ev view.Event) {
			if ev.Kind == view.Updated && ev.Flow == f && f.Marked() != "" && f.IsIntercepted() {
				m.View.EditFlows(func() { f.Resume() })
				close(proxy)
			}
		})
		m.View.EditFlows(func() { f.SetMarked(":default:") })
		m.View.Update([]flow.Any{f})
		<-wrote
		cancel()
		if r := c.st.rows.get(f.ID); r == nil || r.marked != ":default:" {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
}

// TestRowsFromHooks: a flow in flight has its row taken in the view's
// event of its own hook (an Update's event only says what commands change);
// a flow the view forgot (view.clear) gets no row back from its later hooks.
func TestRowsFromHooks(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	f := httpFlow(t, "POST", "http://example.com/upload", 0, "", t0)
	f.SetLive(true)
	m.View.RequestHeaders(f)
	if r := c.st.rows.get(f.ID); r == nil || r.method != "POST" || r.path != "/upload" {
		t.Fatalf("row of a flow in flight: %+v", r)
	}
	f.Response = flow.NewResponse(201, nil, flow.NewHeaders())
	m.View.ResponseHeaders(f)
	if r := c.st.rows.get(f.ID); r == nil || r.code != 201 {
		t.Errorf("row after responseheaders: %+v", r)
	}
	if _, err := m.Commands.Call("view.clear"); err != nil {
		t.Fatal(err)
	}
	c.app.Update(refreshMsg{})
	m.View.Response(f)
	if r := c.st.rows.get(f.ID); r != nil {
		t.Errorf("a flow the view forgot has a row again: %+v", r)
	}
}

// TestRowAfterChain: the row of a flow in flight shows what every addon
// before the view changed in the hook (map_remote runs after the scripts),
// as mitmproxy's view, late in the chain, shows it.
func TestRowAfterChain(t *testing.T) {
	c, m := newTestConsole(t, 100, 20, "map_remote=|example.com/old|example.com/new")
	f := httpFlow(t, "GET", "http://example.com/old", 0, "", t0)
	f.Response = nil
	f.SetLive(true)
	m.Addons.RequestHeaders(f)
	m.Addons.Request(f)
	if f.Request.Path != "/new" {
		t.Fatalf("map_remote did not run: %q", f.Request.Path)
	}
	if r := c.st.rows.get(f.ID); r == nil || r.path != "/new" {
		t.Errorf("row %+v, want the path /new", r)
	}
}
