package script

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/emoji"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// goCommands registers the Go commands commands.py calls, recording the
// flows they get.
type goCommands struct {
	mu    sync.Mutex
	taken []flow.Any
}

func (g *goCommands) register(t *testing.T, r *command.Registry) {
	t.Helper()
	r.MustAdd(command.Command{Name: "test.viago", Params: []command.Param{{Name: "n", Type: command.Int}},
		Returns: command.Int, Run: func(a command.Args) (any, error) {
			// Back into the script whose hook called us.
			v, err := r.Call("myaddon.double", a.Int(0))
			if err != nil {
				return nil, err
			}
			return v.(int) + 1, nil
		}})
	r.MustAdd(command.Command{Name: "test.take", Params: []command.Param{{Name: "flows", Type: command.Flows}},
		Run: func(a command.Args) (any, error) {
			g.mu.Lock()
			g.taken = append(g.taken, a.Flows(0)...)
			g.mu.Unlock()
			return nil, nil
		}})
	r.MustAdd(command.Command{Name: "test.mark", Params: []command.Param{{Name: "flows", Type: command.Flows},
		{Name: "marker", Type: command.Marker}}, Run: func(a command.Args) (any, error) {
		for _, f := range a.Flows(0) {
			f.Base().SetMarked(a.Str(1))
		}
		return nil, nil
	}})
}

func (g *goCommands) got() []flow.Any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]flow.Any(nil), g.taken...)
}

// TestScriptCommandsRegistered: @command.command methods are in the
// registry with mitmproxy's signatures; one with a type commands lack is
// left out with a warning, as mitmproxy does.
func TestScriptCommandsRegistered(t *testing.T) {
	e := newEnv(t, Config{}, nil, "commands.py")
	r := e.m.Commands()
	for name, sig := range map[string]string{
		"myaddon.inc":       "myaddon.inc ",
		"myaddon.addheader": "myaddon.addheader flows",
		"myaddon.sig":       "myaddon.sig f path n b c *rest -> str",
		"myaddon.choices":   "myaddon.choices  -> str[]",
		"myaddon.match":     "myaddon.match flows -> flow[]",
	} {
		c, ok := r.Get(name)
		if !ok {
			t.Fatalf("%s is not registered; have %v", name, r.Names())
		}
		if got := c.Signature(); got != sig {
			t.Errorf("%s: signature %q, want %q", name, got, sig)
		}
	}
	if c, _ := r.Get("myaddon.sig"); c.Help != "Echo the arguments." || c.Params[0].Type != command.Flow ||
		c.Params[1].Type != command.Path || c.Params[4].Type.ChoicesCommand() != "myaddon.choices" || !c.Params[5].Variadic {
		t.Errorf("myaddon.sig: %+v", c)
	}
	if _, ok := r.Get("myaddon.bad"); ok {
		t.Error("a command with an unsupported argument type was registered")
	}
	e.log.wait(t, "Could not load command myaddon.bad", 5*time.Second)

	// Unloading the script removes them.
	if err := e.m.Options().Update(map[string]any{"scripts": []string{}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("myaddon.inc"); ok {
		t.Error("myaddon.inc is still registered after the script was unloaded")
	}
}

// TestScriptCommandsFromGo: Go calls a script's commands with Go values
// and command lines; what they change in flows is applied to the flows.
func TestScriptCommandsFromGo(t *testing.T) {
	e := newEnv(t, Config{BodyInlineLimit: 4}, nil, "commands.py")
	r := e.m.Commands()
	for i := 0; i < 2; i++ {
		if _, err := r.Call("myaddon.inc"); err != nil {
			t.Fatal(err)
		}
	}
	e.log.wait(t, "num = 2", 5*time.Second)

	// A flow the proxy still runs is refused (the command would read it
	// while the proxy writes it); one that is over is given.
	f := newFlow(t, "GET", "http://example.com/p", 0, "")
	if _, err := r.Call("myaddon.addheader", []flow.Any{f}); err == nil || !strings.Contains(err.Error(), "is in progress") {
		t.Errorf("myaddon.addheader on a running flow: %v, want it refused", err)
	}
	if f.Request.Headers.Get("myheader") != "" {
		t.Error("myaddon.addheader changed a running flow")
	}
	f.SetLive(false)
	if _, err := r.Call("myaddon.addheader", []flow.Any{f}); err != nil {
		t.Fatal(err)
	}
	if got := f.Request.Headers.Get("myheader"); got != "value" || f.Marked() != ":star:" {
		t.Errorf("after myaddon.addheader: myheader %q, marked %q", got, f.Marked())
	}

	v, err := r.Call("myaddon.sig", f, "/tmp/x", 3, true, "b", "r1", "r2")
	if err != nil {
		t.Fatal(err)
	}
	if v != "/p /tmp/x 3 True b r1,r2" {
		t.Errorf("myaddon.sig returned %q", v)
	}
	if _, err := r.CallStrings("myaddon.sig", []string{"@x", "p", "1", "true", "c"}); err == nil {
		t.Error("a flow spec resolved without a view")
	}
	if v, err := r.Execute("myaddon.double 21"); err != nil || v != 42 {
		t.Errorf("execute myaddon.double 21: %v, %v", v, err)
	}
	// A Python default value: the argument may be left out.
	if v, err := r.Call("myaddon.double"); err != nil || v != 10 {
		t.Errorf("myaddon.double without its argument: %v, %v", v, err)
	}

	// A body larger than the inline limit is fetched by the command.
	f.Request.RawContent = []byte("0123456789")
	if v, err := r.Call("myaddon.body", f); err != nil || v != 10 {
		t.Errorf("myaddon.body: %v, %v", v, err)
	}
	// Flows back, by id: the same Go flows.
	post := newFlow(t, "POST", "http://example.com/", 0, "")
	post.SetLive(false)
	v, err = r.Call("myaddon.match", []flow.Any{f, post})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.([]flow.Any); len(got) != 1 || got[0] != post {
		t.Errorf("myaddon.match returned %v, want the POST flow", v)
	}
	if _, err := r.Call("myaddon.fail"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("myaddon.fail: %v", err)
	}
	e.log.wait(t, "ValueError: boom", 5*time.Second)
}

// TestScriptCallsCommands: a hook calls Go commands (which may call back
// into the script), commands by command line, flows it copied, and
// commands from a thread of its own outside any hook with a flow kept from
// an earlier hook.
func TestScriptCallsCommands(t *testing.T) {
	e := newEnv(t, Config{}, nil, "commands.py")
	g := &goCommands{}
	g.register(t, e.m.Commands())

	f := newFlow(t, "GET", "http://example.com/reenter", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-reenter"); got != "43" {
		t.Errorf("x-reenter = %q, want 43\n%s", got, e.log.text())
	}
	f = newFlow(t, "GET", "http://example.com/execute", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-exec"); got != "11" {
		t.Errorf("x-exec = %q, want 11", got)
	}
	f = newFlow(t, "GET", "http://example.com/local", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-local"); got != "8" {
		t.Errorf("x-local = %q, want 8", got)
	}
	f = newFlow(t, "GET", "http://example.com/unknown", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-err"); got != "CommandError: Unknown command: no.such.command" {
		t.Errorf("x-err = %q", got)
	}

	f = newFlow(t, "GET", "http://example.com/mark", 0, "")
	e.m.Request(f)
	if f.Marked() != "red" || f.Request.Headers.Get("x-marked") != "red" {
		t.Errorf("flow marked %q by a command from its own hook (the script saw %q), want red",
			f.Marked(), f.Request.Headers.Get("x-marked"))
	}

	f = newFlow(t, "GET", "http://example.com/copy", 0, "")
	e.m.Request(f)
	taken := g.got()
	if len(taken) != 1 {
		t.Fatalf("test.take got %d flows", len(taken))
	}
	c, ok := taken[0].(*flow.HTTPFlow)
	if !ok || c.Request.Path != "/changed" || c.ID == f.ID || f.Request.Path != "/copy" {
		t.Errorf("the copy reached Go as %+v", taken[0])
	}

	kept := newFlow(t, "GET", "http://example.com/keep", 0, "")
	e.m.Request(kept)
	if _, err := e.m.Commands().Call("myaddon.usekept"); err != nil {
		t.Fatal(err)
	}
	e.log.wait(t, "usekept done", 5*time.Second)
	if !testutil.Poll(5*time.Second, func() bool { return len(g.got()) == 2 }) {
		t.Fatalf("test.take got %d flows", len(g.got()))
	}
	if g.got()[1] != kept {
		t.Error("a flow kept from an earlier hook did not reach Go as the same flow")
	}
}

// sharedFlows is mitmproxy's test flow files, shared by the packages that
// read flow files.
const sharedFlows = "../../shared/testdata/mitmproxy-flows"

// TestFlowStateAndIO: get_state/from_state/set_state/copy round-trip, a
// flow written with mitmproxy.io's FlowWriter reads back in Go as the flow
// it was, and FlowReader reads what mitmgo reads (older versions migrated,
// HAR).
func TestFlowStateAndIO(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mitm")
	e := newEnv(t, Config{BodyInlineLimit: 4}, []string{"outfile=" + out}, "io_state.py")
	f := newFlow(t, "POST", "http://example.com/path?q=1", 200, "response body", "Content-Type", "text/plain")
	f.Request.RawContent = []byte("a request body")
	f.SetComment("c")
	f.Metadata.Set("k", "v")
	e.m.Response(f)
	e.log.wait(t, "state ok 21 http /path?q=1", 5*time.Second)

	got, err := flowfile.ReadAll(mustOpen(t, out))
	if err != nil || len(got) != 1 {
		t.Fatalf("reading what FlowWriter wrote: %d flows, %v", len(got), err)
	}
	var buf bytes.Buffer
	w := flowfile.NewWriter(&buf, flow.StateVersion)
	if err := w.Write(f.State()); err != nil {
		t.Fatal(err)
	}
	want, err := flowfile.ReadAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := tnetstring.Marshal(got[0])
	wb, _ := tnetstring.Marshal(want[0])
	if !bytes.Equal(gb, wb) {
		t.Errorf("FlowWriter wrote\n%s\nwant\n%s", gb, wb)
	}

	tf := flow.NewTCPFlow(f.ClientConn, f.ServerConn)
	tf.Messages = append(tf.Messages, &flow.TCPMessage{FromClient: true, Content: []byte("hi"), Timestamp: 1})
	e.m.TCPMessage(tf)
	e.log.wait(t, "tcp state ok 1", 5*time.Second)

	for _, c := range []struct{ file, want string }{
		{out, "http example.com 21"},
		{filepath.Join(sharedFlows, "dumpfile-7.mitm"), "http "},
		{filepath.Join(sharedFlows, "dumpfile-019.mitm"), "http "},
		{filepath.Join(sharedFlows, "firefox.har"), "http "},
	} {
		if _, err := os.Stat(c.file); err != nil {
			t.Logf("skipping %s: %v", c.file, err)
			continue
		}
		v, err := e.m.Commands().Call("test.read", c.file)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		l, _ := v.([]string)
		if len(l) == 0 || !strings.HasPrefix(l[0], c.want) {
			t.Errorf("%s: read %q, want %q first", c.file, l, c.want)
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	fp, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	return fp
}

// TestConfigureOnce: at start a script's configure runs once, with every
// option (its own, set with --set, included), as mitmproxy 8.1.1's does;
// a later change runs it again with that option only.
func TestConfigureOnce(t *testing.T) {
	needPython(t)
	m := addon.NewManager()
	// As the front door does: options set before start reach the addons
	// once, with every option.
	m.DeferConfigure()
	a := NewWithConfig(Config{CacheDir: testCacheDir(t), ReloadInterval: -1})
	rec := &logRecorder{a: a}
	if err := m.Add(rec, a); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set("scripts=testdata/configure_count.py", "cc_opt=set"); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	m.Running()
	t.Cleanup(m.Done)
	e := &env{m: m, a: a, log: rec}
	e.log.wait(t, "configure #1:", 5*time.Second)
	first, _ := e.log.find("configure #1:")
	if !strings.Contains(first.Msg, "cc_opt in updated: True, value set, scripts in updated: True") {
		t.Errorf("first configure: %s", first.Msg)
	}
	if err := e.m.Options().Update(map[string]any{"cc_opt": "later"}); err != nil {
		t.Fatal(err)
	}
	second := e.log.wait(t, "configure #2:", 5*time.Second)
	if !strings.Contains(second.Msg, "configure #2: 1 options, cc_opt in updated: True, value later") {
		t.Errorf("configure after a change: %s\n%s", second.Msg, e.log.text())
	}
	if _, ok := e.log.find("configure #3:"); ok {
		t.Errorf("configure ran more than twice:\n%s", e.log.text())
	}
}

// TestEmojiTableInSync: mitmproxy.utils.emoji (generated from
// internal/emoji/markers.txt) has the markers mitmgo accepts.
func TestEmojiTableInSync(t *testing.T) {
	needPython(t)
	cmd := exec.Command("python3", "-c", "import json; from mitmproxy.utils import emoji; print(json.dumps(emoji.emoji))")
	cmd.Env = append(os.Environ(), "PYTHONPATH=py", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var py map[string]string
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatal(err)
	}
	names := emoji.Names()
	if len(py) != len(names) {
		t.Errorf("Python has %d markers, Go %d", len(py), len(names))
	}
	for _, n := range names {
		if c, _ := emoji.Lookup(n); py[n] != c {
			t.Errorf("marker %s: Python %q, Go %q", n, py[n], c)
		}
	}
}

// TestScriptCallsCommandsConcurrently: hooks of many flows at once call
// a Go command that calls back into the script, while Go calls the
// script's commands from other goroutines: no call waits for another
// forever, and each gets its own answer.
func TestScriptCallsCommandsConcurrently(t *testing.T) {
	e := newEnv(t, Config{}, nil, "commands.py")
	g := &goCommands{}
	g.register(t, e.m.Commands())
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Go(func() {
			f := newFlow(t, "GET", "http://example.com/reenter", 0, "")
			e.m.Request(f)
			if got := f.Request.Headers.Get("x-reenter"); got != "43" {
				errs <- "x-reenter = " + got
			}
		})
		wg.Go(func() {
			if v, err := e.m.Commands().Call("myaddon.double", i); err != nil || v != 2*i {
				errs <- fmt.Sprintf("myaddon.double %d: %v, %v", i, v, err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("concurrent command calls did not finish")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestHookFlows: only a proxy hook's call lends, and only its own flow: a
// one-shot script's call, a request answered outside any call, and other
// flows the command is given are not lent (they may be resumed, and then
// written by the proxy, while the command runs).
func TestHookFlows(t *testing.T) {
	f := newFlow(t, "GET", "http://example.com/", 0, "")
	g := newFlow(t, "GET", "http://example.com/g", 0, "")
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		flows []flow.Any
		want  []flow.Any
	}{
		{"not a hook call", context.Background(), []flow.Any{f}, nil},
		{"the hook's flow", hookCall(f), []flow.Any{g, f}, []flow.Any{f}},
		{"another flow", hookCall(f), []flow.Any{g}, nil},
		{"no flows", hookCall(f), nil, nil},
	} {
		if got := hookFlows(tc.ctx, tc.flows); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReadableFlowFields: after a command, the flows of a call are read
// back for the child only where they may be read: the hook call's own flow
// (its goroutine asks) and flows the proxy leaves alone, not one the proxy
// runs meanwhile (a flow a UI resumed while script.run's command ran).
func TestReadableFlowFields(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	over := newFlow(t, "GET", "http://example.com/over", 200, "")
	over.SetLive(false)
	running := newFlow(t, "GET", "http://example.com/running", 0, "")
	mine := newFlow(t, "GET", "http://example.com/mine", 0, "")
	flows := []flow.Any{over, running, mine}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"a hook's call", hookCall(mine), []string{over.ID, mine.ID}},
		{"not a hook's call", context.Background(), []string{over.ID}},
	} {
		got := e.a.readableFlowFields(tc.ctx, flows).Keys()
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: fields of %v, want %v", tc.name, got, tc.want)
		}
	}
}
