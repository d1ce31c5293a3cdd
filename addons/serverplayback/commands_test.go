package serverplayback

import (
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/flow"
)

func TestCommands(t *testing.T) {
	s, m := setup(t)
	a := recorded(t, "a", "GET", "http://example.com/a", "")
	b := recorded(t, "b", "GET", "http://example.com/b", "")
	reg := m.Commands()
	call := func(name string, args ...any) any {
		t.Helper()
		v, err := reg.Call(name, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	call("replay.server", []flow.Any{a})
	call("replay.server.add", []flow.Any{b})
	if n := call("replay.server.count"); n != 2 {
		t.Errorf("count %v", n)
	}
	if got := answer(s, req(t, "GET", "http://example.com/b", "")); got != "b" {
		t.Errorf("replayed %q", got)
	}
	call("replay.server", []flow.Any{a}) // replaces
	if n := call("replay.server.count"); n != 1 {
		t.Errorf("count after replay.server %v", n)
	}
	call("replay.server.stop")
	if n := call("replay.server.count"); n != 0 {
		t.Errorf("count after stop %v", n)
	}
	path := filepath.Join(t.TempDir(), "flows")
	if err := save.New().SaveFlows(path, a, b); err != nil {
		t.Fatal(err)
	}
	call("replay.server.file", path)
	if n := call("replay.server.count"); n != 2 {
		t.Errorf("count after replay.server.file %v", n)
	}
	if _, err := reg.Call("replay.server.file", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file was accepted")
	}
}
