package cli_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestChainOrder checks mitmproxy's addon order end to end: block_list acts
// before scripts, a script's change is visible to modify_headers and to the
// saved flow file.
func TestChainOrder(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-By-Origin", r.Header.Get("X-Added"))
		w.Write([]byte("origin body"))
	}))
	dir := t.TempDir()
	script := filepath.Join(dir, "order.py")
	os.WriteFile(script, []byte(`
from mitmproxy import ctx

def requestheaders(flow):
    flow.request.headers["X-Script"] = "1"

def request(flow):
    if flow.response is not None:
        ctx.log.info("script sees blocked response %d" % flow.response.status_code)

def response(flow):
    if flow.response.status_code == 200:
        flow.response.text = "changed by script"
`), 0o644)
	out := filepath.Join(dir, "out.mitm")
	md := testutil.StartMitmdump(t, "-s", script, "-w", out,
		"--set", "block_list=/~u blocked/403",
		"-H", "/~hq X-Script/X-Added/yes")
	c := md.Client()
	resp, err := c.Get(origin.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "changed by script" {
		t.Errorf("body %q", body)
	}
	if got := resp.Header.Get("X-Seen-By-Origin"); got != "yes" {
		t.Errorf("modify_headers did not see the script's header: %q", got)
	}
	resp, err = c.Get(origin.URL + "/blocked")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("blocked: status %d", resp.StatusCode)
	}
	md.WaitOutput(t, "script sees blocked response 403", 10*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	saved, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), "changed by script") {
		t.Error("the saved flow lacks the script's change")
	}
}
