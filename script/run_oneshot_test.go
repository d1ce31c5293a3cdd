package script

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestScriptRunStopsItsChild: with no scripts option, script.run starts a
// Python child for the run and stops it when the run ends, and runs at the
// same time each have their own; a child that serves the scripts option
// stays.
func TestScriptRunStopsItsChild(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	path := filepath.Join("testdata", "run_oneshot.py")
	children := func() int {
		e.a.hostMu.Lock()
		defer e.a.hostMu.Unlock()
		return len(e.a.hosts)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := newFlow(t, "GET", "http://example.com/one", 200, "ok")
			f.SetLive(false)
			if _, err := e.m.Commands().Call("script.run", []flow.Any{f}, path); err != nil {
				t.Error(err)
			}
			if got := f.Response.Headers.Get("x-oneshot"); got != "resp" {
				t.Errorf("x-oneshot = %q", got)
			}
		}()
	}
	wg.Wait()
	testutil.Eventually(t, 10*time.Second, func() bool { return children() == 0 },
		"%d Python children left after script.run with no scripts option", children())
	if strings.Contains(e.log.text(), "exited unexpectedly") {
		t.Errorf("the child's end was taken for a crash:\n%s", e.log.text())
	}

	// With a script loaded, the run uses its child, which stays.
	e2 := newEnv(t, Config{}, nil, "run_oneshot.py")
	f := newFlow(t, "GET", "http://example.com/two", 200, "ok")
	f.SetLive(false)
	if _, err := e2.m.Commands().Call("script.run", []flow.Any{f}, path); err != nil {
		t.Fatal(err)
	}
	if e2.a.liveHost() == nil {
		t.Error("script.run stopped the child of the scripts option")
	}
}

// TestScriptRunLeavesMessages: script.run shows a WebSocket flow's messages
// one more at each websocket_message, built from a copy: the flow's own
// message list is never cut, so a reader that holds no lock (a flow file
// writer, a UI) sees it whole throughout (the race detector checks).
func TestScriptRunLeavesMessages(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	script := filepath.Join(t.TempDir(), "ws.py")
	src := "import logging\n\ndef websocket_message(flow):\n" +
		"    logging.warning('ws saw %d', len(flow.websocket.messages))\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	f.SetLive(false)
	f.WebSocket = &flow.WebSocketData{}
	for _, m := range []string{"a", "b", "c"} {
		f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, FromClient: true, Content: []byte(m)})
	}
	stop := make(chan struct{})
	read := make(chan bool)
	go func() {
		whole := true
		for {
			select {
			case <-stop:
				read <- whole
				return
			default:
			}
			if len(f.WebSocket.Messages) != 3 {
				whole = false
			}
		}
	}()
	if _, err := e.m.Commands().Call("script.run", []flow.Any{f}, script); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if !<-read {
		t.Error("a reader saw the flow's messages cut")
	}
	for _, n := range []string{"ws saw 1", "ws saw 2", "ws saw 3"} {
		e.log.wait(t, n, 5*time.Second)
	}
}
