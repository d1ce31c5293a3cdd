package main

// End-to-end tests of the console under tmux: the real mitmproxy binary in a
// detached tmux session of a fixed size, real traffic from a Go client
// through it to an origin on 127.0.0.1, keys sent with send-keys and the
// screen read with capture-pane. They use mitmproxy's default key bindings.
//
// tmux is needed: without it the tests skip, except under CI=true, where
// they fail.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// waitFor bounds every wait for the screen or the origin.
const waitFor = 15 * time.Second

func needTmux(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; the console's end-to-end tests need it (CI=true: failing instead of skipping)")
		}
		t.Skip("tmux is not installed: skipping the console's end-to-end tests (apt-get install tmux)")
	}
	return p
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// consoleBinary builds cmd/mitmproxy once per test process.
func consoleBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testutil.BinDir("mitmgo-console-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mitmproxy")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/mitmproxy: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// tmuxConsole is one console running in its own tmux server.
type tmuxConsole struct {
	t      *testing.T
	tmux   string
	socket string
	addr   string // the proxy's listen address
}

var sessionSeq struct {
	sync.Mutex
	n int
}

// startConsole starts the console in a detached 160x45 tmux session on a
// tmux server of its own, with HOME (and so ~/.mitmproxy) in a temporary
// directory, and env added to its environment.
func startConsole(t *testing.T, env []string, args ...string) *tmuxConsole {
	t.Helper()
	tm := needTmux(t)
	bin := consoleBinary(t)
	sessionSeq.Lock()
	sessionSeq.n++
	n := sessionSeq.n
	sessionSeq.Unlock()
	home := t.TempDir()
	conf := filepath.Join(home, "tmux.conf")
	// remain-on-exit keeps the pane (and what the program printed) after
	// it ends, for the failure messages.
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(testutil.UnusedAddr(t))
	// A tmux server of its own, its socket in the test's directory.
	c := &tmuxConsole{t: t, tmux: tm, socket: filepath.Join(home, fmt.Sprintf("tmux-%d.sock", n)), addr: "127.0.0.1:" + port}
	argv := []string{"-S", c.socket, "-f", conf, "new-session", "-d", "-s", "c", "-x", "160", "-y", "45",
		"env", "HOME=" + home, "LANG=C.UTF-8"}
	argv = append(argv, env...)
	argv = append(argv, bin, "--listen-host", "127.0.0.1", "-p", port, "--set", "confdir="+filepath.Join(home, ".mitmproxy"))
	argv = append(argv, args...)
	if out, err := exec.Command(tm, argv...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screen at the end:\n%s", c.screen())
		}
		_ = exec.Command(tm, "-S", c.socket, "kill-server").Run()
	})
	testutil.Eventually(t, waitFor, func() bool {
		conn, err := net.DialTimeout("tcp", c.addr, time.Second)
		if err == nil {
			conn.Close()
			return true
		}
		return false
	}, "the console's proxy does not listen on %s; screen:\n%s", c.addr, c.screenFn())
	return c
}

func (c *tmuxConsole) screenFn() fmt.Stringer { return stringerFunc(c.screen) }

type stringerFunc func() string

func (f stringerFunc) String() string { return f() }

// screen is the pane's text.
func (c *tmuxConsole) screen() string {
	out, err := exec.Command(c.tmux, "-S", c.socket, "capture-pane", "-p", "-t", "c").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane: %v: %s)", err, out)
	}
	return string(out)
}

// keys sends tmux key names ("Enter", "Escape", "C-u", "q").
func (c *tmuxConsole) keys(keys ...string) {
	c.t.Helper()
	args := append([]string{"-S", c.socket, "send-keys", "-t", "c"}, keys...)
	if out, err := exec.Command(c.tmux, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("tmux send-keys %q: %v\n%s", keys, err, out)
	}
}

// text types text literally.
func (c *tmuxConsole) text(s string) {
	c.t.Helper()
	if out, err := exec.Command(c.tmux, "-S", c.socket, "send-keys", "-t", "c", "-l", s).CombinedOutput(); err != nil {
		c.t.Fatalf("tmux send-keys -l %q: %v\n%s", s, err, out)
	}
}

// waitScreen waits until the screen satisfies cond. When it does not and
// the screen shows that a command is missing, the sub-test is skipped
// naming the feature.
func (c *tmuxConsole) waitScreen(feature, what string, cond func(screen string) bool) string {
	c.t.Helper()
	var s string
	if testutil.Poll(waitFor, func() bool { s = c.screen(); return cond(s) }) {
		return s
	}
	if strings.Contains(s, "Unknown command") || strings.Contains(s, "unknown command") {
		c.t.Skipf("feature missing in the console: %s (the screen shows an unknown command):\n%s", feature, s)
	}
	c.t.Fatalf("%s: after %s the screen has no %s:\n%s", feature, waitFor, what, s)
	return ""
}

func (c *tmuxConsole) waitText(feature, text string) string {
	c.t.Helper()
	return c.waitScreen(feature, fmt.Sprintf("%q", text), func(s string) bool { return strings.Contains(s, text) })
}

func (c *tmuxConsole) waitGone(feature, text string) string {
	c.t.Helper()
	return c.waitScreen(feature, fmt.Sprintf("absence of %q", text), func(s string) bool { return !strings.Contains(s, text) })
}

// chosen is the chooser's selected choice ("> choice"), or "".
func chosen(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		for i := 0; i+1 < len(l); i++ {
			// Not the flow list's focus marker ">>".
			if l[i] == '>' && l[i+1] == ' ' && (i == 0 || l[i-1] != '>') {
				return strings.TrimSpace(l[i+2:])
			}
		}
	}
	return ""
}

// origin records what it receives.
type origin struct {
	mu    sync.Mutex
	reqs  []string // "METHOD path body"
	grids []string // "METHOD path X-Grid" of requests with an X-Grid header
	srv   string
}

func (o *origin) handler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	o.reqs = append(o.reqs, r.Method+" "+r.URL.Path+" "+string(body))
	if v := r.Header.Get("X-Grid"); v != "" {
		o.grids = append(o.grids, r.Method+" "+r.URL.Path+" "+v)
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "hello from the origin: %s\n", r.URL.Path)
}

func (o *origin) count(prefix string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (o *origin) all() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.reqs...)
}

func proxiedClient(addr string) *http.Client {
	u := &url.URL{Scheme: "http", Host: addr}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s through the console: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

const oneshotScript = `from mitmproxy import ctx


def response(flow):
    flow.response.headers["x-oneshot"] = "was-here"
    ctx.log.info("oneshot ran on " + flow.request.path)
`

// TestTmuxConsole drives one console through what a user does: flows
// appear, one opens, the view filter, intercept then edit in $EDITOR then
// resume, replay, a one-shot script with |, the event log, saving; then a
// fresh console loads the saved flows.
func TestTmuxConsole(t *testing.T) {
	o := &origin{}
	o.srv = testutil.HTTPOrigin(t, http.HandlerFunc(o.handler)).URL
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nexec sed -i 's/original/edited/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "oneshot.py")
	if err := os.WriteFile(script, []byte(oneshotScript), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "saved.flows")

	c := startConsole(t, []string{"EDITOR=" + editor, "VISUAL=" + editor, "PAGER=cat"})
	client := proxiedClient(c.addr)

	t.Run("flows appear", func(t *testing.T) {
		c.t = t
		get(t, client, o.srv+"/hello")
		c.waitText("flow list", "/hello")
	})

	t.Run("open a flow", func(t *testing.T) {
		c.t = t
		c.keys("Enter")
		c.waitScreen("flow view", "the request's headers", func(s string) bool {
			return strings.Contains(s, "Request") && strings.Contains(strings.ToLower(s), "user-agent")
		})
		c.keys("q")
		c.waitScreen("back to the flow list", "the flow list", func(s string) bool {
			return strings.Contains(s, "/hello") && !strings.Contains(strings.ToLower(s), "user-agent")
		})
	})

	t.Run("one-shot script with |", func(t *testing.T) {
		c.t = t
		c.keys("|")
		c.waitText("| (script.run prompt)", ":script.run @focus")
		c.text(script)
		c.keys("Enter")
		c.waitGone("| (script.run prompt closes)", ":script.run")
		// The change shows in the flow: its response has the header.
		c.keys("Enter")
		c.waitText("flow view", "Request")
		c.keys("Tab")
		c.waitText("| (the script's change in the response)", "was-here")
		c.keys("q")
		c.waitGone("back to the flow list", "was-here")
	})

	t.Run("event log shows the script's ctx.log", func(t *testing.T) {
		c.t = t
		c.keys("E")
		c.waitText("event log (E)", "oneshot ran on /hello")
		c.keys("q")
		c.waitGone("back from the event log", "oneshot ran on")
	})

	t.Run("replay", func(t *testing.T) {
		c.t = t
		// mitmproxy 12 replays the flow itself (no copy in the list).
		c.keys("g", "r")
		testutil.Eventually(t, waitFor, func() bool { return o.count("GET /hello") >= 2 },
			"the origin saw %d GET /hello after r (replay); screen:\n%s", o.count("GET /hello"), c.screenFn())
	})

	t.Run("view filter", func(t *testing.T) {
		c.t = t
		get(t, client, o.srv+"/other")
		c.waitText("flow list", "/other")
		c.keys("f")
		c.waitText("f (view filter prompt)", ":set view_filter")
		c.text("~u /other")
		c.keys("Enter")
		c.waitGone("view filter", "/hello")
		if s := c.screen(); !strings.Contains(s, "/other") {
			t.Fatalf("the filter hid /other too:\n%s", s)
		}
		// Back to every flow: `set view_filter` without a value.
		c.keys(":")
		c.waitText(": (command prompt)", "\n:")
		c.text("set view_filter")
		c.keys("Enter")
		c.waitText("view filter cleared", "/hello")
	})

	t.Run("intercept, edit, resume", func(t *testing.T) {
		c.t = t
		c.keys("i")
		c.waitText("i (intercept prompt)", ":set intercept")
		// Requests only (~q): with ~u alone the response would be
		// intercepted too, as in mitmproxy.
		c.text("~q ~u /intercept")
		c.keys("Enter")
		c.waitGone("i (intercept prompt closes)", ":set intercept")
		done := make(chan error, 1)
		go func() {
			resp, err := client.Post(o.srv+"/intercept", "text/plain", strings.NewReader("original body"))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- err
		}()
		// The flow's row, not the status bar's "/intercept" (the
		// intercept filter), which shows before the flow arrives: G
		// pressed before it would focus the flow before it.
		c.waitScreen("intercept", "the intercepted flow's row", func(s string) bool {
			for _, l := range strings.Split(s, "\n") {
				if strings.Contains(l, "POST") && strings.Contains(l, "/intercept") {
					return true
				}
			}
			return false
		})
		if n := o.count("POST /intercept"); n != 0 {
			t.Fatalf("the origin saw the intercepted request before it was resumed")
		}
		// The newest flow, then e: the editor chooser; request-body runs
		// $EDITOR on the body.
		c.keys("G")
		c.waitScreen("G (focus on the newest flow)", "the focus on /intercept", func(s string) bool {
			return strings.HasPrefix(strings.TrimSpace(lineWith(s, "/intercept")), ">>")
		})
		c.keys("e")
		c.waitText("e (edit chooser)", "request-body")
		picked := false
		for range 16 {
			sel := chosen(c.screen())
			if sel == "request-body" {
				picked = true
				break
			}
			c.keys("r") // the chooser jumps to the next choice starting with r
			testutil.Poll(5*time.Second, func() bool { return chosen(c.screen()) != sel })
		}
		if picked {
			c.keys("Enter")
		} else {
			// The chooser is drawn otherwise: run what it would.
			c.keys("Escape")
			c.waitGone("e (chooser closes)", "request-body")
			c.keys(":")
			c.waitText(": (command prompt)", "\n:")
			c.text("console.edit.focus request-body")
			c.keys("Enter")
		}
		c.waitGone("edit (back from $EDITOR)", "request-body")
		// The edit shows in the flow before it is resumed. Keys sent
		// while the editor runs are lost: Enter until the flow opens.
		for range 5 {
			c.keys("Enter")
			if testutil.Poll(5*time.Second, func() bool { return strings.Contains(c.screen(), "Flow Details") }) {
				break
			}
		}
		c.waitText("edit in $EDITOR (the edited body in the flow view)", "edited body")
		c.keys("q")
		c.waitGone("back to the flow list", "edited body")
		// The request headers in the grid editor: a adds a row (its
		// name cell being edited), tab goes to its value, Enter edits
		// it; q applies the grid to the flow.
		c.keys(":")
		c.waitText(": (command prompt)", "\n:")
		c.text("console.edit.focus request-headers")
		c.keys("Enter")
		c.waitText("e request-headers (the grid editor)", "Value")
		c.keys("a")
		c.text("X-Grid")
		c.waitText("a (a new row in the grid)", "X-Grid")
		c.keys("Tab")
		c.keys("Enter")
		c.text("from-grid")
		c.waitText("the value typed in the grid", "from-grid")
		c.keys("Enter")
		c.keys("q")
		c.waitGone("q (back from the grid editor)", "from-grid")
		c.keys("a")
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the intercepted request failed after a (resume): %v", err)
			}
		case <-time.After(waitFor):
			t.Fatalf("the intercepted request was not resumed by a (the origin saw %q); screen:\n%s", o.all(), c.screen())
		}
		if o.count("POST /intercept edited body") != 1 {
			t.Errorf("the origin did not see the edited body: %q", o.all())
		}
		o.mu.Lock()
		grids := append([]string(nil), o.grids...)
		o.mu.Unlock()
		if want := []string{"POST /intercept from-grid"}; !slices.Equal(grids, want) {
			t.Errorf("the origin saw X-Grid headers %q, want %q (added in the grid editor)", grids, want)
		}
	})

	t.Run("save", func(t *testing.T) {
		c.t = t
		c.keys("w")
		c.waitText("w (save prompt)", ":save.file @shown")
		c.text(saved)
		c.keys("Enter")
		testutil.Eventually(t, waitFor, func() bool {
			st, err := os.Stat(saved)
			return err == nil && st.Size() > 0
		}, "w did not write %s; screen:\n%s", saved, c.screenFn())
	})

	t.Run("quit", func(t *testing.T) {
		c.t = t
		c.keys("Q")
		c.waitScreen("Q (exit)", "the pane's end", func(s string) bool {
			out, _ := exec.Command(c.tmux, "-S", c.socket, "display-message", "-p", "-t", "c", "#{pane_dead}").Output()
			return bytes.Equal(bytes.TrimSpace(out), []byte("1"))
		})
	})

	t.Run("load in a fresh console", func(t *testing.T) {
		if _, err := os.Stat(saved); err != nil {
			t.Skip("no saved flows")
		}
		c2 := startConsole(t, nil)
		c2.keys("L")
		c2.waitText("L (load prompt)", ":view.flows.load")
		c2.text(saved)
		c2.keys("Enter")
		c2.waitText("L (loaded flows)", "/hello")
		c2.waitText("L (loaded flows)", "/intercept")
	})
}
