package modifybody_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs mitmdump with -B between a client and an origin on
// 127.0.0.1: request bodies are rewritten before the origin sees them,
// response bodies (also gzip-encoded ones) before the client does.
func TestEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/gzip" {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write([]byte("hello world"))
			_ = zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(b.Bytes())
			return
		}
		_, _ = io.WriteString(w, "origin got: "+string(body))
	}))
	repl := filepath.Join(t.TempDir(), "replacement")
	if err := os.WriteFile(repl, []byte("from a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := testutil.StartMitmdump(t,
		"-B", "/~q/foo/bar",
		"-B", `/~s/(origin) got/\\1 saw`,
		"-B", "/~s & ~u gzip/world/mitmgo",
		"--modify-body", "|~q & ~u file|.*|@"+repl,
	)
	client := md.Client()
	do := func(path, body string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Post(origin.URL+path, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, got := do("/echo", "foo and foo"); got != "origin saw: bar and bar" {
		t.Errorf("echo: %q", got)
	}
	if _, got := do("/file", "anything"); got != "origin saw: from a file" {
		t.Errorf("file replacement: %q", got)
	}
	resp, got := do("/gzip", "")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != "hello mitmgo" {
		t.Errorf("gzip body = %q", plain)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestEndToEndBadRule: bad rules stop mitmdump at start-up with an error
// naming the option.
func TestEndToEndBadRule(t *testing.T) {
	for _, rule := range []string{"/foo/+/x", "|x|@" + filepath.Join(t.TempDir(), "missing"), `/a/\\q`} {
		md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-B", rule)
		if code := md.Wait(t, 30*time.Second); code == 0 {
			t.Fatalf("mitmdump accepted -B %q", rule)
		}
		if out := md.Output(); !strings.Contains(out, "modify_body") {
			t.Errorf("-B %q: output does not name the option:\n%s", rule, out)
		}
	}
}
