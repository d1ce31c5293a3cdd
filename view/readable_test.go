package view_test

import (
	"slices"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestShownReadableOver: ShownReadable gives the view's flows in order with
// Readable's answer; Over is true once a flow's last hook ran, and not for
// a flow in flight or one the view does not have.
func TestShownReadableOver(t *testing.T) {
	_, v := setup(t)
	done := mk(t, "GET", "http://a.example/1", 1, 1)
	v.Add(done)
	live := mk(t, "GET", "http://a.example/2", 1, 2)
	live.Response = nil
	v.RequestHeaders(live)
	other := mk(t, "GET", "http://a.example/3", 1, 3)

	flows, readable := v.ShownReadable()
	if len(flows) != 2 || flows[0] != flow.Any(done) || flows[1] != flow.Any(live) {
		t.Fatalf("ShownReadable flows: %v", paths(flows))
	}
	if !readable[0] || readable[1] {
		t.Errorf("readable = %v, want [true false]", readable)
	}
	for i, f := range flows {
		if readable[i] != v.Readable(f) {
			t.Errorf("flow %d: ShownReadable %v, Readable %v", i, readable[i], v.Readable(f))
		}
	}
	for _, tc := range []struct {
		name string
		f    flow.Any
		want bool
	}{{"over", done, true}, {"in flight", live, false}, {"unknown", other, false}} {
		if got := v.Over(tc.f); got != tc.want {
			t.Errorf("Over(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	live.Response = flow.NewResponse(200, nil, nil)
	v.Response(live)
	if !v.Over(live) {
		t.Error("Over after the response hook = false")
	}
	v.SetReversed(true)
	if flows, _ := v.ShownReadable(); flows[0] != flow.Any(live) {
		t.Errorf("reversed: %v", paths(flows))
	}
}

// TestEditReadable: EditReadable tells, under the view's lock, which flows
// may be read and changed: those over or intercepted and waiting, and of
// the flows the view does not have, those that are not live.
func TestEditReadable(t *testing.T) {
	_, v := setup(t)
	over := mk(t, "GET", "http://a.example/1", 1, 1)
	v.Add(over)
	running := mk(t, "GET", "http://a.example/2", 1, 2)
	running.SetLive(true)
	v.RequestHeaders(running)
	parked := mk(t, "GET", "http://a.example/3", 1, 3)
	parked.SetLive(true)
	v.RequestHeaders(parked)
	parked.Intercept()
	v.Request(parked)
	unknownOver := mk(t, "GET", "http://a.example/4", 1, 4)
	unknownLive := mk(t, "GET", "http://a.example/5", 1, 5)
	unknownLive.SetLive(true)

	flows := []flow.Any{over, running, parked, unknownOver, unknownLive}
	want := []bool{true, false, true, true, false}
	var got []bool
	v.EditReadable(flows, func(f flow.Any, readable bool) {
		if len(got) < len(flows) && f != flows[len(got)] {
			t.Errorf("flow %d out of order", len(got))
		}
		got = append(got, readable)
	})
	if !slices.Equal(got, want) {
		t.Errorf("readable = %v, want %v (over, running, intercepted, unknown over, unknown live)", got, want)
	}
	// A resumed flow runs again: no longer readable.
	parked.Resume()
	v.EditReadable([]flow.Any{parked}, func(_ flow.Any, readable bool) {
		if readable {
			t.Error("a resumed flow is readable")
		}
	})
}
