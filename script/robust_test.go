package script

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// stuckScript's request handler misbehaves as the request path says, logs
// "stuck <path>" first, and otherwise counts the flows it saw (a count that
// would start over if the host were restarted).
const stuckScript = `import asyncio, re, time
from mitmproxy import ctx
from mitmproxy.script import concurrent

seen = 0

def spin():
    while True:
        pass

def stubborn():
    while True:
        try:
            spin()
        except BaseException:
            pass

def request(flow):
    global seen
    p = flow.request.path
    if p.startswith("/stuck"):
        ctx.log.info("stuck " + p)
        {"/stuck/loop": spin, "/stuck/sleep": lambda: time.sleep(3600), "/stuck/stubborn": stubborn,
         "/stuck/regex": lambda: re.match(r"(a+)+$", "a" * 64 + "b")}[p]()
        flow.request.headers["x-after-stuck"] = "1"
        return
    seen += 1
    flow.request.headers["x-seen"] = str(seen)

@concurrent
def requestheaders(flow):
    if flow.request.path == "/stuck/thread":
        ctx.log.info("stuck /stuck/thread")
        spin()

async def responseheaders(flow):
    if flow.request.path == "/stuck/await":
        ctx.log.info("stuck /stuck/await")
        await asyncio.sleep(3600)
`

func writeStuck(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stuck.py")
	writeFile(t, path, stuckScript)
	return path
}

// sendFlow runs hook on a flow for path in the background; the returned
// function waits for it (a bounded time) and returns the flow.
func sendFlow(t *testing.T, e *env, path string, hook func(*flow.HTTPFlow)) func() *flow.HTTPFlow {
	t.Helper()
	f := newFlow(t, "GET", "http://example.com"+path, 200, "body")
	done := make(chan struct{})
	go func() {
		defer close(done)
		hook(f)
	}()
	return func() *flow.HTTPFlow {
		t.Helper()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("the hook on %s did not return:\n%s", path, e.log.text())
		}
		return f
	}
}

// sendStuck is sendFlow for a path that gets stuck: it returns once the
// handler is running.
func sendStuck(t *testing.T, e *env, path string, hook func(*flow.HTTPFlow)) func() *flow.HTTPFlow {
	t.Helper()
	wait := sendFlow(t, e, path, hook)
	e.log.wait(t, "stuck "+path, 5*time.Second)
	return wait
}

// TestHookTimeout: with script_hook_timeout, a handler that runs past the
// limit (in a loop, blocked, awaiting, on a @concurrent thread) is
// reported with its script and hook and interrupted; its flow is killed
// while the flows queued behind it go on, in the same child (the script's
// state survives).
func TestHookTimeout(t *testing.T) {
	t.Parallel()
	path := writeStuck(t)
	e := newEnv(t, Config{}, []string{"script_hook_timeout=1"}, path)
	pid := e.a.liveHost().cmd.Process.Pid
	seen := 0
	for _, tc := range []struct {
		path, hook string
		run        func(*flow.HTTPFlow)
	}{
		{"/stuck/loop", "request", e.m.Request},
		{"/stuck/sleep", "request", e.m.Request},
		{"/stuck/thread", "requestheaders", e.m.RequestHeaders},
		{"/stuck/await", "responseheaders", e.m.ResponseHeaders},
	} {
		t.Run(tc.path, func(t *testing.T) {
			start := time.Now()
			wait := sendStuck(t, e, tc.path, tc.run)
			// A flow behind the stuck one goes on once the handler is
			// interrupted.
			ok := sendFlow(t, e, "/ok", e.m.Request)()
			seen++
			if got := ok.Request.Headers.Get("x-seen"); got != fmt.Sprint(seen) {
				t.Fatalf("the next flow: x-seen = %q, want %d (a restarted host starts over)\n%s", got, seen, e.log.text())
			}
			f := wait()
			took := time.Since(start)
			if !f.Killed() || f.Request.Headers.Has("x-after-stuck") {
				t.Fatalf("the stuck flow: killed %v, headers %s", f.Killed(), f.Request.Headers)
			}
			if took > 5*time.Second {
				t.Errorf("the stuck flow was killed after %s", took)
			}
			e.log.wait(t, fmt.Sprintf("in script %s: the %s hook ran for more than 1 s (script_hook_timeout); flow %s (GET http://example.com%s) killed",
				path, tc.hook, f.ID, tc.path), time.Second)
		})
	}
	if e.a.liveHost().cmd.Process.Pid != pid {
		t.Fatalf("the host was restarted:\n%s", e.log.text())
	}
}

// TestHookTimeoutStubborn: a handler that swallows the interruption holds
// up every flow: the child exits (its flows are killed), is restarted, and
// serves again.
func TestHookTimeoutStubborn(t *testing.T) {
	t.Parallel()
	path := writeStuck(t)
	e := newEnv(t, Config{}, []string{"script_hook_timeout=1"}, path)
	f := sendStuck(t, e, "/stuck/stubborn", e.m.Request)()
	if !f.Killed() {
		t.Fatalf("not killed: %v", f.Error)
	}
	e.log.wait(t, "in script "+path+": the request handler does not stop", 10*time.Second)
	e.log.wait(t, "was restarted", 10*time.Second)
	ok := newFlow(t, "GET", "http://example.com/ok", 0, "")
	e.m.Request(ok)
	if got := ok.Request.Headers.Get("x-seen"); got != "1" {
		t.Fatalf("after the restart: x-seen = %q\n%s", got, e.log.text())
	}
}

// TestHookTimeoutFrozen: a handler that holds the GIL keeps the child's
// watchdog from running; mitmgo notices the silence and kills the child.
func TestHookTimeoutFrozen(t *testing.T) {
	t.Parallel()
	path := writeStuck(t)
	e := newEnv(t, Config{}, []string{"script_hook_timeout=1"}, path)
	start := time.Now()
	f := sendStuck(t, e, "/stuck/regex", e.m.Request)()
	if !f.Killed() {
		t.Fatalf("not killed: %v", f.Error)
	}
	if took := time.Since(start); took > 1*time.Second+frozenMargin+5*time.Second {
		t.Errorf("killed after %s", took)
	}
	e.log.wait(t, "has not responded for", time.Second)
	e.log.wait(t, "in script "+path+": the Python script host stopped responding while the request hook was in progress", time.Second)
	e.log.wait(t, "was restarted", 10*time.Second)
}

func TestHookTimeoutOption(t *testing.T) {
	e := newEnv(t, Config{}, nil, "die.py")
	if err := e.m.Options().Set("script_hook_timeout=-1"); err == nil || !strings.Contains(err.Error(), "script_hook_timeout") {
		t.Fatalf("a negative limit: %v", err)
	}
}

// TestShutdownGrace: shutdown ends whatever a hook does. A hook still
// running ShutdownGrace after shutdown began (BeginShutdown, Config.Stopping
// closed, or Done) gets its child stopped and its flow killed (the proxy
// waits for every flow before Done); the child's end is expected then, not
// restarted.
func TestShutdownGrace(t *testing.T) {
	path := writeStuck(t)
	for _, how := range []string{"BeginShutdown", "Stopping", "Done"} {
		t.Run(how, func(t *testing.T) {
			grace := 500 * time.Millisecond
			stopping := make(chan struct{})
			e := newEnv(t, Config{ShutdownGrace: grace, Stopping: stopping}, nil, path)
			wait := sendStuck(t, e, "/stuck/loop", e.m.Request)
			start := time.Now()
			switch how {
			case "BeginShutdown":
				e.a.BeginShutdown()
			case "Stopping":
				close(stopping)
			case "Done":
				// Done alone (in a shutdown nothing announced) ends too.
				e.m.Done()
			}
			f := wait()
			if took := time.Since(start); took < grace || took > grace+3*time.Second {
				t.Errorf("the stuck flow ended after %s (grace %s)", took, grace)
			}
			if !f.Killed() {
				t.Fatalf("not killed: %v", f.Error)
			}
			e.log.wait(t, "stopping the Python script host", time.Second)
			e.log.wait(t, "in script "+path+": the Python script host was stopped because mitmgo is shutting down "+
				"while the request hook was in progress; flow "+f.ID, time.Second)
			e.m.Done()
			if took := time.Since(start); took > grace+3*time.Second {
				t.Errorf("Done returned after %s", took)
			}
			if _, ok := e.log.find("exited unexpectedly"); ok {
				t.Fatalf("the stop was taken for a crash:\n%s", e.log.text())
			}
		})
	}
}

// TestWatchdogExitsOnEOF: the child exits as soon as its input closes,
// even while a handler loops on its main thread (which never reads the
// EOF): closing the pipe is enough, no kill needed.
func TestWatchdogExitsOnEOF(t *testing.T) {
	path := writeStuck(t)
	e := newEnv(t, Config{}, nil, path)
	wait := sendStuck(t, e, "/stuck/loop", e.m.Request)
	h := e.a.liveHost()
	start := time.Now()
	h.stop(time.Minute) // kills only after a minute
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the child exited %s after its input closed", took)
	}
	if ws := h.cmd.ProcessState; ws == nil || !ws.Exited() {
		t.Fatalf("the child did not exit by itself: %v", ws)
	}
	if f := wait(); !f.Killed() {
		t.Fatalf("not killed: %v", f.Error)
	}
}

type nopEvents struct{}

func (nopEvents) hostLog(level slog.Level, msg string, fromScript bool) {}
func (nopEvents) hostMessage(h *host, msg *tnetstring.Dict)             {}
func (nopEvents) hostExited(h *host, err error)                         {}

func pingHost(t *testing.T, h *host) error {
	t.Helper()
	m := newMsg("init")
	m.Set("options", tnetstring.NewDict())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := h.call(ctx, m, nil)
	return err
}
