package mapremote_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs mitmdump with -M between a client and two origins on
// 127.0.0.1: requests for the first origin are sent to the second.
func TestEndToEnd(t *testing.T) {
	var hitsA atomic.Int32
	a := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsA.Add(1)
		_, _ = io.WriteString(w, "from A")
	}))
	b := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "from B "+r.Host+" "+r.URL.RequestURI())
	}))
	hostA := strings.TrimPrefix(a.URL, "http://")
	hostB := strings.TrimPrefix(b.URL, "http://")
	md := testutil.StartMitmdump(t,
		"-M", "|"+hostA+"/old/|"+hostB+"/new/",
		"--map-remote", `|~u /keep|/keep\?q=(\w+)|/kept/\1`,
	)
	client := md.Client()
	get := func(url string) string {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if got, want := get(a.URL+"/old/page?x=1"), "from B "+hostB+" /new/page?x=1"; got != want {
		t.Errorf("mapped request: got %q, want %q", got, want)
	}
	if got := get(a.URL + "/other"); got != "from A" {
		t.Errorf("unmapped request: got %q", got)
	}
	if got, want := get(b.URL+"/keep?q=abc"), "from B "+hostB+" /kept/abc"; got != want {
		t.Errorf("group reference: got %q, want %q", got, want)
	}
	if n := hitsA.Load(); n != 1 {
		t.Errorf("origin A saw %d requests, want 1", n)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestEndToEndBadRule: a bad rule stops mitmdump at start-up with an error
// naming the option.
func TestEndToEndBadRule(t *testing.T) {
	for _, rule := range []string{"/foo/+/x", "/", "/~nonsense/a/b", `/(a)/\2`} {
		md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-M", rule)
		if code := md.Wait(t, 30*time.Second); code == 0 {
			t.Fatalf("mitmdump accepted -M %q", rule)
		}
		if out := md.Output(); !strings.Contains(out, "map_remote") {
			t.Errorf("-M %q: output does not name the option:\n%s", rule, out)
		}
	}
}
