package console

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden screens in testdata/")
	}
}

// checkScreen compares a screen with testdata/<name>.golden (rewritten with
// -update) and checks its size.
func checkScreen(t *testing.T, name, got string, width, height int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != height {
		t.Errorf("%s: %d lines, want %d", name, len(lines), height)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w != width {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i, w, width, l)
			break
		}
	}
	path := filepath.Join("testdata", name+".golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
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
		t.Errorf("%s differs from %s (go test ./console -run %s -update):\n--- got\n%s\n--- want\n%s", name, path, t.Name(), got, want)
	}
}

const t0 = 1700000000.0 // 2023-11-14 22:13:20 UTC

// httpFlow makes a finished flow: a request, and a response when status is
// not 0.
func httpFlow(t testing.TB, method, url string, status int, body string, ts float64) *flow.HTTPFlow {
	t.Helper()
	cl := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	cl.TimestampStart = ts
	f := flow.NewHTTPFlow(cl, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req, err := flow.NewRequest(method, url, nil, flow.NewHeaders("Host", "example.com", "User-Agent", "curl/8"))
	if err != nil {
		t.Fatal(err)
	}
	req.TimestampStart, req.TimestampEnd = ts, ts+0.001
	f.Request = req
	if status != 0 {
		resp := flow.NewResponse(status, []byte(body), flow.NewHeaders("Content-Type", "application/json"))
		resp.TimestampStart, resp.TimestampEnd = ts+0.01, ts+0.042
		f.Response = resp
	}
	f.TimestampCreated = ts
	f.SetLive(false)
	return f
}

// sampleFlows are the flows of the golden screens.
func sampleFlows(t testing.TB) []flow.Any {
	f1 := httpFlow(t, "GET", "http://example.com/", 200, `{"a": 1, "b": [true, null]}`, t0)
	f2 := httpFlow(t, "POST", "https://api.example.com/v1/items?x=1", 201, `{"id": 7}`, t0+1)
	f3 := httpFlow(t, "DELETE", "http://example.com/gone", 404, "", t0+2)
	f4 := httpFlow(t, "GET", "http://unreachable.example/", 0, "", t0+3)
	f4.Error = &flow.Error{Msg: "Connection refused", Timestamp: t0 + 3.5}
	f5 := httpFlow(t, "PUT", "http://example.com/upload", 500, strings.Repeat("x", 3000), t0+4)
	f5.SetMarked(":default:")
	return []flow.Any{f1, f2, f3, f4, f5}
}

// newTestConsole assembles a master with the view and the console (not
// started), at a fixed size, in UTC and without colours.
func newTestConsole(t testing.TB, w, h int, specs ...string) (*Console, *mitmgo.Master) {
	t.Helper()
	c := New()
	m, err := mitmgo.New(mitmgo.Config{View: true, Addons: []any{c}, Out: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Attach(m); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Setup(append([]string{"confdir=" + dir}, specs...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	c.st.loc = time.UTC
	c.st.Listen = "127.0.0.1:8080"
	c.app.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return c, m
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// press sends keys by their keymap names ("j", "enter", "ctrl f", "esc").
func press(c *Console, keys ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range keys {
		_, last = c.app.Update(keyMsg(k))
	}
	return last
}

func keyMsg(k string) tea.KeyMsg {
	types := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift tab": tea.KeyShiftTab,
		"up": tea.KeyUp, "down": tea.KeyDown, "backspace": tea.KeyBackspace, "ctrl f": tea.KeyCtrlF,
		"ctrl b": tea.KeyCtrlB, "page down": tea.KeyPgDown, "page up": tea.KeyPgUp, "home": tea.KeyHome,
		"end": tea.KeyEnd, "ctrl c": tea.KeyCtrlC,
	}
	if k == "space" {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	if t, ok := types[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func typeText(c *Console, s string) {
	for _, r := range s {
		if r == ' ' {
			c.app.Update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		c.app.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func promptText(c *Console) string {
	if c.st.prompt == nil {
		return "<no prompt>"
	}
	return c.st.prompt.input.Value()
}

func focusIndex(c *Console) int {
	_, i := c.st.View.Focus()
	return i
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	return containsQuit(cmd())
}

func containsQuit(msg tea.Msg) bool {
	switch m := msg.(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, c := range m {
			if c != nil && containsQuit(c()) {
				return true
			}
		}
	}
	return false
}

// TestKeys presses keys on the flow list and checks what the commands they
// run did.
func TestKeys(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		check func(t *testing.T, c *Console, m *mitmgo.Master)
	}{
		{"j moves down", []string{"j", "j"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if i := focusIndex(c); i != 2 {
				t.Errorf("focus %d, want 2", i)
			}
		}},
		{"k moves up", []string{"G", "k"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if i := focusIndex(c); i != 3 {
				t.Errorf("focus %d, want 3", i)
			}
		}},
		{"arrows", []string{"down", "down", "up"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if i := focusIndex(c); i != 1 {
				t.Errorf("focus %d, want 1", i)
			}
		}},
		{"G and g", []string{"G"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if i := focusIndex(c); i != 4 {
				t.Errorf("G: focus %d, want 4", i)
			}
			press(c, "g")
			if i := focusIndex(c); i != 0 {
				t.Errorf("g: focus %d, want 0", i)
			}
		}},
		{"space pages down", []string{"space"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if i := focusIndex(c); i != 4 {
				t.Errorf("focus %d, want 4 (the last)", i)
			}
			press(c, "ctrl b")
			if i := focusIndex(c); i != 0 {
				t.Errorf("ctrl b: focus %d, want 0", i)
			}
			press(c, "ctrl f")
			if i := focusIndex(c); i != 4 {
				t.Errorf("ctrl f: focus %d, want 4", i)
			}
		}},
		{"m marks", []string{"m"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if f := c.st.Focus(); f.Base().Marked() == "" {
				t.Error("not marked")
			}
			press(c, "m")
			if f := c.st.Focus(); f.Base().Marked() != "" {
				t.Error("still marked")
			}
		}},
		{"d deletes", []string{"d"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if n := m.View.Len(); n != 4 {
				t.Errorf("%d flows, want 4", n)
			}
		}},
		{"D duplicates", []string{"D"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if n := m.View.Len(); n != 6 {
				t.Errorf("%d flows, want 6", n)
			}
		}},
		{"z asks, y clears", []string{"z"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if !c.st.Prompting() || m.View.Len() != 5 {
				t.Fatalf("z: prompting %v, %d flows", c.st.Prompting(), m.View.Len())
			}
			press(c, "y")
			if n := m.View.Len(); n != 0 {
				t.Errorf("%d flows, want 0", n)
			}
		}},
		{"z, n keeps", []string{"z", "n"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if n := m.View.Len(); n != 5 || c.st.Prompting() {
				t.Errorf("%d flows, want 5", n)
			}
		}},
		{"f sets the view filter", []string{"f"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := promptText(c); got != "set view_filter ''" {
				t.Fatalf("prompt %q", got)
			}
			typeText(c, "~m POST")
			press(c, "enter")
			if n := m.View.Len(); n != 1 {
				t.Errorf("%d flows shown, want 1 (filter %q)", n, m.View.Filter())
			}
			if !strings.Contains(c.app.statusLine(200), "[f:~m POST]") {
				t.Errorf("status line: %q", c.app.statusLine(200))
			}
		}},
		{"o orders", []string{"o"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			ch, ok := c.app.Top().(*chooser)
			if !ok {
				t.Fatalf("top is %T", c.app.Top())
			}
			if ch.title != "Order flows by..." {
				t.Errorf("title %q", ch.title)
			}
			press(c, "j", "enter") // method, size
			if o := m.View.Order(); o != "size" {
				t.Errorf("order %q, want size", o)
			}
			if _, ok := c.app.Top().(*flowList); !ok {
				t.Errorf("top is %T after the choice", c.app.Top())
			}
		}},
		{"v reverses", []string{"v"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if !m.View.Reversed() {
				t.Error("not reversed")
			}
		}},
		{"i sets intercept", []string{"i"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := promptText(c); got != "set intercept ''" {
				t.Fatalf("prompt %q", got)
			}
			typeText(c, "~q")
			press(c, "enter")
			if got := m.Options.String("intercept"); got != "~q" {
				t.Errorf("intercept %q", got)
			}
			if !strings.Contains(c.app.statusLine(200), "[i:~q]") {
				t.Errorf("status line: %q", c.app.statusLine(200))
			}
		}},
		{"W streams to a file", []string{"W"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := promptText(c); got != "set save_stream_file ''" {
				t.Errorf("prompt %q", got)
			}
		}},
		{"| runs a script", []string{"|"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := promptText(c); got != "script.run @focus " {
				t.Errorf("prompt %q", got)
			}
		}},
		{"L loads", []string{"L"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := promptText(c); got != "view.flows.load " {
				t.Errorf("prompt %q", got)
			}
		}},
		{"enter opens, tab switches, q goes back", []string{"enter"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			fv, ok := c.app.Top().(*flowView)
			if !ok {
				t.Fatalf("top is %T", c.app.Top())
			}
			press(c, "tab")
			if fv.tab != 1 {
				t.Errorf("tab %d", fv.tab)
			}
			press(c, "shift tab")
			if fv.tab != 0 {
				t.Errorf("shift tab: tab %d", fv.tab)
			}
			press(c, "q")
			if _, ok := c.app.Top().(*flowList); !ok {
				t.Errorf("q: top is %T", c.app.Top())
			}
		}},
		{"Q quits", nil, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if !isQuit(press(c, "Q")) {
				t.Error("Q did not quit")
			}
		}},
		{"q at the top asks", []string{"q"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if !c.st.Prompting() {
				t.Fatal("no question")
			}
			if !strings.Contains(screen(c), "Quit (yes, no)") {
				t.Errorf("screen:\n%s", screen(c))
			}
			if !isQuit(press(c, "y")) {
				t.Error("y did not quit")
			}
		}},
		{"E O ? K C push their screens", nil, func(t *testing.T, c *Console, m *mitmgo.Master) {
			for _, k := range []string{"E", "O", "?", "K", "C"} {
				press(c, k)
				if c.app.Depth() != 2 {
					t.Errorf("%s: depth %d", k, c.app.Depth())
				}
				press(c, "q")
				if c.app.Depth() != 1 {
					t.Errorf("%s then q: depth %d", k, c.app.Depth())
				}
			}
		}},
		{"- cycles the layout", []string{"-"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			if got := c.st.opts.layout.Get(); got != "vertical" {
				t.Errorf("layout %q", got)
			}
			press(c, "shift tab")
			if c.app.focus != 1 {
				t.Errorf("pane %d", c.app.focus)
			}
		}},
		{": completes commands", []string{":"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			typeText(c, "view.order.se")
			press(c, "tab")
			if got := promptText(c); got != "view.order.set" {
				t.Errorf("completed %q", got)
			}
			press(c, "esc", ":")
			typeText(c, "set view_order ")
			press(c, "tab")
			if got := promptText(c); got != "set view_order method" {
				t.Errorf("choice completion %q", got)
			}
			press(c, "tab")
			if got := promptText(c); got != "set view_order size" {
				t.Errorf("second tab %q", got)
			}
			press(c, "esc")
			press(c, ":")
			typeText(c, "flow.mark.toggle @fo")
			press(c, "tab")
			if got := promptText(c); got != "flow.mark.toggle @focus" {
				t.Errorf("flow spec completion %q", got)
			}
			press(c, "enter")
			if c.st.Focus().Base().Marked() == "" {
				t.Error("the command did not run")
			}
			press(c, ":", "up")
			if got := promptText(c); got != "flow.mark.toggle @focus" {
				t.Errorf("history %q", got)
			}
			press(c, "esc", ":")
			typeText(c, "set console_pal")
			press(c, "tab")
			if got := promptText(c); got != "set console_palette" {
				t.Errorf("option completion %q", got)
			}
		}},
		{"a resumes, A resumes all", nil, func(t *testing.T, c *Console, m *mitmgo.Master) {
			for _, f := range m.View.Shown() {
				f.Base().Intercept()
			}
			m.View.Update(m.View.Shown())
			press(c, "a")
			if c.st.Focus().Base().IsIntercepted() {
				t.Error("a: still intercepted")
			}
			if !m.View.At(1).Base().IsIntercepted() {
				t.Error("a resumed another flow")
			}
			press(c, "A")
			for _, f := range m.View.Shown() {
				if f.Base().IsIntercepted() {
					t.Error("A: still intercepted")
				}
			}
		}},
		{"an unknown command shows an error", []string{":"}, func(t *testing.T, c *Console, m *mitmgo.Master) {
			typeText(c, "nosuch.command")
			press(c, "enter")
			if msg, isErr := c.st.StatusMessage(); !isErr || !strings.Contains(msg, "nosuch.command") {
				t.Errorf("message %q (error %v)", msg, isErr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := newTestConsole(t, 120, 30)
			m.View.Add(sampleFlows(t)...)
			m.View.FocusIndex(0)
			c.app.Update(refreshMsg{})
			press(c, tt.keys...)
			tt.check(t, c, m)
		})
	}
}

func screen(c *Console) string { return c.app.View() }

// TestSaveAndLoad saves the listed flows with w and loads them with L.
func TestSaveAndLoad(t *testing.T) {
	c, m := newTestConsole(t, 120, 30)
	m.View.Add(sampleFlows(t)...)
	m.View.FocusIndex(0)
	path := filepath.Join(t.TempDir(), "flows")
	press(c, "w")
	typeText(c, path)
	press(c, "enter")
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("saved file: %v", err)
	}
	press(c, "z", "y")
	if m.View.Len() != 0 {
		t.Fatal("not cleared")
	}
	press(c, "L")
	typeText(c, path)
	press(c, "enter")
	if n := m.View.Len(); n != 5 {
		t.Errorf("%d flows loaded, want 5 (%s)", n, statusOf(c))
	}
}

func statusOf(c *Console) string {
	msg, _ := c.st.StatusMessage()
	return msg
}

// TestEdit edits the focused flow's URL and the response body in
// a fake $EDITOR.
func TestEdit(t *testing.T) {
	if _, err := exec.LookPath("sed"); err != nil {
		t.Skip("sed is not installed")
	}
	sed := func(expr string) []string { return []string{"sed", "-i", "-e", expr} }
	tests := []struct {
		choice string // the line to pick in the Edit... chooser
		editor []string
		check  func(f *flow.HTTPFlow) string
	}{
		{"url", sed("s#example.com/#example.org/edited#"), func(f *flow.HTTPFlow) string { return f.Request.URL() }},
		{"response-body", sed("s#1#42#"), func(f *flow.HTTPFlow) string { return string(f.Response.RawContent) }},
	}
	// Headers, query, form and cookies are edited in the grid (grid_test.go).
	want := []string{"http://example.org/edited", `{"a": 42, "b": [true, null]}`}
	for i, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			c, m := newTestConsole(t, 120, 30)
			m.View.Add(sampleFlows(t)...)
			m.View.FocusIndex(0)
			t.Setenv("MITMPROXY_EDITOR", "")
			t.Setenv("EDITOR", "nosuch-editor")
			c.spawn = func(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd {
				if cmd.Args[0] != "nosuch-editor" {
					t.Errorf("editor %q, want $EDITOR", cmd.Args[0])
				}
				file := cmd.Args[len(cmd.Args)-1]
				args := append(append([]string{}, tt.editor[1:]...), file)
				err := exec.Command(tt.editor[0], args...).Run()
				return func() tea.Msg { return done(err) }
			}
			press(c, "e")
			ch, ok := c.app.Top().(*chooser)
			if !ok {
				t.Fatalf("top is %T (%s)", c.app.Top(), statusOf(c))
			}
			for ch.choices[ch.idx] != tt.choice {
				press(c, "j")
			}
			var cmd tea.Cmd
			_, cmd = c.app.Update(keyMsg("enter"))
			runCmds(c, cmd)
			f := c.st.Focus().(*flow.HTTPFlow)
			if got := tt.check(f); got != want[i] {
				t.Errorf("%s: %q, want %q (%s)", tt.choice, got, want[i], statusOf(c))
			}
			if !f.Modified() {
				t.Error("no backup: V could not revert")
			}
		})
	}
}

// runCmds runs a tea.Cmd and feeds its messages back to the app, as the
// program does.
func runCmds(c *Console, cmd tea.Cmd) {
	for i := 0; cmd != nil && i < 10; i++ {
		msg := cmd()
		cmd = nil
		switch m := msg.(type) {
		case tea.BatchMsg:
			for _, x := range m {
				runCmds(c, x)
			}
		case nil:
		default:
			_, cmd = c.app.Update(m)
		}
	}
}

// TestSearch searches the response body with / and n.
func TestSearch(t *testing.T) {
	c, m := newTestConsole(t, 100, 30)
	body := strings.Repeat("line\n", 40) + "needle one\n" + strings.Repeat("line\n", 40) + "needle two\n"
	f := httpFlow(t, "GET", "http://example.com/", 200, body, t0)
	f.Response.Headers.Set("content-type", "text/plain")
	m.View.Add(f)
	m.View.FocusIndex(0)
	press(c, "enter", "tab")
	c.app.View()
	press(c, "/")
	if got := promptText(c); got != "console.search " {
		t.Fatalf("prompt %q", got)
	}
	typeText(c, "needle")
	press(c, "enter")
	fv := c.app.Top().(*flowView)
	if len(fv.matches) != 2 || fv.match != 0 {
		t.Fatalf("matches %v, current %d", fv.matches, fv.match)
	}
	s := screen(c)
	if !strings.Contains(s, "needle one") || !strings.Contains(statusOf(c), "Match 1 of 2") {
		t.Errorf("screen:\n%s", s)
	}
	press(c, "n")
	if fv.match != 1 || !strings.Contains(screen(c), "needle two") {
		t.Errorf("n: match %d", fv.match)
	}
	press(c, "N")
	if fv.match != 0 {
		t.Errorf("N: match %d", fv.match)
	}
}

// TestMouse focuses a row with a click and opens it with a second one; the
// wheel moves the focus.
func TestMouse(t *testing.T) {
	c, m := newTestConsole(t, 120, 30)
	m.View.Add(sampleFlows(t)...)
	m.View.FocusIndex(0)
	c.app.View()
	click := func(y int) {
		c.app.Update(tea.MouseMsg{X: 5, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	}
	click(3) // the title bar is row 0: row 3 is the third flow
	if i := focusIndex(c); i != 2 {
		t.Errorf("click: focus %d, want 2", i)
	}
	c.app.Update(tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	if i := focusIndex(c); i != 3 {
		t.Errorf("wheel: focus %d, want 3", i)
	}
	click(4)
	if _, ok := c.app.Top().(*flowView); !ok {
		t.Errorf("second click: top is %T", c.app.Top())
	}
	if err := m.Options.Set("console_mouse=false"); err != nil {
		t.Fatal(err)
	}
	press(c, "q")
	click(1)
	if i := focusIndex(c); i != 3 {
		t.Errorf("console_mouse=false: focus %d, want 3", i)
	}
}

// TestGoldenScreens renders the main screens at fixed sizes.
func TestGoldenScreens(t *testing.T) {
	tests := []struct {
		name  string
		w, h  int
		specs []string
		keys  []string
		setup func(c *Console, m *mitmgo.Master)
	}{
		{name: "flowlist_table", w: 120, h: 14},
		{name: "flowlist_list", w: 80, h: 16},
		{name: "flowlist_marked_focus", w: 120, h: 14, keys: []string{"j", "m", "G"}},
		{name: "flowview_request", w: 100, h: 20, keys: []string{"enter"}},
		{name: "flowview_response", w: 100, h: 20, keys: []string{"enter", "tab"}},
		{name: "flowview_detail", w: 100, h: 24, keys: []string{"enter", "tab", "tab"}},
		{name: "flowview_error", w: 100, h: 12, keys: []string{"j", "j", "j", "enter", "tab"}},
		{name: "layout_vertical", w: 100, h: 20, specs: []string{"console_layout=vertical"}},
		{name: "layout_horizontal", w: 140, h: 12, specs: []string{"console_layout=horizontal"}},
		{name: "no_headers_no_quickhelp", w: 100, h: 10, specs: []string{"console_layout_headers=false", "console_quickhelp_visible=false"}},
		{name: "intercepted", w: 120, h: 10, specs: []string{"intercept=~q"}, setup: func(c *Console, m *mitmgo.Master) {
			f := m.View.At(1)
			f.Base().Intercept()
			m.View.Update([]flow.Any{f})
		}},
		{name: "prompt_filter", w: 100, h: 10, keys: []string{"f"}},
		{name: "prompt_command_hint", w: 100, h: 10, keys: []string{":", "view.order.set", "space"}},
		{name: "chooser_order", w: 100, h: 14, keys: []string{"o"}},
		{name: "empty", w: 100, h: 8, setup: func(c *Console, m *mitmgo.Master) { m.View.Clear() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := newTestConsole(t, tt.w, tt.h, tt.specs...)
			m.View.Add(sampleFlows(t)...)
			m.View.FocusIndex(0)
			if tt.setup != nil {
				tt.setup(c, m)
			}
			c.app.Update(refreshMsg{})
			press(c, tt.keys...)
			checkScreen(t, tt.name, c.app.View(), tt.w, tt.h)
		})
	}
}

// TestPalettes checks that every palette renders with colours and that
// they differ where mitmproxy's do.
func TestPalettes(t *testing.T) {
	r := lipgloss.NewRenderer(&bytes.Buffer{})
	r.SetColorProfile(termenv.ANSI256)
	seen := map[string]string{}
	for _, name := range Palettes {
		for _, transparent := range []bool{true, false} {
			p := NewPalette(name, transparent, r)
			out := p.Style("method_get").Render("GET") + p.Style("heading").Render("h") + p.Style("intercept").Render("i")
			if !strings.Contains(out, "\x1b[") {
				t.Errorf("%s: no colour in %q", name, out)
			}
			key := fmt.Sprintf("%s/%v", name, transparent)
			seen[key] = out
		}
		if seen[name+"/true"] == seen[name+"/false"] && name != "lowlight" {
			// Opaque palettes paint the background.
			t.Errorf("%s: transparent and opaque render the same", name)
		}
	}
	if seen["dark/true"] == seen["solarized_dark/true"] || seen["light/true"] == seen["lowdark/true"] {
		t.Error("palettes render the same")
	}
	// Changing console_palette restyles the console.
	c, m := newTestConsole(t, 80, 10)
	c.SetRenderer(r)
	before := c.st.Style("heading").Render("x")
	if err := m.Options.Set("console_palette=lowlight"); err != nil {
		t.Fatal(err)
	}
	c.app.Update(refreshMsg{})
	if after := c.st.Style("heading").Render("x"); after == before {
		t.Errorf("console_palette did not change the styles: %q", after)
	}
}
