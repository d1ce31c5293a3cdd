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
