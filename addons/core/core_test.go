package core_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/core"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// updates records the update hook.
type updates struct {
	mu    sync.Mutex
	flows [][]flow.Any
}

func (u *updates) Update(flows []flow.Any) {
	u.mu.Lock()
	u.flows = append(u.flows, flows)
	u.mu.Unlock()
}

// resolver resolves "@all" to the flows it holds, as the view would.
type resolver struct{ flows []flow.Any }

func (r *resolver) Load(l *addon.Loader) {
	l.AddCommand(command.Command{Name: command.ResolveCommand, Params: []command.Param{{Name: "spec", Type: command.Str}}, Returns: command.Flows,
		Run: func(a command.Args) (any, error) { return r.flows, nil }})
}

type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) AddLog(e *addon.LogEntry) {
	l.mu.Lock()
	l.msgs = append(l.msgs, e.Msg)
	l.mu.Unlock()
}

func (l *logs) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return ""
	}
	return l.msgs[len(l.msgs)-1]
}

func setup(t *testing.T, flows ...flow.Any) (*addon.Manager, *updates, *logs) {
	t.Helper()
	m := addon.NewManager()
	u, lg := &updates{}, &logs{}
	if err := m.Add(lg, core.New(), &resolver{flows}, u); err != nil {
		t.Fatal(err)
	}
	m.Options().MustAdd("flag", addon.Bool, false, "")
	m.Options().MustAdd("name", addon.String, "x", "")
	m.Options().MustAdd("port", addon.OptionalInt, nil, "")
	m.Options().MustAdd("list", addon.Strings, []string{}, "")
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return m, u, lg
}

func httpFlow(t *testing.T) *flow.HTTPFlow {
	t.Helper()
	req, err := flow.NewRequest("GET", "http://example.com/path", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := flow.NewHTTPFlow(nil, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	f.Request = req
	f.Response = flow.NewResponse(200, []byte("hello hello hello"), nil)
	return f
}

func TestSet(t *testing.T) {
	m, _, _ := setup(t)
	o := m.Options()
	for _, tc := range []struct {
		cmd  string
		want map[string]any
		err  string
	}{
		{"set flag", map[string]any{"flag": true}, ""},
		{"set flag false", map[string]any{"flag": false}, ""},
		{"set flag toggle", map[string]any{"flag": true}, ""},
		{"set name y", map[string]any{"name": "y"}, ""},
		{"set name", nil, "Option is required: name"},
		{"set name a b", nil, "Received multiple values for name"},
		{"set list a b", map[string]any{"list": []string{"a", "b"}}, ""},
		{"set list", map[string]any{"list": []string{}}, ""},
		{"set port 8080", nil, ""},
		{"set port", nil, ""},
		{"set port x", nil, `"x" is not an integer`},
		{"set nope 1", nil, "Unknown option(s): nope"},
	} {
		_, err := m.Commands().Execute(tc.cmd)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.cmd, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
		}
		for name, want := range tc.want {
			got := o.Get(name)
			if l, ok := want.([]string); ok {
				if gl := got.([]string); strings.Join(gl, ",") != strings.Join(l, ",") {
					t.Errorf("%s: %s = %v", tc.cmd, name, got)
				}
			} else if got != want {
				t.Errorf("%s: %s = %v, want %v", tc.cmd, name, got, want)
			}
		}
	}
	if o.IsSet("port") {
		t.Error("set port with no value did not unset it")
	}
}

func TestFlowCommands(t *testing.T) {
	f := httpFlow(t)
	// Over (as read from a file): every command may read and change it.
	f.SetLive(false)
	m, u, lg := setup(t, f)
	exec := func(cmd string) {
		t.Helper()
		if _, err := m.Commands().Execute(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	exec("flow.mark @all :+1:")
	if f.Marked() != ":+1:" || len(u.flows) != 1 {
		t.Errorf("mark: %q, %d updates", f.Marked(), len(u.flows))
	}
	exec("flow.mark.toggle @all")
	exec("flow.mark.toggle @all")
	if f.Marked() != ":default:" {
		t.Errorf("mark.toggle: %q", f.Marked())
	}
	if _, err := m.Commands().Call("flow.mark", []flow.Any{f}, ":not-an-emoji:"); err == nil || err.Error() != "invalid marker value" {
		t.Errorf("a bad marker: %v", err)
	}
	exec("flow.set @all status_code 404")
	if f.Response.StatusCode != 404 || f.Response.Reason != "Not Found" || lg.last() != "Set status_code on  1 flows." {
		t.Errorf("flow.set status_code: %d %q, log %q", f.Response.StatusCode, f.Response.Reason, lg.last())
	}
	exec("flow.set @all status_code 418")
	if f.Response.Reason != "I'm a teapot" {
		t.Errorf("418: %q", f.Response.Reason)
	}
	exec("flow.set @all method POST")
	exec("flow.set @all url https://example.org:8443/x")
	if f.Request.Method != "POST" || f.Request.URL() != "https://example.org:8443/x" {
		t.Errorf("flow.set method/url: %s %s", f.Request.Method, f.Request.URL())
	}
	if _, err := m.Commands().Execute("flow.set @all colour red"); err == nil || err.Error() != "Invalid choice." {
		t.Errorf("flow.set with a bad attribute: %v", err)
	}
	if _, err := m.Commands().Execute("flow.set @all status_code abc"); err == nil || err.Error() != "Status code is not an integer: abc" {
		t.Errorf("flow.set with a bad status: %v", err)
	}
	exec("flow.encode @all response gzip")
	if f.Response.Headers.Get("content-encoding") != "gzip" || !f.Modified() {
		t.Errorf("encode: %q, modified %v", f.Response.Headers.Get("content-encoding"), f.Modified())
	}
	exec("flow.decode @all response")
	if f.Response.Headers.Get("content-encoding") != "" || string(f.Response.RawContent) != "hello hello hello" {
		t.Errorf("decode: %q", f.Response.RawContent)
	}
	exec("flow.encode.toggle @all response")
	if f.Response.Headers.Get("content-encoding") != "deflate" {
		t.Errorf("encode.toggle: %q", f.Response.Headers.Get("content-encoding"))
	}
	exec("flow.revert @all")
	// The backup was taken by the first edit that backs up (encode).
	if f.Response.Headers.Get("content-encoding") != "" || f.Response.StatusCode != 418 || f.Modified() || lg.last() != "Reverted 1 flows." {
		t.Errorf("revert: %q %d %v %q", f.Response.Headers.Get("content-encoding"), f.Response.StatusCode, f.Modified(), lg.last())
	}
	exec("flow.revert @all")
	if lg.last() != "Reverted 0 flows." {
		t.Errorf("a second revert: %q", lg.last())
	}
	if _, err := m.Commands().Execute("flow.encode @all response lzma"); err == nil || err.Error() != "Invalid choice." {
		t.Errorf("a bad encoding: %v", err)
	}
	exec(`flow.comment @all "a comment"`)
	if f.Comment() != "a comment" {
		t.Errorf("comment: %q", f.Comment())
	}
	// Kill and resume act on live flows only.
	f.SetLive(true)
	exec("flow.kill @all")
	if !f.Killed() || lg.last() != "Killed 1 flows." {
		t.Errorf("kill: %v %q", f.Killed(), lg.last())
	}
	// The flow runs (not intercepted): the proxy records the kill's error
	// when it ends the flow.
	f.SetLive(false)
	if f.Error == nil || f.Error.Msg != flow.KilledMessage {
		t.Errorf("kill: error %v", f.Error)
	}
	exec("flow.kill @all")
	if lg.last() != "Killed 0 flows." {
		t.Errorf("kill again: %q", lg.last())
	}
	g := httpFlow(t)
	g.Intercept()
	_, _ = m.Commands().Call("flow.resume", []flow.Any{g, f})
	if g.IsIntercepted() {
		t.Error("resume did not resume")
	}
}

func TestOptionsCommands(t *testing.T) {
	m, _, _ := setup(t)
	o := m.Options()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte("# kept\nunrelated_key: 1\nname: old\n"), 0o644)
	o.Set("flag=true", "list=a", "list=b")
	if _, err := m.Commands().Execute("options.save " + path); err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(path)
	if s := string(saved); !strings.Contains(s, "flag: true") || !strings.Contains(s, "- a") || strings.Contains(s, "unrelated_key") || !strings.Contains(s, "name: old") {
		t.Errorf("options.save wrote:\n%s", s)
	}
	if _, err := m.Commands().Execute("options.reset"); err != nil {
		t.Fatal(err)
	}
	if o.Bool("flag") || len(o.Strings("list")) != 0 {
		t.Error("options.reset left values")
	}
	if _, err := m.Commands().Execute("options.load " + path); err != nil {
		t.Fatal(err)
	}
	if !o.Bool("flag") || o.String("name") != "old" {
		t.Error("options.load did not set the values")
	}
	if _, err := m.Commands().Execute("options.reset.one flag"); err != nil || o.Bool("flag") {
		t.Errorf("options.reset.one: %v", err)
	}
	if _, err := m.Commands().Execute("options.reset.one nope"); err == nil || err.Error() != "No such option: nope" {
		t.Errorf("options.reset.one nope: %v", err)
	}
	if _, err := m.Commands().Execute("options.load " + filepath.Join(dir, "missing.yaml")); err != nil {
		t.Errorf("a missing file: %v", err)
	}
	os.WriteFile(path, []byte("flag: [\n"), 0o644)
	if _, err := m.Commands().Execute("options.load " + path); err == nil || !strings.HasPrefix(err.Error(), "Could not load options - ") {
		t.Errorf("a bad file: %v", err)
	}
}

func TestSetCompletion(t *testing.T) {
	m, _, _ := setup(t)
	set, ok := m.Commands().Get("set")
	if !ok {
		t.Fatal("no set command")
	}
	for _, tc := range []struct {
		idx  int
		args []string
		text string
		want []string
	}{
		{0, nil, "fl", []string{"flag"}},
		{1, []string{"flag"}, "", []string{"false", "toggle", "true"}},
		{1, []string{"flag"}, "t", []string{"toggle", "true"}},
		{1, []string{"name"}, "", []string{}},
		{1, []string{"no_such_option"}, "", []string{}},
	} {
		if got := m.Commands().CompleteArg(set, tc.idx, tc.args, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("set %d %q %q: %q, want %q", tc.idx, tc.args, tc.text, got, tc.want)
		}
	}
}
