package script

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// keptScript reads what other addons change between its hooks, keeps
// per-flow state in the child (a stream callable, WebSocket messages) and
// reports how many flows the child keeps something for.
const keptScript = `
from mitmproxy import command
from mitmproxy._mitmgo import runtime

def upper(data):
    return data.upper()

def request(flow):
    flow.metadata["at_request"] = flow.request.headers.get("x-go", "")

def responseheaders(flow):
    if flow.request.path.startswith("/stream"):
        flow.response.stream = upper

def response(flow):
    flow.response.headers["x-seen"] = flow.request.headers.get("x-go", "") + "|" + flow.request.path

def websocket_message(flow):
    m = flow.websocket.messages[-1]
    m.content = b"%d:%s:%s" % (len(flow.websocket.messages), flow.request.headers.get("x-go", "").encode(), m.content)

class Count:
    @command.command("kept.count")
    def count(self) -> int:
        return runtime.store.kept()

addons = [Count()]
`

func keptEnv(t *testing.T) *env {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "kept.py"), keptScript)
	return newEnv(t, Config{}, nil, filepath.Join(dir, "kept.py"))
}

// wsSender returns a function that adds a client message to ws, runs the
// websocket_message hook and returns the message's content after it.
func wsSender(t *testing.T, e *env, ws *flow.HTTPFlow) func(string) string {
	return func(content string) string {
		t.Helper()
		m := &flow.WebSocketMessage{Type: flow.WebSocketBinary, FromClient: true, Content: []byte(content), Timestamp: 1}
		ws.WebSocket.Messages = append(ws.WebSocket.Messages, m)
		e.m.WebSocketMessage(ws)
		return string(m.Content)
	}
}

// TestScriptSeesChangesBetweenHooks: what a Go addon changes in a flow
// between two of its hooks is what the script reads in the second, for an
// HTTP exchange and between WebSocket messages.
func TestScriptSeesChangesBetweenHooks(t *testing.T) {
	e := keptEnv(t)
	f := newFlow(t, "GET", "http://example.com/a", 0, "")
	e.m.Request(f)
	if v, ok := f.Metadata.Get("at_request"); !ok || anyStr(v) != "" {
		t.Fatalf("at request: %q (recorded: %v), want the header not there yet", anyStr(v), ok)
	}
	// Another addon, between the hooks.
	f.Request.Headers.Set("x-go", "changed")
	f.Request.Path = "/b"
	f.Response = flow.NewResponse(200, []byte("ok"), flow.NewHeaders())
	e.m.Response(f)
	if got := f.Response.Headers.Get("x-seen"); got != "changed|/b" {
		t.Fatalf("the response hook read %q", got)
	}

	ws := newFlow(t, "GET", "http://example.com/ws", 101, "")
	ws.WebSocket = &flow.WebSocketData{}
	e.m.Response(ws)
	send := wsSender(t, e, ws)
	if got := send("a"); got != "1::a" {
		t.Fatalf("first message: %q", got)
	}
	ws.Request.Headers.Set("x-go", "v2")
	if got := send("b"); got != "2:v2:b" {
		t.Fatalf("after a Go addon changed the request: %q", got)
	}
	ws.Request.Headers.Set("x-go", "v3")
	if got := send("c"); got != "3:v3:c" {
		t.Fatalf("after a second change: %q", got)
	}
	e.m.WebSocketEnd(ws)
}

// TestRestartMidFlowResendsAll: a child restarted between two hooks of a
// WebSocket flow has none of its messages; the next call carries them all,
// so the script sees the whole conversation.
func TestRestartMidFlowResendsAll(t *testing.T) {
	e := keptEnv(t)
	ws := newFlow(t, "GET", "http://example.com/ws", 101, "")
	ws.WebSocket = &flow.WebSocketData{}
	send := wsSender(t, e, ws)
	for i := range 3 {
		if got, want := send("m"), fmt.Sprintf("%d::m", i+1); got != want {
			t.Fatalf("message %d: %q, want %q", i, got, want)
		}
	}
	old := e.a.liveHost()
	if err := old.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	e.log.wait(t, "was restarted", 10*time.Second)
	testutil.Eventually(t, 10*time.Second, func() bool {
		h := e.a.liveHost()
		return h != nil && h != old
	}, "no restarted child")
	if got := send("after"); got != "4::after" {
		t.Fatalf("after the restart the script saw %q (want all 4 messages)", got)
	}
	e.m.WebSocketEnd(ws)
}

// TestKeptFlowsDropped: what the child keeps between a flow's hooks (its
// WebSocket messages, stream callables) goes when the flow is over, whether
// or not the script defines the last hook: over 10,000 flows nothing
// accumulates, on either side.
func TestKeptFlowsDropped(t *testing.T) {
	e := keptEnv(t)
	count := func() int {
		t.Helper()
		v, err := e.m.Commands().Call("kept.count")
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil {
			t.Fatalf("kept.count: %v (%T)", v, v)
		}
		return n
	}
	const flows = 10000
	for i := range flows {
		switch i % 3 {
		case 0: // a WebSocket flow (no websocket_end handler)
			f := newFlow(t, "GET", "http://example.com/ws", 101, "")
			f.WebSocket = &flow.WebSocketData{}
			e.m.Response(f)
			f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: flow.WebSocketText, Content: []byte("x"), Timestamp: 1})
			e.m.WebSocketMessage(f)
			e.m.WebSocketEnd(f)
		case 1: // a streamed response (the callable stays until response)
			f := newFlow(t, "GET", "http://example.com/stream", 200, "")
			e.m.Request(f)
			e.m.ResponseHeaders(f)
			if f.Response.StreamFunc == nil {
				t.Fatal("no stream function")
			}
			e.m.Response(f)
		default: // an error ends the flow
			f := newFlow(t, "GET", "http://example.com/err", 0, "")
			e.m.Request(f)
			e.m.Error(f)
		}
		if i == flows/2 {
			if n := count(); n > 1 {
				t.Fatalf("midway the child keeps something for %d flows", n)
			}
		}
	}
	// The child handles messages in order: the forgets were read before
	// the command.
	if n := count(); n != 0 {
		t.Fatalf("after %d flows the child keeps something for %d of them", flows, n)
	}
	if n := e.a.pyFlows.n.Load(); n != 0 {
		t.Fatalf("mitmgo tracks %d flows in the child", n)
	}
}
