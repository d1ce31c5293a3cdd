package script_test

import (
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/emoji"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestScriptUsesView: with a view (mitmweb, the console), a script's
// command makes flows with view.flows.create, reads them back through
// ctx.master.view and marks them with flow.mark (mitmproxy's all_markers
// example); a hook finds "view" among the addons and duplicates a flow
// into it (duplicate-modify-replay).
func TestScriptUsesView(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	m, err := mitmgo.New(mitmgo.Config{View: true, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := filepath.Abs(filepath.Join("testdata", "view_markers.py"))
	if err := m.Set("scripts="+s, "confdir="+t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := m.Configure(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Addons.Done() })
	if _, err := m.Commands.Call("all.markers"); err != nil {
		t.Fatal(err)
	}
	names := emoji.Names()
	if n := m.View.Len(); n != 30 {
		t.Fatalf("the view has %d flows, want 30", n)
	}
	marked := 0
	for i := 0; i < m.View.Len(); i++ {
		f := m.View.At(i).(*flow.HTTPFlow)
		if mk := f.Marked(); mk != "" && strings.HasSuffix(f.Request.Path, mk) {
			marked++
		}
	}
	if marked != 30 {
		t.Errorf("%d of 30 flows marked with the marker their path names (markers %v...)", marked, names[:3])
	}

	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 5}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	f := flow.NewHTTPFlow(c, nil)
	f.Request, _ = flow.NewRequest("GET", "http://example.com/dup", nil, flow.NewHeaders("Host", "example.com"))
	m.Addons.Request(f)
	testutil.Eventually(t, 5*time.Second, func() bool { return m.View.StoreLen() == 31 }, "the duplicate in the view")
}
