package view_test

import (
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// TestUpdateInFlight: an update of a flow the proxy may still write says
// so (Event.InFlight), and Readable agrees; once the flow is over, neither.
func TestUpdateInFlight(t *testing.T) {
	_, v := setup(t)
	var mu sync.Mutex
	var evs []view.Event
	defer v.Subscribe(func(e view.Event) {
		if e.Kind != view.Added && e.Kind != view.Updated {
			return
		}
		mu.Lock()
		evs = append(evs, e)
		mu.Unlock()
	})()
	f := mk(t, "GET", "http://example.com/a", 1, 1)
	f.Response = nil
	v.RequestHeaders(f)
	if v.Readable(f) {
		t.Error("a flow in flight is readable")
	}
	mu.Lock()
	if len(evs) != 1 || evs[0].Kind != view.Added || evs[0].InFlight || !evs[0].Hook {
		t.Fatalf("events after requestheaders: %+v", evs)
	}
	evs = nil
	mu.Unlock()
	v.Update([]flow.Any{f})
	mu.Lock()
	if len(evs) != 1 || evs[0].Kind != view.Updated || !evs[0].InFlight || evs[0].Hook {
		t.Fatalf("events after an update in flight: %+v", evs)
	}
	evs = nil
	mu.Unlock()
	f.Response = flow.NewResponse(200, []byte("x"), nil)
	v.Response(f)
	if !v.Readable(f) {
		t.Error("a flow that is over is not readable")
	}
	v.Update([]flow.Any{f})
	mu.Lock()
	defer mu.Unlock()
	if n := len(evs); n != 2 || !evs[0].Hook || evs[1].Kind != view.Updated || evs[1].InFlight || evs[1].Hook {
		t.Fatalf("events after the response and an update: %+v", evs)
	}
}

// TestKillSettles: a kill asked for while a flow runs gets its error when
// the flow's last hook reaches the view (before anyone may read it), and a
// kill after that gets it at once, as mitmproxy's kill does.
func TestKillSettles(t *testing.T) {
	_, v := setup(t)
	running := mk(t, "GET", "http://example.com/a", 1, 1)
	running.Response = nil
	running.SetLive(true)
	v.RequestHeaders(running)
	v.EditFlows(func() {
		if err := running.Kill(); err != nil {
			t.Fatal(err)
		}
	})
	if running.Error != nil {
		t.Fatalf("a running flow's error was written by the killer: %v", running.Error)
	}
	v.Error(running) // its last hook
	if running.Error == nil || running.Error.Msg != flow.KilledMessage {
		t.Errorf("after the last hook: %+v", running.Error)
	}

	over := mk(t, "GET", "http://example.com/b", 1, 1)
	over.SetLive(true)
	v.RequestHeaders(over)
	v.Response(over) // over, though the proxy has not ended it yet
	if !over.Killable() {
		t.Fatal("a flow sending its response is not killable")
	}
	v.EditFlows(func() { _ = over.Kill() })
	if over.Error == nil || over.Error.Msg != flow.KilledMessage {
		t.Errorf("a kill after the last hook: %+v", over.Error)
	}
}
