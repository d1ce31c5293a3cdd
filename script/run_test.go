package script

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// updateRecorder counts the flows the update hook was told about.
type updateRecorder struct {
	mu  sync.Mutex
	ids []string
}

func (u *updateRecorder) Name() string { return "updaterecorder" }

func (u *updateRecorder) Update(flows []flow.Any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range flows {
		u.ids = append(u.ids, f.Base().ID)
	}
}

func (u *updateRecorder) has(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.ids {
		if x == id {
			return true
		}
	}
	return false
}

// TestScriptRun: script.run loads a script once, runs a saved flow's
// events on it in the seed's order, applies what it changed, tells the
// view, and unloads it (without done, as mitmproxy); the one-shot script does not see live
// traffic afterwards, and the failures are logged with the script's name.
func TestScriptRun(t *testing.T) {
	e := newEnv(t, Config{}, nil) // no -s script: script.run starts the child
	up := &updateRecorder{}
	if err := e.m.Add(up); err != nil {
		t.Fatal(err)
	}
	r := e.m.Commands()
	path := filepath.Join("testdata", "run_oneshot.py")

	done := newFlow(t, "GET", "http://example.com/one", 200, "ok")
	done.SetLive(false)
	noResp := newFlow(t, "GET", "http://example.com/two", 0, "")
	noResp.SetLive(false)
	noResp.Error = flow.NewError("connection refused")

	if _, err := r.Call("script.run", []flow.Any{done, noResp}, path); err != nil {
		t.Fatalf("script.run: %v", err)
	}
	if got := done.Request.Headers.Get("x-oneshot"); got != "req" {
		t.Errorf("request header x-oneshot = %q, want req", got)
	}
	if got := done.Response.Headers.Get("x-oneshot"); got != "resp" {
		t.Errorf("response header x-oneshot = %q, want resp", got)
	}
	if want := "load configure running requestheaders request responseheaders response"; done.Comment() != want {
		t.Errorf("events for a flow with a response: %q, want %q", done.Comment(), want)
	}
	// The same module runs on the second flow: no response, an error.
	if want := "load configure running requestheaders request responseheaders response requestheaders request error"; noResp.Comment() != want {
		t.Errorf("events for a flow with an error: %q, want %q", noResp.Comment(), want)
	}
	if !up.has(done.ID) || !up.has(noResp.ID) {
		t.Errorf("the update hook was not told about both flows: %v", up.ids)
	}
	w := e.log.wait(t, "oneshot saw /one", 5*time.Second)
	if w.Level.String() != "WARN" {
		t.Errorf("logging.warning came as %v", w.Level)
	}
	// Unloaded without done (mitmproxy's script_run never calls it); the
	// unload's reply follows anything done would have logged.
	if strings.Contains(e.log.text(), "oneshot done") {
		t.Errorf("script.run ran the script's done:\n%s", e.log.text())
	}

	// The one-shot script is gone: a live flow's hooks do not reach it.
	live := newFlow(t, "GET", "http://example.com/live", 0, "")
	e.a.Request(live)
	if got := live.Request.Headers.Get("x-oneshot"); got != "" {
		t.Errorf("a live flow went through the one-shot script: x-oneshot = %q", got)
	}

	// A TCP flow: start, one message at a time, end.
	tf := flow.NewTCPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{Host: "127.0.0.1", Port: 2}, "regular"), nil)
	tf.SetLive(false)
	tf.Messages = []*flow.TCPMessage{{FromClient: true, Content: []byte("hello")}, {Content: []byte("world")}}
	if _, err := r.Call("script.run", []flow.Any{tf}, path); err != nil {
		t.Fatal(err)
	}
	if want := "load configure running tcp_start tcp_message1 tcp_message2 tcp_end"; tf.Comment() != want {
		t.Errorf("TCP events: %q, want %q", tf.Comment(), want)
	}
	if string(tf.Messages[0].Content) != "HELLO" || string(tf.Messages[1].Content) != "WORLD" {
		t.Errorf("TCP messages after the run: %q %q", tf.Messages[0].Content, tf.Messages[1].Content)
	}
}

// TestScriptRunFailures: a missing script, one that does not compile and a
// handler that raises are logged with the script's name; the command
// itself does not fail and the flow is left as it was.
func TestScriptRunFailures(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	r := e.m.Commands()
	f := newFlow(t, "GET", "http://example.com/x", 200, "ok")
	f.SetLive(false)
	tests := []struct {
		script string
		want   []string
	}{
		{"run_missing.py", []string{"No such script: " + filepath.Join("testdata", "run_missing.py")}},
		{"run_syntax.py", []string{"run_syntax.py", "SyntaxError"}},
		{"run_raises.py", []string{"Addon error", "run_raises.py", "ValueError: oneshot boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			path := filepath.Join("testdata", tt.script)
			if _, err := r.Call("script.run", []flow.Any{f}, path); err != nil {
				t.Fatalf("script.run returned an error: %v", err)
			}
			found := false
			for _, en := range e.log.all() {
				ok := true
				for _, w := range tt.want {
					ok = ok && strings.Contains(en.Msg, w)
				}
				if ok {
					found = true
					if en.Level.String() != "ERROR" {
						t.Errorf("logged at %v, want ERROR", en.Level)
					}
				}
			}
			if !found {
				t.Errorf("no log entry with %q:\n%s", tt.want, e.log.text())
			}
		})
	}
	if f.Request.Headers.Get("x-oneshot") != "" {
		t.Error("the flow changed")
	}
	// The child still works after the failures.
	if _, err := r.Call("script.run", []flow.Any{f}, filepath.Join("testdata", "run_oneshot.py")); err != nil {
		t.Fatal(err)
	}
	if f.Response.Headers.Get("x-oneshot") != "resp" {
		t.Errorf("a run after the failures did not change the flow")
	}
}

// TestScriptRunSkipsFlowsInProgress: a flow the proxy is still writing
// (live and not intercepted) is left alone with a warning; an intercepted
// one, which waits, is run.
func TestScriptRunSkipsFlowsInProgress(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	r := e.m.Commands()
	path := filepath.Join("testdata", "run_oneshot.py")
	busy := newFlow(t, "GET", "http://example.com/busy", 200, "ok")
	waiting := newFlow(t, "GET", "http://example.com/waiting", 200, "ok")
	interceptWaiting(t, waiting)
	if _, err := r.Call("script.run", []flow.Any{busy, waiting}, path); err != nil {
		t.Fatal(err)
	}
	if busy.Response.Headers.Get("x-oneshot") != "" {
		t.Error("script.run changed a flow in progress")
	}
	if !strings.Contains(e.log.text(), "flow "+busy.ID+" is in progress") {
		t.Errorf("no warning for the flow in progress:\n%s", e.log.text())
	}
	if waiting.Response.Headers.Get("x-oneshot") != "resp" {
		t.Error("script.run did not run on the intercepted flow")
	}
}
