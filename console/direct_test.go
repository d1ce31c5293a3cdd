package console

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestCommandsReturnTheirResult: with the UI running (its actions wait for
// its goroutine), console.key.bind returns the bind's error and
// commands.history.get what was added just before, and both may run on
// other goroutines while keys are pressed (the race detector checks).
func TestCommandsReturnTheirResult(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	c.started.Store(true) // as when the program runs: actions wait for Update
	defer c.started.Store(false)
	r := m.Commands
	if _, err := r.Call("console.key.bind", []string{"nosuchcontext"}, "z", "console.exit"); err == nil {
		t.Error("console.key.bind in an unknown context: no error")
	}
	if _, err := r.Call("console.key.bind", []string{"flowlist"}, "z", "console.exit"); err != nil {
		t.Fatal(err)
	}
	if b := c.st.Keymap.Get("flowlist", "z"); b == nil || b.Command != "console.exit" {
		t.Errorf("z after console.key.bind: %+v", b)
	}
	if _, err := r.Call("commands.history.add", "view.focus.next"); err != nil {
		t.Fatal(err)
	}
	v, err := r.Call("commands.history.get")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := v.([]string); !slices.Contains(h, "view.focus.next") {
		t.Errorf("commands.history.get after add: %q", h)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			_, _ = r.Call("console.key.bind", []string{"flowlist", "flowview"}, "Z", "console.view.help")
			_, _ = r.Call("console.key.unbind", []string{"flowview"}, "Z")
			_, _ = r.Call("commands.history.add", "set x")
			_, _ = r.Call("commands.history.get")
		}
	}()
	for range 50 {
		press(c, "Z", "q")
		press(c, ":", "up", "esc")
		_ = screen(c)
	}
	wg.Wait()
}

// TestKeymapLoad: console.keymap.load applies a keys.yaml file (mitmproxy
// 12's command); a bad file is the command's error, a missing one nothing.
func TestKeymapLoad(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("- key: ctrl x\n  cmd: console.view.help\n  ctx: [flowlist]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("- key: x\n  ctx: [nowhere]\n  cmd: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		err  string
	}{
		{good, ""},
		{filepath.Join(dir, "missing.yaml"), ""},
		{bad, "Could not load key bindings - "},
	} {
		_, err := m.Commands.Call("console.keymap.load", tc.path)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.path, err, tc.err)
		}
	}
	if b := c.st.Keymap.Get("flowlist", "ctrl x"); b == nil || b.Command != "console.view.help" {
		t.Errorf("ctrl x after console.keymap.load: %+v", b)
	}
}
