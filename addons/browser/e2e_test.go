package browser_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestScriptStartsBrowser: a script that starts the browser when the proxy
// runs (as mitmproxy's httpdump example does) gets mitmproxy's alert where
// no browser is installed, and the proxy serves on. PATH is emptied so
// that no browser is found, whatever the machine has.
func TestScriptStartsBrowser(t *testing.T) {
	// The interpreter itself, not a wrapper (pyenv's shims need PATH).
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 is not installed")
	}
	python := strings.TrimSpace(string(out))
	dir := t.TempDir()
	script := filepath.Join(dir, "start_browser.py")
	if err := os.WriteFile(script, []byte("from mitmproxy import ctx\n\n\ndef running():\n    ctx.master.commands.call(\"browser.start\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	md := testutil.StartMitmdumpWith(t, testutil.Options{Env: []string{"PATH=" + t.TempDir()}},
		"-s", script, "--set", "python="+python)
	md.WaitOutput(t, "Your platform is not supported yet - please submit a patch.", 10*time.Second)
	resp, err := md.Client().Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
