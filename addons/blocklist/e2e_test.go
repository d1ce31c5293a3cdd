package blocklist_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestEndToEnd runs the real mitmdump with block_list rules between a
// client and an origin on 127.0.0.1.
func TestEndToEnd(t *testing.T) {
	var hits atomic.Int32
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "from origin")
	}))
	md := testutil.StartMitmdump(t,
		"--set", "block_list=/~u blocked/404",
		"--set", "block_list=|~u killed|444",
		"--set", "block_list=!~u teapot & ~m get!418",
	)
	client := md.Client()

	get := func(path string) (*http.Response, string, error) {
		resp, err := client.Get(origin.URL + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, string(body), err
	}

	resp, body, err := get("/ok")
	if err != nil || resp.StatusCode != 200 || body != "from origin" {
		t.Fatalf("unblocked request: %v %v %q", err, resp, body)
	}
	resp, body, err = get("/blocked/page")
	if err != nil || resp.StatusCode != 404 || body != "" || resp.Header.Get("Server") != "mitmgo" {
		t.Fatalf("blocked request: %v %v %q", err, resp, body)
	}
	resp, _, err = get("/teapot")
	if err != nil || resp.StatusCode != 418 {
		t.Fatalf("teapot: %v %v", err, resp)
	}
	if _, _, err := get("/killed"); err == nil {
		t.Fatal("a 444 rule answered instead of closing the connection")
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("origin saw %d requests, want only the unblocked one", n)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestEndToEndBadRule: a bad rule stops mitmdump at start-up with an error
// naming the option.
func TestEndToEndBadRule(t *testing.T) {
	md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--set", "block_list=/~h [/404")
	if code := md.Wait(t, 30e9); code == 0 {
		t.Fatal("mitmdump accepted a bad block_list rule")
	}
	if out := md.Output(); !strings.Contains(out, "block_list") || !strings.Contains(out, "Invalid filter expression") {
		t.Errorf("output does not explain the bad rule:\n%s", out)
	}
}
