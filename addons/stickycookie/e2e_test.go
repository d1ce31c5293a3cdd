package stickycookie_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs mitmdump with --stickycookie: a cookie one client
// receives is sent by another client that never saw it.
func TestEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "gone", Value: "x", Path: "/", MaxAge: -1})
		default:
			_, _ = io.WriteString(w, r.Header.Get("Cookie"))
		}
	}))
	md := testutil.StartMitmdump(t, "--stickycookie", "~u profile")
	get := func(path string) string {
		t.Helper()
		// A fresh client each time: no cookie jar, no shared connection.
		resp, err := md.Client().Get(origin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/profile"); got != "" {
		t.Errorf("before login: cookie %q", got)
	}
	get("/login")
	if got := get("/profile"); got != "session=abc" {
		t.Errorf("after login: cookie %q, want session=abc", got)
	}
	if got := get("/other"); got != "" {
		t.Errorf("request outside the filter got cookie %q", got)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

func TestEndToEndBadFilter(t *testing.T) {
	md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--stickycookie", "~b")
	if code := md.Wait(t, 30*time.Second); code == 0 {
		t.Fatal("mitmdump accepted a bad filter")
	}
	if out := md.Output(); !strings.Contains(out, "stickycookie") || !strings.Contains(out, "Invalid filter expression") {
		t.Errorf("output does not explain the bad filter:\n%s", out)
	}
}
