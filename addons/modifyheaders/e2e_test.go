package modifyheaders_test

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

// TestEndToEnd runs mitmdump with -H between a client and an origin on
// 127.0.0.1.
func TestEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "origin")
		w.Header().Set("X-Resp", "original")
		_, _ = io.WriteString(w, strings.Join(r.Header.Values("X-Req"), ",")+"|"+r.Header.Get("User-Agent"))
	}))
	value := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(value, []byte("from-file"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := testutil.StartMitmdump(t,
		"-H", "/~q/X-Req/one",
		"-H", "/~q/X-Req/two",
		"-H", "/~q/User-Agent/",
		"-H", "/~s/Server/",
		"--modify-headers", "|~s|X-Resp|@"+value,
	)
	req, err := http.NewRequest("GET", origin.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Req", "client")
	req.Header.Set("User-Agent", "test-agent")
	resp, err := md.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "one,two|" {
		t.Errorf("origin saw %q, want X-Req one,two and no User-Agent", body)
	}
	if resp.Header.Get("Server") != "" {
		t.Errorf("Server header not removed: %q", resp.Header.Get("Server"))
	}
	if got := resp.Header.Values("X-Resp"); len(got) != 1 || got[0] != "from-file" {
		t.Errorf("X-Resp = %q", got)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestEndToEndBadRule: bad rules stop mitmdump at start-up with an error
// naming the option.
func TestEndToEndBadRule(t *testing.T) {
	for _, rule := range []string{"/", "/~b/a/b", `/X/a\r\nInjected: 1`, "|X|@" + filepath.Join(t.TempDir(), "missing")} {
		md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-H", rule)
		if code := md.Wait(t, 30*time.Second); code == 0 {
			t.Fatalf("mitmdump accepted -H %q", rule)
		}
		if out := md.Output(); !strings.Contains(out, "modify_headers") {
			t.Errorf("-H %q: output does not name the option:\n%s", rule, out)
		}
	}
}
