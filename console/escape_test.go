package console

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
)

// evilOption declares an option as a script may: control characters in
// its help and in its value.
type evilOption struct{}

func (evilOption) Name() string { return "evil" }

func (evilOption) Load(l *addon.Loader) {
	addon.Declare(l, "aaa_evil", "\x1b[2Jred", "Help \x1b]0;pwned\x07 text.")
}

// TestNoControlCharactersOptionsChooser: option values and help (from
// scripts) and chooser entries (console.choose) are drawn escaped, as flow
// text is; the choice picked is the entry as given.
func TestNoControlCharactersOptionsChooser(t *testing.T) {
	c := New()
	m, err := mitmgo.New(mitmgo.Config{View: true, Addons: []any{c, evilOption{}}, Out: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Attach(m); err != nil {
		t.Fatal(err)
	}
	if err := m.Setup([]string{"confdir=" + t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	c.st.loc = time.UTC
	c.app.Update(tea.WindowSizeMsg{Width: 100, Height: 30})

	noControl := func(what string) {
		t.Helper()
		if s := screen(c); strings.ContainsAny(s, "\x1b\x07") {
			t.Errorf("%s: a control character on screen:\n%q", what, s)
		}
	}
	press(c, "O")
	o, ok := c.app.Top().(*optionsScreen)
	if !ok {
		t.Fatalf("top is %T", c.app.Top())
	}
	focusOption(t, c.st, o, "aaa_evil")
	s := screen(c)
	if !strings.Contains(s, `\x1b[2Jred`) || !strings.Contains(s, `\x1b]0;pwned\x07`) {
		t.Errorf("the value and help are not shown escaped:\n%s", s)
	}
	noControl("options")
	press(c, "q")

	if _, err := m.Commands.Call("console.choose", "Pick \x1b[5m", []string{"one\x1b[31m", "two"}, "commands.history.add", "{choice}"); err != nil {
		t.Fatal(err)
	}
	c.app.Update(refreshMsg{})
	if _, ok := c.app.Top().(*chooser); !ok {
		t.Fatalf("top is %T", c.app.Top())
	}
	noControl("chooser")
	press(c, "enter")
	if h := c.app.cmdHistory.all(); len(h) == 0 || h[len(h)-1] != "one\x1b[31m" {
		t.Errorf("the choice picked: %q", h)
	}
}
