package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

const wait = 10 * time.Second

type fakeTerm struct {
	in   *io.PipeWriter
	out  testutil.SyncBuffer
	errs testutil.SyncBuffer
	sig  chan os.Signal
	done chan int
	port string
}

// start runs mitmproxy in process with a fake terminal: keys are written
// to a pipe, the screen goes to a buffer.
func start(t *testing.T, args ...string) *fakeTerm {
	t.Helper()
	c := &fakeTerm{sig: make(chan os.Signal, 1), done: make(chan int, 1)}
	inR, inW := io.Pipe()
	c.in = inW
	args = append([]string{"--listen-host", "127.0.0.1", "-p", "0", "--set", "confdir=" + t.TempDir()}, args...)
	go func() {
		c.done <- run(args, cli.Env{Stdin: strings.NewReader(""), Stdout: &c.errs, Stderr: &c.errs, Signals: c.sig}, inR, &c.out)
		inR.Close()
	}()
	proxyRe := regexp.MustCompile(`HTTP\(S\) proxy listening at \*?:?([0-9.]*):?(\d+)\.`)
	testutil.Eventually(t, wait, func() bool { return proxyRe.MatchString(c.errs.String()) }, "the start line in %q", c.errs.String())
	c.port = proxyRe.FindStringSubmatch(c.errs.String())[2]
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.out.String(), "Flows") }, "the flow list on screen")
	return c
}

func (c *fakeTerm) keys(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c.in, s); err != nil {
		t.Fatal(err)
	}
}

func (c *fakeTerm) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.done:
		return code
	case <-time.After(wait):
		t.Fatalf("mitmproxy did not exit; screen:\n%s", c.out.String())
	}
	return -1
}

// TestConsoleEndToEnd runs the console on a fake terminal: a flow through
// the proxy shows in the list, Enter opens it, and Q quits with status 0.
func TestConsoleEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		_, _ = io.WriteString(w, `{"hello": "console"}`)
	}))
	c := start(t, "--set", "console_mouse=false")
	proxied := &http.Client{Timeout: wait, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:" + c.port})}}
	resp, err := proxied.Get(origin.URL + "/through-the-console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.out.String(), "/through-the-console") },
		"the flow on screen:\n%s", c.out.String())
	c.keys(t, "\r")
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.out.String(), "Flow Details") },
		"the flow view:\n%s", c.out.String())
	c.keys(t, "\t")
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.out.String(), `"hello"`) },
		"the response body:\n%s", c.out.String())
	c.keys(t, "Q")
	if code := c.exit(t); code != 0 {
		t.Errorf("exit status %d; log:\n%s", code, c.errs.String())
	}
	// The log is not written over the UI: what came after the start went
	// to the event log.
	if strings.Contains(c.errs.String(), "through-the-console") {
		t.Errorf("a flow was written to the terminal:\n%s", c.errs.String())
	}
}

// TestConsoleSignal stops the console with a signal: the UI ends and the
// terminal is given back (alt screen left).
func TestConsoleSignal(t *testing.T) {
	c := start(t)
	c.sig <- os.Interrupt
	if code := c.exit(t); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if !strings.Contains(c.out.String(), "\x1b[?1049l") {
		t.Errorf("the alternate screen was not left: %q", tail(c.out.String(), 200))
	}
}

// TestConsoleQuitAsks: q on the flow list asks, n stays, q then y quits.
func TestConsoleQuitAsks(t *testing.T) {
	c := start(t)
	c.keys(t, "q")
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.out.String(), "Quit (yes, no)") }, "the question")
	c.keys(t, "n")
	time.Sleep(100 * time.Millisecond)
	select {
	case <-c.done:
		t.Fatal("n quit")
	default:
	}
	c.keys(t, "qy")
	if code := c.exit(t); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestStartupError: a port in use is reported on standard error, without
// a UI, with status 1.
func TestStartupError(t *testing.T) {
	c := start(t)
	var out testutil.SyncBuffer
	code := run([]string{"--listen-host", "127.0.0.1", "-p", c.port, "--set", "confdir=" + t.TempDir()},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Signals: make(chan os.Signal)}, strings.NewReader(""), io.Discard)
	if code != 1 || !strings.Contains(out.String(), "address already in use") {
		t.Errorf("status %d, output %q", code, out.String())
	}
	c.keys(t, "Q")
	c.exit(t)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestNeedsTTY: mitmproxy's own command (not a test's fake terminal)
// refuses output that is not a terminal, as mitmproxy does.
func TestNeedsTTY(t *testing.T) {
	var out testutil.SyncBuffer
	code := runTool([]string{"--listen-host", "127.0.0.1", "-p", "0", "--set", "confdir=" + t.TempDir()},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Signals: make(chan os.Signal)},
		strings.NewReader(""), io.Discard, true)
	if code != 1 || !strings.Contains(out.String(), "requires a tty") {
		t.Errorf("status %d, output %q", code, out.String())
	}
}

// TestConsoleSignals: SIGINT is dropped while an external program has the
// terminal (a Ctrl-C in $PAGER is the pager's) and passed on otherwise;
// SIGTERM always is.
func TestConsoleSignals(t *testing.T) {
	in := make(chan os.Signal)
	done := make(chan struct{})
	defer close(done)
	var ext atomic.Bool
	out := consoleSignals(in, ext.Load, done)
	ext.Store(true)
	in <- os.Interrupt
	in <- syscall.SIGTERM // unbuffered: the first was handled before this is taken
	if s := <-out; s != syscall.SIGTERM {
		t.Fatalf("with a program on the terminal: got %v first, want SIGTERM (SIGINT dropped)", s)
	}
	ext.Store(false)
	in <- os.Interrupt
	if s := <-out; s != os.Interrupt {
		t.Fatalf("without one: got %v, want SIGINT", s)
	}
}
