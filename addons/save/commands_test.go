package save

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
)

func TestSaveFileCommand(t *testing.T) {
	_, m, lg := setup(t)
	mk := func(path string) *flow.HTTPFlow {
		req, _ := flow.NewRequest("GET", "http://example.com"+path, nil, nil)
		f := flow.NewHTTPFlow(nil, nil)
		f.Request = req
		f.SetLive(false)
		return f
	}
	path := filepath.Join(t.TempDir(), "flows")
	if _, err := m.Commands().Call("save.file", []flow.Any{mk("/a"), mk("/b")}, path); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Commands().Call("save.file", []flow.Any{mk("/c")}, "+"+path); err != nil {
		t.Fatal(err)
	}
	flows, err := readfile.ReadFlows([]string{path})
	if err != nil || len(flows) != 3 || flows[2].(*flow.HTTPFlow).Request.Path != "/c" {
		t.Errorf("read back %d flows: %v", len(flows), err)
	}
	if !strings.Contains(lg.String(), "alert: Saved 1 flows.") {
		t.Error("no alert")
	}
	if _, err := m.Commands().Call("save.file", []flow.Any{mk("/d")}, filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("an unwritable path was accepted")
	}
}
