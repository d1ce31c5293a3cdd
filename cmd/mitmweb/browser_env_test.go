package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// webEnv is a mitmweb running in process (run) for the browser tests, with
// an origin on 127.0.0.1 that records what it receives and a client whose
// requests go through the proxy.
type webEnv struct {
	out testutil.SyncBuffer
	// URL is the start-up URL with the token; Base the server's root
	// ("http://127.0.0.1:PORT"); Token the token.
	URL, Base, Token string
	// Proxied sends its requests through mitmweb's proxy.
	Proxied *http.Client
	Origin  *recordingOrigin
}

// startWeb starts mitmweb with the test's arguments after the usual ones
// (loopback, ports 0, a temporary confdir, no browser opened) and stops it
// with a signal at the end of the test, which must exit with 0.
func startWeb(t *testing.T, args ...string) *webEnv {
	t.Helper()
	e := &webEnv{Origin: newRecordingOrigin(t)}
	sig := make(chan os.Signal, 1)
	done := make(chan int, 1)
	all := append([]string{"--listen-host", "127.0.0.1", "-p", "0", "--web-port", "0", "--web-host", "127.0.0.1",
		"--no-web-open-browser", "--set", "confdir=" + t.TempDir()}, args...)
	go func() {
		done <- run(all, cli.Env{Stdin: strings.NewReader(""), Stdout: &e.out, Stderr: &e.out, Signals: sig})
	}()
	t.Cleanup(func() {
		sig <- os.Interrupt
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("mitmweb exited with %d:\n%s", code, e.out.String())
			}
		case <-time.After(wait):
			t.Errorf("mitmweb did not stop:\n%s", e.out.String())
		}
	})
	webRe := regexp.MustCompile(`Web server listening at (http://(127\.0\.0\.1:\d+)/\?token=([0-9a-f]{32}))`)
	proxyRe := regexp.MustCompile(`HTTP\(S\) proxy listening at \*?:?([0-9.]*):?(\d+)\.`)
	testutil.Eventually(t, wait, func() bool {
		return webRe.MatchString(e.out.String()) && proxyRe.MatchString(e.out.String())
	}, "start lines in %q", e.out.String())
	m := webRe.FindStringSubmatch(e.out.String())
	e.URL, e.Base, e.Token = m[1], "http://"+m[2], m[3]
	port := proxyRe.FindStringSubmatch(e.out.String())[2]
	e.Proxied = &http.Client{Timeout: wait, Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:" + port}),
	}}
	t.Cleanup(e.Proxied.CloseIdleConnections)
	return e
}

// Output is mitmweb's output so far.
func (e *webEnv) Output() string { return e.out.String() }

// API sends a request to the web server's API with the token and returns
// the status and body.
func (e *webEnv) API(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.Base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Options is GET /options: each option's value.
func (e *webEnv) Options(t testing.TB) map[string]any {
	t.Helper()
	code, b := e.API(t, "GET", "/options", nil)
	var opts map[string]struct {
		Value any `json:"value"`
	}
	if code != 200 || json.Unmarshal(b, &opts) != nil {
		t.Fatalf("GET /options: %d %.200s", code, b)
	}
	vals := make(map[string]any, len(opts))
	for k, v := range opts {
		vals[k] = v.Value
	}
	return vals
}

// Flows is GET /flows, decoded.
func (e *webEnv) Flows(t testing.TB) []map[string]any {
	t.Helper()
	code, b := e.API(t, "GET", "/flows", nil)
	var flows []map[string]any
	if code != 200 || json.Unmarshal(b, &flows) != nil {
		t.Fatalf("GET /flows: %d %.200s", code, b)
	}
	return flows
}

// FlowID is the id of the (first) flow whose request path is path.
func (e *webEnv) FlowID(t testing.TB, path string) string {
	t.Helper()
	var id string
	testutil.Eventually(t, wait, func() bool {
		for _, f := range e.Flows(t) {
			if req, _ := f["request"].(map[string]any); req != nil && req["path"] == path {
				id, _ = f["id"].(string)
				return true
			}
		}
		return false
	}, "no flow for %s in /flows", path)
	return id
}

// Get sends GET origin+path through the proxy and returns the body.
func (e *webEnv) Get(t testing.TB, path string) string {
	t.Helper()
	resp, err := e.Proxied.Get(e.Origin.URL + path)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s through the proxy: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}

// recordingOrigin answers every request with 200 "origin saw <path>" and
// keeps the requests it received.
type recordingOrigin struct {
	URL  string
	mu   sync.Mutex
	seen []*http.Request
}

func newRecordingOrigin(t *testing.T) *recordingOrigin {
	o := &recordingOrigin{}
	s := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		o.mu.Lock()
		o.seen = append(o.seen, r.Clone(r.Context()))
		o.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Origin", "recording")
		_, _ = io.WriteString(w, "origin saw "+r.URL.Path)
	}))
	o.URL = s.URL
	return o
}

// Requests are the requests received for path.
func (o *recordingOrigin) Requests(path string) []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	var rs []*http.Request
	for _, r := range o.seen {
		if r.URL.Path == path {
			rs = append(rs, r)
		}
	}
	return rs
}

var (
	bundleOnce sync.Once
	bundle     string
)

// needUI skips the test when the front end mitmweb embeds (web/static, as
// built from web/ui) has none of the data-testid values the test needs:
// the front end is being written, and a test of a part that does not exist
// yet says which part is missing instead of failing. A part that exists
// but does not work fails as usual.
func needUI(t *testing.T, testids ...string) {
	t.Helper()
	bundleOnce.Do(func() {
		var b strings.Builder
		root := filepath.Join(testutil.RepoRoot(), "web", "static")
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".html")) {
				data, _ := os.ReadFile(path)
				b.Write(data)
			}
			return nil
		})
		bundle = b.String()
	})
	var missing []string
	// An id is in the bundle as it is, or made of a prefix and a name
	// (data-testid={"menu-" + t}, {`tab-${t.id}`} with t.id "request"; the
	// minifier writes strings with any of three quotes).
	has := func(id string) bool {
		if strings.Contains(bundle, id) {
			return true
		}
		i := strings.Index(id, "-")
		if i <= 0 || !strings.Contains(bundle, id[:i+1]) {
			return false
		}
		for _, q := range []string{`"`, `'`, "`"} {
			if strings.Contains(bundle, q+id[i+1:]+q) {
				return true
			}
		}
		return false
	}
	for _, id := range testids {
		if !has(id) {
			missing = append(missing, "data-testid="+id)
		}
	}
	if len(missing) > 0 {
		t.Skipf("front end lacks %s (web/static, built from web/ui)", strings.Join(missing, ", "))
	}
}

// tid is the CSS selector of a data-testid.
func tid(id string) string { return `[data-testid="` + id + `"]` }
