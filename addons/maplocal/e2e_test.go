package maplocal_test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs mitmdump with --map-local between a client and an
// origin on 127.0.0.1: mapped URLs are answered from a directory, files
// outside it are never served.
func TestEndToEnd(t *testing.T) {
	base := t.TempDir()
	www := filepath.Join(base, "www")
	for name, content := range map[string]string{
		"secret.txt":         "SECRET",
		"www/index.html":     "<h1>index</h1>",
		"www/app.js":         "console.log(1)",
		"www/sub/index.html": "<h1>sub</h1>",
	} {
		p := filepath.Join(base, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../secret.txt", filepath.Join(www, "link")); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "from origin")
	}))
	host := strings.TrimPrefix(origin.URL, "http://")
	md := testutil.StartMitmdump(t, "--map-local", "|"+host+"/static|"+www)

	// Each request goes over its own connection as raw bytes, so that the
	// path reaches the proxy exactly as written.
	get := func(path string) (status int, ctype, body string) {
		t.Helper()
		c := md.Dial(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET http://"+host+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}

	tests := []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/static/", 200, "text/html", "<h1>index</h1>"},
		{"/static/app.js?v=2", 200, "text/javascript", "console.log(1)"},
		{"/static/sub", 200, "text/html", "<h1>sub</h1>"},
		{"/static/missing.css", 404, "", ""},
		{"/static/link", 404, "", ""},
		{"/elsewhere", 200, "text/plain; charset=utf-8", "from origin"},
		// Attempts to leave the directory are not answered locally; as in
		// mitmproxy they go on to the origin.
		{"/static/../secret.txt", 200, "text/plain; charset=utf-8", "from origin"},
		{"/static/%2e%2e/secret.txt", 200, "text/plain; charset=utf-8", "from origin"},
		{"/static/..%2fsecret.txt", 200, "text/plain; charset=utf-8", "from origin"},
		{"/static/%2e%2e%2fsecret.txt", 200, "text/plain; charset=utf-8", "from origin"},
	}
	for _, tt := range tests {
		status, ctype, body := get(tt.path)
		if strings.Contains(body, "SECRET") {
			t.Fatalf("GET %s served a file outside the mapped directory", tt.path)
		}
		if status != tt.status || body != tt.body || (tt.ctype != "" && !strings.HasPrefix(ctype, tt.ctype)) {
			t.Errorf("GET %s: %d %q %q, want %d %q %q", tt.path, status, ctype, body, tt.status, tt.ctype, tt.body)
		}
	}
	if n := hits.Load(); n != 5 {
		t.Errorf("origin saw %d requests, want 5", n)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestEndToEndBadRule: a rule whose path does not exist stops mitmdump at
// start-up with an error naming the option and the path.
func TestEndToEndBadRule(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--map-local", "|example.com|"+missing)
	if code := md.Wait(t, 30*time.Second); code == 0 {
		t.Fatal("mitmdump accepted a missing path")
	}
	if out := md.Output(); !strings.Contains(out, "map_local") || !strings.Contains(out, missing) {
		t.Errorf("output does not explain the bad rule:\n%s", out)
	}
}
