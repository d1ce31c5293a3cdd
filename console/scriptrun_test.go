package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// collect runs cmd (and the commands of a batch) on another goroutine, as
// Bubble Tea does, and sends their messages on the channel it returns.
func collect(cmd tea.Cmd) <-chan tea.Msg {
	out := make(chan tea.Msg, 16)
	var run func(cmd tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		switch m := cmd().(type) {
		case tea.BatchMsg:
			for _, x := range m {
				run(x)
			}
		case nil:
		default:
			out <- m
		}
	}
	go func() {
		run(cmd)
		close(out)
	}()
	return out
}

// TestScriptRunOffUI: `|` runs script.run off the UI goroutine. The
// script's request hook waits for a file the test writes only after it
// has pressed keys: with script.run on the UI goroutine the key press that
// starts it would not return, and the keys after it would wait. The
// flow is the one focused when the command was given; the end is logged.
func TestScriptRunOffUI(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	c, m := newTestConsole(t, 100, 20)
	flows := sampleFlows(t)
	m.View.Add(flows...)
	m.View.FocusIndex(0)
	first, _ := m.View.Focus()

	dir := t.TempDir()
	sig := filepath.Join(dir, "go")
	script := filepath.Join(dir, "slow.py")
	src := "import os, time\n\ndef request(flow):\n" +
		"    while not os.path.exists(" + "'" + sig + "'" + "):\n        time.sleep(0.01)\n" +
		"    flow.request.headers['x-slow'] = 'done'\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// However the test ends, the hook ends.
	t.Cleanup(func() { _ = os.WriteFile(sig, nil, 0o644) })

	press(c, "|")
	typeText(c, script)
	returned := make(chan tea.Cmd, 1)
	go func() { returned <- press(c, "enter") }()
	var cmd tea.Cmd
	testutil.Eventually(t, 10*time.Second, func() bool {
		select {
		case cmd = <-returned:
			return true
		default:
			return false
		}
	}, "the key press that runs script.run waits for the script's hook")
	msgs := collect(cmd)

	// Keys work while the hook waits.
	press(c, "j")
	if got := focusIndex(c); got != 1 {
		t.Errorf("focus after j while the script runs: %d, want 1", got)
	}
	if err := os.WriteFile(sig, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := false
	testutil.Eventually(t, 30*time.Second, func() bool {
		for {
			select {
			case msg, ok := <-msgs:
				if !ok {
					return done
				}
				c.app.Update(msg)
				if _, ok := msg.(execDoneMsg); ok {
					done = true
				}
			default:
				return done
			}
		}
	}, "script.run did not end")
	if got := first.(*flow.HTTPFlow).Request.Headers.Get("x-slow"); got != "done" {
		t.Errorf("the focused flow's x-slow: %q, want done", got)
	}
	var log []string
	for _, e := range c.st.Log.Entries() {
		log = append(log, e.Msg)
	}
	if !strings.Contains(strings.Join(log, "\n"), "finished") {
		t.Errorf("the event log does not say that script.run finished:\n%s", strings.Join(log, "\n"))
	}
}

// TestScriptRunParsedByRegistry: the console parses a script.run line with
// the registry's parser (command.Registry.Parse), so that a line the
// registry rejects fails with the registry's error and runs nothing, and
// one it accepts runs off the UI goroutine.
func TestScriptRunParsedByRegistry(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	m.View.Add(sampleFlows(t)...)
	m.View.FocusIndex(0)
	missing := filepath.Join(t.TempDir(), "missing.py")
	for _, tc := range []struct {
		line  string
		offUI bool
	}{
		{"script.run @focus", false},
		{"script.run ~bad( " + missing, false},
		// A word that is no space to the registry is an argument.
		{"script.run @focus \u00a0 " + missing, false},
		{"script.run @focus " + missing, true},
	} {
		c.st.cmds = nil
		_, err := c.st.Run(tc.line)
		queued := len(c.st.cmds) > 0
		if tc.offUI {
			if err != nil || !queued {
				t.Errorf("Run(%q): %v, queued off the UI %v; want it queued", tc.line, err, queued)
			}
			continue
		}
		_, _, perr := m.Commands.Parse(tc.line)
		if perr == nil || err == nil || err.Error() != perr.Error() || queued {
			t.Errorf("Run(%q): %v (queued %v); want the registry's error %v, nothing queued", tc.line, err, queued, perr)
		}
	}
}
