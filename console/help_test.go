package console

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
)

// The golden screens of eventlog_test.go, options_test.go and this file
// are rewritten with `go test ./console -run 'Golden' -update`. The flag
// may be declared by other tests of the package too: it is declared here
// only when it is not yet.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden screens in testdata/")
	}
}

func goldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares a screen with testdata/name.golden (rewriting it
// with -update), and checks that it has exactly the size asked for.
func checkGolden(t *testing.T, name, got string, width, height int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != height {
		t.Errorf("%s: %d lines, want %d", name, len(lines), height)
	}
	for i, l := range lines {
		if w := len([]rune(l)); w != width {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i, w, width, l)
			break
		}
	}
	path := filepath.Join("testdata", name+".golden")
	if goldenUpdate() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// rejecter is an addon with options of every kind; its configure rejects
// a value of "bad" for `name` and negative values of `count`, as an
// addon's setter does.
type rejecter struct{}

func (rejecter) Name() string { return "rejecter" }

func (rejecter) Load(l *addon.Loader) {
	l.AddOption("anticache", addon.Bool, false, "Strip out request headers that might cause the server to return 304-not-modified.")
	l.AddOption("count", addon.Int, 3, "How many.")
	l.AddOption("name", addon.String, "", "A name.")
	l.AddOption("mode", addon.Strings, []string{"regular"}, "The proxy server type(s) to spawn. Can be passed multiple times.")
	l.AddOption("upstream_cert", addon.Bool, true, "Connect to upstream server to look up certificate details.")
	l.AddOption("console_eventlog_verbosity", addon.String, "info", "EventLog verbosity.",
		"error", "warn", "info", "alert", "debug")
	l.AddOption("stickycookie", addon.OptionalString, nil, "Set sticky cookie filter. Matched against requests.")
}

func (rejecter) Configure(updated map[string]bool) error { return nil }

// testState returns a State with the rejecter's options, a few commands,
// an empty event log and mitmproxy's default key bindings.
func testState(t *testing.T) *State {
	t.Helper()
	m := addon.NewManager()
	r := &rejectingAddon{opts: m.Options()}
	if err := m.Add(r); err != nil {
		t.Fatal(err)
	}
	reg := m.Commands()
	reg.MustAdd(command.Command{Name: "flow.resume", Help: "Resume flows if they are intercepted.",
		Params: []command.Param{{Name: "flows", Type: command.Flows}}, Run: func(command.Args) (any, error) { return nil, nil }})
	reg.MustAdd(command.Command{Name: "view.order.options", Help: "Choices supported by the view_order option.",
		Returns: command.Strs, Run: func(command.Args) (any, error) { return []string{"time"}, nil }})
	reg.MustAdd(command.Command{Name: "script.run", Help: "Run a script on the specified flows.",
		Params: []command.Param{{Name: "flows", Type: command.Flows}, {Name: "path", Type: command.Path}},
		Run:    func(command.Args) (any, error) { return nil, nil }})
	return &State{Commands: reg, Options: m.Options(), Log: newEventRing(100), Keymap: DefaultKeymap()}
}

type rejectingAddon struct {
	rejecter
	opts *addon.Options
}

func (r *rejectingAddon) Configure(updated map[string]bool) error {
	if updated["name"] {
		if o, _ := addon.Lookup[string](r.opts, "name"); o.Get() == "bad" {
			return errors.New(`option name: "bad" is not a good name`)
		}
	}
	if updated["count"] {
		if o, _ := addon.Lookup[int](r.opts, "count"); o.Get() < 0 {
			return errors.New("option count: must not be negative")
		}
	}
	return nil
}

func keyPress(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func navMsg(k NavKind) NavMsg { return NavMsg{Kind: k} }

func TestHelpGolden(t *testing.T) {
	st := testState(t)
	h := NewHelp()
	h.(interface{ SetHelpContext(string) }).SetHelpContext("eventlog")
	checkGolden(t, "help_keys", h.View(st, 80, 30), 80, 30)
	h.Update(keyPress("tab"), st)
	checkGolden(t, "help_filters", h.View(st, 80, 30), 80, 30)
}

func TestKeyBindingsGolden(t *testing.T) {
	st := testState(t)
	k := NewKeyBindings()
	if c, ok := k.(Contexter); !ok || c.Context() != "keybindings" {
		t.Fatalf("key bindings context: %v", k)
	}
	for range 3 {
		k.Update(navMsg(NavDown), st)
	}
	checkGolden(t, "help_keybindings", k.View(st, 100, 20), 100, 20)
}

func TestCommandsGolden(t *testing.T) {
	st := testState(t)
	c := NewCommands()
	c.Update(navMsg(NavDown), st)
	checkGolden(t, "help_commands", c.View(st, 80, 12), 80, 12)
}

// TestListNavigation: the list screens move their focus as mitmproxy's
// lists do, by the app's NavMsg and by the keys the keymap leaves them.
func TestListNavigation(t *testing.T) {
	st := testState(t)
	n := len(st.Keymap.List("all"))
	tests := []struct {
		name string
		msgs []tea.Msg
		want int
	}{
		{"start", nil, 0},
		{"down", []tea.Msg{navMsg(NavDown)}, 1},
		{"up at top", []tea.Msg{navMsg(NavUp)}, 0},
		{"arrow keys", []tea.Msg{keyPress("down"), keyPress("down"), keyPress("up")}, 1},
		{"end", []tea.Msg{navMsg(NavEnd)}, n - 1},
		{"end key", []tea.Msg{keyPress("end")}, n - 1},
		{"down at end", []tea.Msg{navMsg(NavEnd), navMsg(NavDown)}, n - 1},
		{"page down", []tea.Msg{navMsg(NavPageDown)}, 10}, // a page of 11 lines (17 - the help pane's 6) less one
		{"page down and up", []tea.Msg{navMsg(NavPageDown), navMsg(NavPageUp)}, 0},
		{"home", []tea.Msg{navMsg(NavEnd), keyPress("home")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeyBindings().(*keyBindingsScreen)
			k.View(st, 100, 17)
			for _, m := range tt.msgs {
				k.Update(m, st)
			}
			if k.cur.pos != tt.want {
				t.Errorf("focus at %d, want %d", k.cur.pos, tt.want)
			}
			// The keymap hands out copies: compare the bindings' contents.
			if b := k.FocusedBinding(st); !reflect.DeepEqual(b, st.Keymap.List("all")[tt.want]) {
				t.Errorf("FocusedBinding = %v", b)
			}
		})
	}
}

// TestCommandsSelect: Enter on a command opens the prompt with its name.
func TestCommandsSelect(t *testing.T) {
	st := testState(t)
	c := NewCommands().(*commandsScreen)
	c.Update(navMsg(NavEnd), st)
	if got := c.FocusedCommand(st); got != "view.order.options" {
		t.Fatalf("last command = %q", got)
	}
	c.Update(navMsg(NavSelect), st)
	if st.prompt == nil {
		t.Fatal("no prompt opened")
	}
}

// TestHelpTabs: tab and the left/right navigation switch between the key
// bindings and the filter expressions; scrolling stays within the text.
func TestHelpTabs(t *testing.T) {
	st := testState(t)
	h := NewHelp().(*helpScreen)
	h.View(st, 80, 10)
	for _, tt := range []struct {
		msg     tea.Msg
		wantTab int
	}{{keyPress("tab"), 1}, {navMsg(NavRight), 0}, {navMsg(NavNext), 1}, {navMsg(NavLeft), 0}} {
		h.Update(tt.msg, st)
		if h.tab != tt.wantTab {
			t.Errorf("after %v: tab %d, want %d", tt.msg, h.tab, tt.wantTab)
		}
	}
	h.Update(navMsg(NavEnd), st)
	v := h.View(st, 80, 10)
	if !strings.Contains(v, "shift tab") {
		t.Errorf("the end of the key bindings tab:\n%s", v)
	}
	h.Update(navMsg(NavStart), st)
	if v := h.View(st, 80, 10); !strings.Contains(v, "Common Keybindings") {
		t.Errorf("the start of the key bindings tab:\n%s", v)
	}
}

// TestKeyBindingsActions: the console.key.*.focus commands (ActionMsgs
// from the app) act on the focused binding.
func TestKeyBindingsActions(t *testing.T) {
	st := testState(t)
	ran := 0
	st.Commands.MustAdd(command.Command{Name: "test.ran", Run: func(command.Args) (any, error) { ran++; return nil, nil }})
	if err := st.Keymap.Add("ctrl x", "test.ran", []string{"eventlog", "options"}, "Run the test command"); err != nil {
		t.Fatal(err)
	}
	k := NewKeyBindings().(*keyBindingsScreen)
	k.View(st, 100, 30)
	for k.FocusedBinding(st).Key != "ctrl x" {
		if !k.cur.move(NavDown, len(st.Keymap.List("all")), 10) {
			t.Fatal("binding ctrl x not listed")
		}
	}
	k.Update(ActionMsg{Name: "key.execute.focus"}, st)
	if ran != 1 {
		t.Errorf("key.execute.focus ran the command %d times", ran)
	}
	k.Update(ActionMsg{Name: "key.edit.focus"}, st)
	if st.prompt == nil || st.prompt.input.Value() != `console.key.bind eventlog,options "ctrl x" test.ran` {
		t.Errorf("key.edit.focus prompt: %+v", st.prompt)
	}
	st.prompt = nil
	k.Update(ActionMsg{Name: "key.unbind.focus"}, st)
	if st.Keymap.Get("eventlog", "ctrl x") != nil || st.Keymap.Get("options", "ctrl x") != nil {
		t.Error("key.unbind.focus left the binding")
	}
	k.Update(ActionMsg{Name: "no.such.action"}, st) // ignored
}
