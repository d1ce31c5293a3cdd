package script

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// lockEditor is the view's part in script.run: commands (a resume from a
// UI) change flows under its lock, and script.run reads them under it.
type lockEditor struct{ mu sync.Mutex }

func (l *lockEditor) EditFlows(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
}

// TestScriptRunFlowResumed: a flow resumed while script.run's hook runs on
// it goes on in the proxy, which writes it: script.run reads and changes it
// no more (run with -race) and says that its other events were skipped.
func TestScriptRunFlowResumed(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	ed := &lockEditor{}
	if err := e.m.Add(ed); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gate := filepath.Join(dir, "go-on")
	script := filepath.Join(dir, "held.py")
	src := "import logging, os, time\n\n" +
		"def request(flow):\n    logging.warning('in request')\n" +
		"    while not os.path.exists(" + pyQuote(gate) + "):\n        time.sleep(0.01)\n\n" +
		"def response(flow):\n    flow.response.headers['x-script'] = '1'\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFlow(t, "GET", "http://example.com/one", 200, "ok")
	interceptWaiting(t, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.m.Commands().Call("script.run", []flow.Any{f}, script)
	}()
	e.log.wait(t, "in request", 10*time.Second)
	ed.EditFlows(func() { f.Resume() })
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The proxy goes on with the flow, writing it, until script.run ends.
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			f.Response.Headers.Set("x-proxy", "w")
		}
	}
	e.log.wait(t, "was resumed while", 5*time.Second)
	if got := f.Response.Headers.Get("x-script"); got != "" {
		t.Errorf("the script's response hook changed a flow the proxy owns: x-script %q", got)
	}
}

// pyQuote is s as a Python string literal.
func pyQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
