package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// manyFlows fills the view of a test console with n finished flows.
func manyFlows(tb testing.TB, n int) *Console {
	c, m := newTestConsole(tb, 160, 45)
	flows := make([]flow.Any, n)
	for i := range flows {
		flows[i] = httpFlow(tb, "GET", fmt.Sprintf("http://example.com/item/%d", i), 200, `{"ok": true}`, t0+float64(i))
	}
	m.View.Add(flows...)
	m.View.FocusIndex(n / 2)
	c.app.Update(refreshMsg{})
	c.app.View()
	return c
}

// BenchmarkKeyPress100k is a key press handled and the screen redrawn,
// with 100,000 flows in the list: j, k, page down and G in turn.
func BenchmarkKeyPress100k(b *testing.B) {
	c := manyFlows(b, 100_000)
	keys := []string{"j", "k", "page down", "G", "g", "ctrl b"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		press(c, keys[i%len(keys)])
		_ = c.app.View()
	}
}

// BenchmarkFlowArrives100k is a flow added to a view of 100,000 flows (the
// view's event, the row summary) and the screen redrawn, as each flow
// completing does.
func BenchmarkFlowArrives100k(b *testing.B) {
	c := manyFlows(b, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.st.View.Add(httpFlow(b, "GET", "http://example.com/new", 200, "x", t0+1e6+float64(i)))
		c.app.Update(refreshMsg{})
		_ = c.app.View()
	}
}

// TestKeyPress100kIsFast checks the target: a key press redraws
// within 50 ms with 100,000 flows (with a wide margin for slow machines and
// the race detector, it fails only on a regression to O(n) work).
func TestKeyPress100kIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := manyFlows(t, 100_000)
	keys := []string{"j", "k", "page down", "G", "g", "space", "m", "enter", "tab", "q"}
	var worst time.Duration
	for range 3 {
		for _, k := range keys {
			start := time.Now()
			press(c, k)
			_ = c.app.View()
			worst = max(worst, time.Since(start))
		}
	}
	limit := 50 * time.Millisecond
	if raceEnabled {
		limit *= 10
	}
	if worst > limit {
		t.Errorf("slowest key press took %v, want under %v", worst, limit)
	}
	t.Logf("slowest key press with 100,000 flows: %v", worst)
}

// BenchmarkFlowArrivesFollowing is a flow completing (its four hooks'
// events, as the proxy makes them) with the focus following new flows, and
// the screen redrawn: the list scrolls by one row each time, the console's
// work per flow and per frame when the proxy is busy.
func BenchmarkFlowArrivesFollowing(b *testing.B) {
	c, m := newTestConsole(b, 160, 45)
	if err := m.Options.Set("console_focus_follow=true"); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		m.View.Add(httpFlow(b, "GET", fmt.Sprintf("http://example.com/item/%d", i), 200, "x", t0+float64(i)))
	}
	c.app.Update(refreshMsg{})
	c.app.View()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := httpFlow(b, "GET", fmt.Sprintf("http://example.com/new/%d", i), 200, "x", t0+1e6+float64(i))
		resp := f.Response
		f.Response = nil
		// As the chain calls them: the view's events take the rows.
		m.View.RequestHeaders(f)
		m.View.Request(f)
		f.Response = resp
		m.View.ResponseHeaders(f)
		m.View.Response(f)
		c.app.Update(refreshMsg{})
		_ = c.app.View()
	}
}
