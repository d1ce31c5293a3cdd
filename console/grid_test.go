package console

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/flow"
)

// pushGrid puts a grid of two header rows on a test console's screen
// stack; applied receives what leaving it applies.
func pushGrid(t *testing.T, applied *[][]string) (*Console, *gridEditor) {
	t.Helper()
	c, _ := newTestConsole(t, 60, 12)
	g := newGrid("Editing request headers", gridHelpText, []string{"Key", "Value"},
		[][]string{{"Host", "example.com"}, {"Accept", "*/*"}},
		func(st *State, rows [][]string) error { *applied = rows; return nil })
	c.st.Push(g)
	c.app.settle()
	return c, g
}

// TestGridUpdate: keys, through the keymap as the console sends them,
// move the cursor and edit, add and delete rows.
func TestGridUpdate(t *testing.T) {
	tests := []struct {
		name     string
		keys     []string
		rows     [][]string
		row, col int
		editing  bool
	}{
		{"start", nil, [][]string{{"Host", "example.com"}, {"Accept", "*/*"}}, 0, 0, false},
		{"j moves down", []string{"j"}, nil, 1, 0, false},
		{"down, up, k", []string{"down", "down", "k"}, nil, 0, 0, false},
		{"l and right move right", []string{"l", "right", "l"}, nil, 0, 1, false},
		{"h moves left", []string{"l", "h", "h"}, nil, 0, 0, false},
		{"tab goes to the next cell, then row", []string{"tab", "tab"}, nil, 1, 0, false},
		{"G goes to the end", []string{"G"}, nil, 1, 0, false},
		{"enter edits the cell", []string{"enter", "X"}, nil, 0, 0, true},
		{"enter keeps the cell's edit", []string{"l", "enter", "backspace", "backspace", "backspace", "org", "enter"},
			[][]string{{"Host", "example.org"}, {"Accept", "*/*"}}, 0, 1, false},
		{"esc drops the cell's edit", []string{"enter", "X", "esc"}, nil, 0, 0, false},
		{"keys are text while editing", []string{"enter", "q", "d", "j", "enter"},
			[][]string{{"Hostqdj", "example.com"}, {"Accept", "*/*"}}, 0, 0, false},
		{"tab keeps the edit and moves on", []string{"enter", "s", "tab"},
			[][]string{{"Hosts", "example.com"}, {"Accept", "*/*"}}, 0, 1, false},
		{"a adds a row after and edits it", []string{"a", "N", "tab", "enter", "v", "enter"},
			[][]string{{"Host", "example.com"}, {"N", "v"}, {"Accept", "*/*"}}, 1, 1, false},
		{"A inserts a row before", []string{"j", "A", "Z", "enter"},
			[][]string{{"Host", "example.com"}, {"Z", ""}, {"Accept", "*/*"}}, 1, 0, false},
		{"d deletes the row", []string{"d"}, [][]string{{"Accept", "*/*"}}, 0, 0, false},
		{"d on every row empties the grid", []string{"d", "d", "d"}, [][]string{}, 0, 0, false},
		{"enter on an empty grid adds a row", []string{"d", "d", "enter", "k", "enter"}, [][]string{{"k", ""}}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied [][]string
			c, g := pushGrid(t, &applied)
			for _, k := range tt.keys {
				if len(k) > 1 && keyMsg(k).Type == tea.KeyRunes {
					typeText(c, k)
					continue
				}
				press(c, k)
			}
			if c.app.Top() != g {
				t.Fatalf("top is %T", c.app.Top())
			}
			want := tt.rows
			if want == nil {
				want = [][]string{{"Host", "example.com"}, {"Accept", "*/*"}}
			}
			if len(want) == 0 && len(g.rows) == 0 {
				want = g.rows
			}
			if !reflect.DeepEqual(g.rows, want) {
				t.Errorf("rows %q, want %q", g.rows, want)
			}
			if r, col, _ := g.focused(); r != tt.row || col != tt.col {
				t.Errorf("cursor (%d, %d), want (%d, %d)", r, col, tt.row, tt.col)
			}
			if (g.edit != nil) != tt.editing {
				t.Errorf("editing %v, want %v", g.edit != nil, tt.editing)
			}
			if applied != nil {
				t.Errorf("applied %q before leaving", applied)
			}
		})
	}
}

// TestGridLeave: q and esc leave the grid and apply its rows (without
// empty ones); leaving unchanged applies nothing.
func TestGridLeave(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want [][]string
	}{
		{"q applies", []string{"d", "q"}, [][]string{{"Accept", "*/*"}}},
		{"esc applies", []string{"d", "esc"}, [][]string{{"Accept", "*/*"}}},
		{"empty rows are dropped", []string{"a", "enter", "a", "x", "enter", "q"},
			[][]string{{"Host", "example.com"}, {"x", ""}, {"Accept", "*/*"}}},
		{"unchanged applies nothing", []string{"j", "q"}, nil},
		{"esc in a cell then q", []string{"enter", "X", "esc", "q"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied [][]string
			c, g := pushGrid(t, &applied)
			press(c, tt.keys...)
			if c.app.Top() == g {
				t.Fatal("still in the grid")
			}
			if !reflect.DeepEqual(applied, tt.want) {
				t.Errorf("applied %q, want %q", applied, tt.want)
			}
		})
	}
}

func TestGridGolden(t *testing.T) {
	var applied [][]string
	c, g := pushGrid(t, &applied)
	press(c, "j", "l")
	checkGolden(t, "grid_headers", g.View(c.st, 60, 12), 60, 12)
	press(c, "a", "X-New")
	checkGolden(t, "grid_editing", g.View(c.st, 60, 12), 60, 12)
}

// TestGridFiles: r reads the focused cell from a file, R decodes
// Python escapes (both through the command prompt, as mitmproxy's keys),
// w saves the rows as CSV.
func TestGridFiles(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	escaped := filepath.Join(dir, "escaped")
	if err := os.WriteFile(plain, []byte(`a\nb`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(escaped, []byte(`a\tb\x41\'"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var applied [][]string
	c, g := pushGrid(t, &applied)
	press(c, "l", "r")
	if got := promptText(c); got != "console.grideditor.load " {
		t.Fatalf("r: prompt %q", got)
	}
	typeText(c, plain)
	press(c, "enter")
	if got := g.rows[0][1]; got != `a\nb` {
		t.Errorf("r: %q (%s)", got, statusOf(c))
	}
	press(c, "R")
	if got := promptText(c); got != "console.grideditor.load_escaped " {
		t.Fatalf("R: prompt %q", got)
	}
	typeText(c, escaped)
	press(c, "enter")
	if got := g.rows[0][1]; got != "a\tbA'\"" {
		t.Errorf("R: %q (%s)", got, statusOf(c))
	}
	csvPath := filepath.Join(dir, "rows.csv")
	press(c, "w")
	typeText(c, csvPath)
	press(c, "enter")
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatalf("w: %v (%s)", err, statusOf(c))
	}
	if want := "Host,\"a\tbA'\"\"\"\nAccept,*/*\n"; string(b) != want {
		t.Errorf("CSV %q, want %q", b, want)
	}
	if got := statusOf(c); got != "Saved 2 rows as CSV." {
		t.Errorf("status %q", got)
	}
}

// TestLoadCellEscaped: R reads a cell from a file of Python escapes, decoded
// as mitmproxy's escaped_str_to_bytes (internal/spec, as modify_body's);
// a bad escape is mitmproxy's error.
func TestLoadCellEscaped(t *testing.T) {
	dir := t.TempDir()
	for i, tt := range []struct{ in, want, err string }{
		{`plain`, "plain", ""},
		{"a\\nb\\r\\t\n", "a\nb\r\t", ""},
		{`\101\0 \x41`, "A\x00 A", ""},
		{`\\ \' \" \q`, `\ ' " \q`, ""},
		{`\x4`, "", "Invalid Python-style string encoding."},
		{`trailing\`, "", "Invalid Python-style string encoding."},
	} {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := loadCell(path, true)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%q: %q, %v; want error %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestGridInvalidRows: an invalid cell is marked (and its error shown) as
// it is set; leaving the grid applies the valid rows and leaves out only
// the invalid ones, as mitmproxy's grid does.
func TestGridInvalidRows(t *testing.T) {
	st := testState(t)
	var applied [][]string
	g := newGrid("Editing request headers", gridHelpText, []string{"Key", "Value"},
		[][]string{{"Host", "example.com"}}, func(st *State, rows [][]string) error { applied = rows; return nil })
	g.check = headerCellError
	g.GridEdit(st, "add")
	g.edit.SetValue("Bad Name")
	g.Update(tea.KeyMsg{Type: tea.KeyEnter}, st)
	if msg, isErr := st.StatusMessage(); !isErr || !strings.Contains(msg, "invalid header name") {
		t.Errorf("status after an invalid name: %q (error %v)", msg, isErr)
	}
	if !strings.Contains(g.View(st, 60, 10), "Bad Name") {
		t.Error("the invalid row is not shown")
	}
	g.GridEdit(st, "add")
	g.edit.SetValue("X-Good")
	g.Update(tea.KeyMsg{Type: tea.KeyEnter}, st)
	g.Leave(st)
	want := [][]string{{"Host", "example.com"}, {"X-Good", ""}}
	if !reflect.DeepEqual(applied, want) {
		t.Errorf("applied %q, want %q", applied, want)
	}
	if msg, _ := st.StatusMessage(); !strings.Contains(msg, "1 invalid row(s) left out") {
		t.Errorf("status after leaving: %q", msg)
	}
	if e := headerCellError([]string{"X", "a\nb"}, 1); e == "" {
		t.Error("a value with a line break passed")
	}
}

// TestGridEditFlow edits an intercepted flow's parts in the grid, as a
// user does: e, the part in the chooser, keys in the grid, q.
func TestGridEditFlow(t *testing.T) {
	tests := []struct {
		part  string
		keys  []string
		check func(f *flow.HTTPFlow) string
		want  string
	}{
		{"request-headers", []string{"a", "X-Grid", "tab", "enter", "yes", "enter", "q"},
			func(f *flow.HTTPFlow) string { return f.Request.Headers.Get("x-grid") }, "yes"},
		{"request-headers", []string{"d", "q"},
			func(f *flow.HTTPFlow) string {
				return f.Request.Headers.Get("host") + "|" + f.Request.Headers.Get("user-agent")
			}, "|curl/8"},
		{"query", []string{"a", "y", "tab", "enter", "2", "enter", "q"},
			func(f *flow.HTTPFlow) string { return f.Request.Path }, "/?y=2"},
		{"urlencoded form", []string{"a", "k", "tab", "enter", "v w", "enter", "q"},
			func(f *flow.HTTPFlow) string { return string(f.Request.RawContent) }, "k=v+w"},
		{"cookies", []string{"a", "sid", "tab", "enter", "1", "enter", "q"},
			func(f *flow.HTTPFlow) string { return f.Request.Headers.Get("cookie") }, "sid=1"},
		{"set-cookies", []string{"a", "sid", "tab", "enter", "1", "enter", "tab", "enter", "Path=/", "enter", "q"},
			func(f *flow.HTTPFlow) string { return f.Response.Headers.Get("set-cookie") }, "sid=1; Path=/"},
		{"response-headers", []string{"a", "X-R", "tab", "enter", "r", "enter", "esc"},
			func(f *flow.HTTPFlow) string { return f.Response.Headers.Get("x-r") }, "r"},
	}
	for _, tt := range tests {
		t.Run(tt.part, func(t *testing.T) {
			c, m := newTestConsole(t, 120, 30)
			m.View.Add(sampleFlows(t)...)
			m.View.FocusIndex(0)
			f := c.st.Focus().(*flow.HTTPFlow)
			f.Intercept()
			m.View.Update([]flow.Any{f})
			press(c, "enter", "e")
			ch, ok := c.app.Top().(*chooser)
			if !ok {
				t.Fatalf("top is %T (%s)", c.app.Top(), statusOf(c))
			}
			for ch.choices[ch.idx] != tt.part {
				press(c, "j")
			}
			press(c, "enter")
			if _, ok := c.app.Top().(*gridEditor); !ok {
				t.Fatalf("top is %T (%s)", c.app.Top(), statusOf(c))
			}
			for _, k := range tt.keys {
				if len(k) > 1 && keyMsg(k).Type == tea.KeyRunes {
					typeText(c, k)
					continue
				}
				press(c, k)
			}
			if _, ok := c.app.Top().(*flowView); !ok {
				t.Errorf("after leaving the grid the top is %T", c.app.Top())
			}
			if got := tt.check(f); got != tt.want {
				t.Errorf("%q, want %q (%s)", got, tt.want, statusOf(c))
			}
			if !f.Modified() {
				t.Error("no backup: V could not revert")
			}
			if !f.IsIntercepted() {
				t.Error("the flow was resumed")
			}
		})
	}
}

// TestGridEditCellInEditor: e edits the focused cell in $EDITOR.
func TestGridEditCellInEditor(t *testing.T) {
	var applied [][]string
	c, g := pushGrid(t, &applied)
	t.Setenv("MITMPROXY_EDITOR", "")
	t.Setenv("EDITOR", "nosuch-editor")
	c.spawn = func(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd {
		err := os.WriteFile(cmd.Args[len(cmd.Args)-1], []byte("edited\n"), 0o644)
		return func() tea.Msg { return done(err) }
	}
	press(c, "j", "l")
	_, cmd := c.app.Update(keyMsg("e"))
	runCmds(c, cmd)
	if got := g.rows[1][1]; got != "edited" {
		t.Errorf("cell %q (%s)", got, statusOf(c))
	}
}

// TestGridEditFlowInProgress: a flow in flight (neither over nor
// intercepted) cannot be edited in the grid.
func TestGridEditFlowInProgress(t *testing.T) {
	c, m := newTestConsole(t, 120, 30)
	f := httpFlow(t, "GET", "http://example.com/slow", 0, "", t0)
	f.SetLive(true)
	m.View.RequestHeaders(f) // as the proxy: the flow is in flight
	m.View.FocusIndex(0)
	if c.st.Focus() == nil {
		t.Fatal("no flow in the view")
	}
	press(c, ":")
	typeText(c, "console.edit.focus request-headers")
	press(c, "enter")
	if _, ok := c.app.Top().(*gridEditor); ok {
		t.Fatal("the grid editor opened on a flow in flight")
	}
	if msg, isErr := c.st.StatusMessage(); !isErr || msg != "Flow is in progress; intercept it to change it." {
		t.Errorf("status %q (error %v)", msg, isErr)
	}
}
