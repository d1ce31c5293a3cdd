package web

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// TestStreamUpdateRacesHookRender: a flow's hook renders its JSON while
// the streaming watcher brings the kept JSON up to date with the body
// that streams: whatever the order, the JSON kept last is the one the
// browsers were sent last (GET /flows and the browser's copy agree, and
// the watcher, which sends only what differs from the kept JSON, does not
// leave the browser behind). The test holds pubMu while both start, so
// that both wait for it. When the hook took pubMu only to send, after
// keeping its render, the watcher (first in the queue) copied that render
// and sent its copy, and the hook then sent the older render.
func TestStreamUpdateRacesHookRender(t *testing.T) {
	s := benchServer(t, 0)
	c := sinkConn()
	defer c.close()
	s.hub.add(c)
	client := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 40000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	for round := range 30 {
		f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address{Host: "127.0.0.1", Port: 80}))
		f.Request, _ = flow.NewRequest("GET", "http://127.0.0.1/events", nil, nil)
		f.Response = flow.NewResponse(200, nil, nil)
		p := &flow.BodyProgress{}
		f.SetStreamProgress(true, p)
		s.view.RequestHeaders(f) // in the view, in flight: its hook renders it
		p.Publish(100, make([]byte, 100))
		c.take()

		var wg sync.WaitGroup
		s.pubMu.Lock()
		wg.Go(func() { s.viewEvent(view.Event{Kind: view.Updated, Flow: f, Hook: true}) })
		wg.Go(func() { s.streamUpdate(f) })
		// Both on their way to pubMu (the hook's render, when it comes
		// first, done).
		for range 200 {
			runtime.Gosched()
		}
		s.pubMu.Unlock()
		wg.Wait()

		s.flowsMu.Lock()
		kept, err := json.Marshal(s.flows[f.ID])
		s.flowsMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		var last []byte
		for _, q := range c.take() {
			if bytes.Contains(q.b, []byte(`"id":"`+f.ID+`"`)) {
				last = q.b
			}
		}
		if !bytes.Contains(last, kept) {
			t.Fatalf("round %d: the JSON kept is not the last one sent:\nkept %s\nsent %s", round, kept, last)
		}
		p.Finish()
		s.view.Remove(f)
	}
}
