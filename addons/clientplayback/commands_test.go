package clientplayback

import (
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// TestCommands queues flows before running (nothing is sent) and stops:
// the queued flows are reverted.
func TestCommands(t *testing.T) {
	m := addon.NewManager()
	c := New(m, nil)
	if err := m.Add(c); err != nil {
		t.Fatal(err)
	}
	defer c.Done()
	req, _ := flow.NewRequest("GET", "http://example.com/", nil, nil)
	f := flow.NewHTTPFlow(nil, nil)
	f.Request = req
	f.Response = flow.NewResponse(200, []byte("recorded"), nil)
	f.SetLive(false)
	live := flow.NewHTTPFlow(nil, nil)
	live.Request = req.Clone()
	if _, err := m.Commands().Call("replay.client", []flow.Any{f, live}); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Commands().Call("replay.client.count"); n != 1 {
		t.Errorf("count %v (a live flow cannot be replayed)", n)
	}
	if f.Response != nil || f.IsReplay != "request" {
		t.Error("a queued flow keeps its response")
	}
	if _, err := m.Commands().Call("replay.client.stop"); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Commands().Call("replay.client.count"); n != 0 {
		t.Errorf("count after stop %v", n)
	}
	if f.Response == nil || string(f.Response.RawContent) != "recorded" || f.IsReplay != "" {
		t.Error("stop did not revert the queued flow")
	}
	if _, err := m.Commands().Execute("replay.client.file /no/such/file"); err == nil {
		t.Error("a missing file was accepted")
	}
}
