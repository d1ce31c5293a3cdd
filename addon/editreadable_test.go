package addon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// readableEditor answers EditReadable with its own rule, as the view does.
type readableEditor struct {
	editor
	calls int
}

func (e *readableEditor) EditReadable(flows []flow.Any, fn func(f flow.Any, readable bool)) {
	e.calls++
	e.EditFlows(func() {
		for _, f := range flows {
			fn(f, f.Base().Marked() == "readable")
		}
	})
}

// TestContextEditReadable: without an editor that knows the flows, a flow
// may be read when it is not live or the proxy waits for it (Quiet), inside
// the FlowEditor's EditFlows when there is one; a ReadableEditor answers
// for itself.
func TestContextEditReadable(t *testing.T) {
	over := flow.NewHTTPFlow(nil, nil)
	over.SetLive(false)
	running := flow.NewHTTPFlow(nil, nil)
	intercepted := flow.NewHTTPFlow(nil, nil) // intercepted, the proxy not yet waiting
	intercepted.Intercept()
	waiting := flow.NewHTTPFlow(nil, nil)
	waiting.Intercept()
	waited := make(chan error, 1)
	go func() { waited <- waiting.WaitForResume(context.Background()) }()
	testutil.Eventually(t, 5*time.Second, waiting.Waiting, "the proxy's stand-in does not wait")
	t.Cleanup(func() {
		waiting.Resume()
		if err := <-waited; err != nil {
			t.Error(err)
		}
	})
	flows := []flow.Any{over, running, intercepted, waiting}
	quiet := []bool{true, false, false, true}

	readable := func(m *Manager, inEdit func() bool) []bool {
		var got []bool
		m.Context().EditReadable(flows, func(f flow.Any, r bool) {
			if inEdit != nil && !inEdit() {
				t.Error("fn ran outside the editor's EditFlows")
			}
			got = append(got, r)
		})
		return got
	}

	m := NewManager()
	if got := readable(m, nil); !slices.Equal(got, quiet) {
		t.Errorf("without an editor: %v, want %v", got, quiet)
	}
	ed := &editor{}
	m = NewManager()
	m.Add(ed)
	if got := readable(m, func() bool { return ed.inEdit }); !slices.Equal(got, quiet) {
		t.Errorf("with a FlowEditor: %v, want %v", got, quiet)
	}
	red := &readableEditor{}
	m = NewManager()
	m.Add(red)
	running.SetMarked("readable")
	if got := readable(m, func() bool { return red.inEdit }); !slices.Equal(got, []bool{false, true, false, false}) || red.calls != 1 {
		t.Errorf("with a ReadableEditor: %v (%d calls), want its own answer", got, red.calls)
	}
}

// TestContextLend: flows lent to a hook's command are readable for
// EditReadable while the lend lasts, with and without an editor, nested
// lends included; other flows keep their answer, and the lend ends with fn.
func TestContextLend(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  any
	}{
		{"no editor", nil},
		{"FlowEditor", &editor{}},
		{"ReadableEditor", &readableEditor{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager()
			if tc.add != nil {
				m.Add(tc.add)
			}
			ctx := m.Context()
			own := flow.NewHTTPFlow(nil, nil)
			other := flow.NewHTTPFlow(nil, nil)
			readable := func() []bool {
				var got []bool
				ctx.EditReadable([]flow.Any{own, other}, func(_ flow.Any, r bool) { got = append(got, r) })
				return got
			}
			if got := readable(); !slices.Equal(got, []bool{false, false}) {
				t.Fatalf("before the lend: %v", got)
			}
			ctx.Lend([]flow.Any{own}, func() {
				if got := readable(); !slices.Equal(got, []bool{true, false}) {
					t.Errorf("in the lend: %v, want [true false]", got)
				}
				ctx.Lend([]flow.Any{own}, func() {})
				if got := readable(); !slices.Equal(got, []bool{true, false}) {
					t.Errorf("after a nested lend ended: %v, want [true false]", got)
				}
			})
			if got := readable(); !slices.Equal(got, []bool{false, false}) {
				t.Errorf("after the lend: %v, want [false false]", got)
			}
		})
	}
}

// TestQuietKilledInFlight: a flow killed while it runs is not live, but the
// proxy still writes it until it ends it (SetLive(false)): it is not Quiet
// until then, and a copy or a flow read from a file is.
func TestQuietKilledInFlight(t *testing.T) {
	f := flow.NewHTTPFlow(nil, nil)
	if Quiet(f) {
		t.Fatal("a running flow is quiet")
	}
	if err := f.Kill(); err != nil {
		t.Fatal(err)
	}
	if f.IsLive() || Quiet(f) {
		t.Errorf("killed in flight: live %v, quiet %v; want not live, not quiet", f.IsLive(), Quiet(f))
	}
	var got []bool
	NewManager().Context().EditReadable([]flow.Any{f}, func(_ flow.Any, r bool) { got = append(got, r) })
	if !slices.Equal(got, []bool{false}) {
		t.Errorf("EditReadable of a flow killed in flight: %v, want [false]", got)
	}
	f.SetLive(false)
	if !Quiet(f) || f.Error == nil {
		t.Errorf("ended by the proxy: quiet %v, error %v", Quiet(f), f.Error)
	}
	if c := f.Copy(); !Quiet(c) {
		t.Error("a copy is not quiet")
	}
	f.SetLive(true)
	if Quiet(f) {
		t.Error("a replayed flow is quiet")
	}
}
