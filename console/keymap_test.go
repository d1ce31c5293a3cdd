package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultKeymap(t *testing.T) {
	km := DefaultKeymap()
	tests := []struct{ ctx, key, cmd string }{
		{"flowlist", "d", "view.flows.remove @focus"},
		{"flowlist", "m", "flow.mark.toggle @focus"},
		{"flowlist", "j", "console.nav.down"}, // from global
		{"flowview", "m", "console.choose.cmd"},
		{"flowview", "space", "view.focus.next"},
		{"flowlist", "space", "console.nav.pagedown"},
		{"flowlist", "|", "console.command script.run @focus "},
		{"help", "?", "console.view.pop"},
		{"options", "d", "console.options.reset.focus"},
		{"eventlog", "z", `console.command.confirm "Clear event log" eventstore.clear`},
		{"global", "ctrl f", "console.nav.pagedown"},
		{"global", "shift tab", "console.panes.next"},
	}
	for _, tt := range tests {
		b := km.Lookup(tt.ctx, tt.key)
		if b == nil || !strings.HasPrefix(b.Command, tt.cmd) {
			t.Errorf("%s %q: %+v, want %q", tt.ctx, tt.key, b, tt.cmd)
		}
	}
	if b := km.Lookup("eventlog", "m"); b != nil {
		t.Errorf("m in the event log: %+v", b)
	}
	// Bindings of one command in several contexts are one binding.
	if b := km.Get("flowview", "a"); b == nil || strings.Join(b.Contexts, ",") != "flowlist,flowview" {
		t.Errorf("a: %+v", b)
	}
	if n := len(km.List("flowlist")); n < 20 {
		t.Errorf("%d flowlist bindings", n)
	}
}

func TestKeysYAML(t *testing.T) {
	tests := []struct {
		name, yaml string
		err        string // "" for none
		check      func(t *testing.T, km *Keymap)
	}{
		{name: "empty", yaml: ""},
		{name: "comment only", yaml: "# nothing\n"},
		{name: "global by default", yaml: "- key: ctrl x\n  cmd: console.exit\n", check: func(t *testing.T, km *Keymap) {
			if b := km.Lookup("flowlist", "ctrl x"); b == nil || b.Command != "console.exit" {
				t.Errorf("%+v", b)
			}
		}},
		{name: "rebinds in a context", yaml: "- key: d\n  ctx: [flowlist]\n  cmd: flow.mark.toggle @focus\n  help: Mark instead\n", check: func(t *testing.T, km *Keymap) {
			if b := km.Get("flowlist", "d"); b == nil || b.Command != "flow.mark.toggle @focus" || b.Help != "Mark instead" {
				t.Errorf("flowlist: %+v", b)
			}
			if b := km.Get("flowview", "d"); b == nil || b.Command != "view.flows.remove @focus" {
				t.Errorf("flowview keeps its binding: %+v", b)
			}
		}},
		{name: "not a list", yaml: "key: d\ncmd: x\n", err: "expected a list of keys"},
		{name: "syntax error", yaml: "- key: [d\n", err: "key binding config error"},
		{name: "unknown attribute", yaml: "- key: d\n  cmd: x\n  colour: red\n", err: "entry 1: unknown key attributes: colour"},
		{name: "missing cmd", yaml: "- key: d\n", err: "entry 1: missing required key attributes: cmd"},
		{name: "missing both", yaml: "- help: x\n", err: "missing required key attributes: key, cmd"},
		{name: "bad ctx type", yaml: "- key: d\n  cmd: x\n  ctx: flowlist\n", err: `entry 1 (key "d"): invalid type for ctx`},
		{name: "bad context", yaml: "- key: d\n  cmd: x\n  ctx: [nowhere]\n", err: `entry 1 (key "d"): unsupported context: "nowhere"`},
		{name: "empty ctx", yaml: "- key: d\n  cmd: x\n  ctx: []\n", err: "must specify at least one context"},
		{name: "bad key type", yaml: "- key: 5\n  cmd: x\n", err: "entry 1: invalid type for key"},
		{name: "bad cmd type", yaml: "- key: d\n  cmd: [x]\n", err: `invalid type for cmd`},
		{name: "bad help type", yaml: "- key: d\n  cmd: x\n  help: [x]\n", err: `invalid type for help`},
		{name: "entry not a mapping", yaml: "- d\n", err: "entry 1: expected a mapping"},
		{name: "second entry", yaml: "- key: a\n  cmd: x\n- key: b\n", err: "entry 2: missing required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			km := DefaultKeymap()
			err := km.LoadFile(path)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one with %q", err, tt.err)
			case tt.err != "" && !strings.Contains(err.Error(), path):
				t.Errorf("error %q does not name the file", err)
			}
			if tt.check != nil {
				tt.check(t, km)
			}
		})
	}
	if err := DefaultKeymap().LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err != nil {
		t.Errorf("a missing file: %v", err)
	}
}

// TestKeysYAMLInConfdir: the console loads keys.yaml from the confdir when
// the proxy runs, and the binding calls its command.
func TestKeysYAMLInConfdir(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	dir := m.Options.String("confdir")
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("- key: Y\n  ctx: [flowlist]\n  cmd: view.flows.remove @all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadKeys(); err != nil {
		t.Fatal(err)
	}
	m.View.Add(sampleFlows(t)...)
	press(c, "Y")
	if n := m.View.Len(); n != 0 {
		t.Errorf("%d flows left", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("- key: Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadKeys(); err == nil || !strings.Contains(err.Error(), "keys.yaml") {
		t.Errorf("error %v", err)
	}
}

func TestKeyBindCommand(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	if _, err := m.Commands.Execute("console.key.bind flowlist Y console.exit"); err != nil {
		t.Fatal(err)
	}
	if b := c.st.Keymap.Get("flowlist", "Y"); b == nil || b.Command != "console.exit" {
		t.Errorf("%+v", b)
	}
	if _, err := m.Commands.Execute("console.key.unbind flowlist Y"); err != nil {
		t.Fatal(err)
	}
	if b := c.st.Keymap.Get("flowlist", "Y"); b != nil {
		t.Errorf("still bound: %+v", b)
	}
	if _, err := m.Commands.Execute("console.key.bind nowhere Y console.exit"); err == nil {
		t.Error("a bad context was accepted")
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("- key: d\n  cmd: x\n  ctx: [flowlist]\n"))
	f.Add([]byte("[]"))
	f.Add([]byte("- {key: 1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := ParseKeys(data)
		if err != nil {
			return
		}
		km := DefaultKeymap()
		for _, b := range bs {
			if err := km.Add(b.Key, b.Command, b.Contexts, b.Help); err != nil && b.Key != "" && strings.TrimSpace(b.Key) != "" {
				t.Errorf("a parsed binding was refused: %+v: %v", b, err)
			}
		}
	})
}
