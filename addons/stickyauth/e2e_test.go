package stickyauth_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs mitmdump with --stickyauth: the Authorization header
// one client sent is added to another client's requests to that host.
func TestEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Authorization"))
	}))
	md := testutil.StartMitmdump(t, "--stickyauth", ".")
	get := func(auth string) string {
		t.Helper()
		req, err := http.NewRequest("GET", origin.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := md.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(""); got != "" {
		t.Errorf("before: %q", got)
	}
	if got := get("Basic dXNlcjpwYXNz"); got != "Basic dXNlcjpwYXNz" {
		t.Errorf("own header: %q", got)
	}
	if got := get(""); got != "Basic dXNlcjpwYXNz" {
		t.Errorf("sticky: %q", got)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

func TestEndToEndBadFilter(t *testing.T) {
	md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--stickyauth", "~q ~b")
	if code := md.Wait(t, 30*time.Second); code == 0 {
		t.Fatal("mitmdump accepted a bad filter")
	}
	if out := md.Output(); !strings.Contains(out, "stickyauth") {
		t.Errorf("output does not name the option:\n%s", out)
	}
}
