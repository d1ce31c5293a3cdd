package script_test

import (
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
)

// TestScriptMarksWhileUIMarks: a script marks and comments flows in their
// request hook (the change lands on the proxy's goroutine) while a UI's
// commands mark, toggle and comment the same in-flight flows, whose
// update the view files under its lock from the UI's goroutine. Run with
// -race: the marker and comment are read and written from both sides.
func TestScriptMarksWhileUIMarks(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	m, err := mitmgo.New(mitmgo.Config{View: true, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := filepath.Abs(filepath.Join("testdata", "mark_comment.py"))
	if err := m.Set("scripts="+s, "confdir="+t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := m.Configure(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Addons.Done() })

	const n = 40
	flows := make([]*flow.HTTPFlow, n)
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 5}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	for i := range flows {
		f := flow.NewHTTPFlow(c, nil)
		f.Request, _ = flow.NewRequest("GET", "http://example.com/"+string(rune('a'+i%26)), nil, flow.NewHeaders("Host", "example.com"))
		m.Addons.RequestHeaders(f) // in the view, in flight
		flows[i] = f
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the proxy: each flow's request hook runs the script
		defer wg.Done()
		for _, f := range flows {
			m.Addons.Request(f)
		}
	}()
	for _, f := range flows { // the UI, meanwhile
		for _, cmd := range []struct {
			name string
			args []any
		}{
			{"flow.mark", []any{[]flow.Any{f}, ":heart:"}},
			{"flow.mark.toggle", []any{[]flow.Any{f}}},
			{"flow.comment", []any{f, "from the UI"}},
		} {
			if _, err := m.Commands.Call(cmd.name, cmd.args...); err != nil {
				t.Fatalf("%s: %v", cmd.name, err)
			}
		}
	}
	wg.Wait()
	// Either side may have written last; each flow holds one side's values
	// whole.
	for _, f := range flows {
		if mk := f.Marked(); mk != ":script:" && mk != ":heart:" && mk != "" && mk != ":default:" {
			t.Errorf("flow %s: marker %q", f.Request.Path, mk)
		}
		if c := f.Comment(); c != "from the UI" && c != "from the script "+f.Request.Path {
			t.Errorf("flow %s: comment %q", f.Request.Path, c)
		}
	}
}
