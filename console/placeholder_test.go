package console

import (
	"os"
	"os/exec"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/flow"
)

// TestPlaceholderResponseReverts: editing the response of a flow that has
// none makes an empty one (as mitmproxy does), backed up first: flow.revert
// takes it away again, whether the edit changed it ($EDITOR) or not (the
// grid left as it was).
func TestPlaceholderResponseReverts(t *testing.T) {
	for _, part := range []string{"response-body", "response-headers", "set-cookies"} {
		t.Run(part, func(t *testing.T) {
			c, m := newTestConsole(t, 120, 30)
			f := httpFlow(t, "GET", "http://example.com/none", 0, "", t0)
			m.View.Add(f)
			m.View.FocusIndex(0)
			t.Setenv("MITMPROXY_EDITOR", "")
			t.Setenv("EDITOR", "nosuch-editor")
			c.spawn = func(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd {
				err := os.WriteFile(cmd.Args[len(cmd.Args)-1], []byte("edited"), 0o600)
				return func() tea.Msg { return done(err) }
			}
			if _, err := m.Commands.Call("console.edit.focus", part); err != nil {
				t.Fatal(err)
			}
			runCmds(c, func() tea.Msg { return refreshMsg{} })
			if _, ok := c.app.Top().(*gridEditor); ok {
				press(c, "q")
			}
			if f.Response == nil {
				t.Fatal("no placeholder response")
			}
			if _, err := m.Commands.Call("flow.revert", []flow.Any{f}); err != nil {
				t.Fatal(err)
			}
			if f.Response != nil {
				t.Errorf("flow.revert left the placeholder response: %d %q", f.Response.StatusCode, f.Response.RawContent)
			}
		})
	}
}
