package script

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

func TestSeedAddHeader(t *testing.T) {
	for _, script := range []string{"seed/add_header.py", "seed/classes.py"} {
		t.Run(script, func(t *testing.T) {
			e := newEnv(t, Config{}, nil, script)
			f := newFlow(t, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
			e.m.Response(f)
			if got := f.Response.Headers.Get("newheader"); got != "foo" {
				t.Fatalf("newheader = %q, want foo; headers:\n%s", got, f.Response.Headers)
			}
			// Nothing else changed.
			if f.Response.Headers.Get("content-type") != "text/html" || string(f.Response.RawContent) != "hello" {
				t.Fatalf("response changed beyond the header: %s %q", f.Response.Headers, f.Response.RawContent)
			}
		})
	}
}

func TestSeedArguments(t *testing.T) {
	e := newEnv(t, Config{}, nil, "seed/arguments.py html faketml")
	f := newFlow(t, "GET", "http://example.com/", 200, "<html><body>html page</body></html>",
		"Content-Type", "text/html")
	e.m.Response(f)
	if got, want := string(f.Response.RawContent), "<faketml><body>faketml page</body></faketml>"; got != want {
		t.Fatalf("body = %q, want %q", got, want)
	}
	// 0.18's replace() covers the headers too.
	if got := f.Response.Headers.Get("content-type"); got != "text/faketml" {
		t.Fatalf("content-type = %q", got)
	}
	if got := f.Response.Headers.Get("content-length"); got != "44" {
		t.Fatalf("content-length = %q", got)
	}
}

func TestSeedArgumentsGzip(t *testing.T) {
	e := newEnv(t, Config{}, nil, "seed/arguments.py html faketml")
	body := "<html>gzipped html</html>"
	f := newFlow(t, "GET", "http://example.com/", 200, "", "Content-Type", "text/html", "Content-Encoding", "gzip")
	f.Response.SetContent([]byte(body))
	e.m.Response(f)
	got, err := f.Response.Content()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "<faketml>gzipped faketml</faketml>" {
		t.Fatalf("decoded body = %q", got)
	}
	if f.Response.Headers.Get("content-encoding") != "gzip" {
		t.Fatalf("content-encoding dropped: %s", f.Response.Headers)
	}
}

func TestSeedArgumentsMissing(t *testing.T) {
	// argparse exits when its arguments are missing: a load failure,
	// logged at error level (fatal at start-up), with argparse's usage.
	e := newEnv(t, Config{}, nil, "seed/arguments.py")
	e.log.wait(t, "Script exited with code 2", 5*time.Second)
	if errs := e.a.Errors(); len(errs) != 1 {
		t.Fatalf("Errors() = %v", errs)
	}
	f := newFlow(t, "GET", "http://example.com/", 200, "html")
	e.m.Response(f)
	if string(f.Response.RawContent) != "html" {
		t.Fatal("a script that did not load changed the flow")
	}
}

func TestSeedLogging(t *testing.T) {
	e := newEnv(t, Config{}, nil, "seed/logging.py")
	info := e.log.wait(t, "This is some informative text.", 5*time.Second)
	errEntry := e.log.wait(t, "This is an error.", 5*time.Second)
	if info.Level != slog.LevelInfo || errEntry.Level != slog.LevelError {
		t.Fatalf("levels: info %v, error %v", info.Level, errEntry.Level)
	}
	if !e.log.scriptOwn("This is some informative text.") || !e.log.scriptOwn("This is an error.") {
		t.Fatal("script log entries are not recognised as the script's")
	}
	if len(info.Attrs) != 0 || len(errEntry.Attrs) != 0 {
		t.Fatalf("attributes a terminal would print: %v %v", info.Attrs, errEntry.Attrs)
	}
	if errs := e.a.Errors(); errs != nil {
		t.Fatalf("logging.py counts as a load failure: %v", errs)
	}
	// The script is named logging.py: the standard library's logging must
	// still be the real one for everybody else.
	if _, ok := e.log.find("Addon error"); ok {
		t.Fatalf("errors:\n%s", e.log.text())
	}
}

func TestLoggingShadowing(t *testing.T) {
	// A script named logging.py next to one that uses the logging module.
	dir := t.TempDir()
	copyFile(t, "testdata/seed/logging.py", filepath.Join(dir, "logging.py"))
	writeFile(t, filepath.Join(dir, "uses_logging.py"), `
import logging
def request(flow):
    logging.getLogger("x").warning("real logging works: %s", hasattr(logging, "getLogger"))
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "logging.py"), filepath.Join(dir, "uses_logging.py"))
	e.m.Request(newFlow(t, "GET", "http://example.com/", 0, ""))
	w := e.log.wait(t, "real logging works: True", 5*time.Second)
	if w.Level != slog.LevelWarn {
		t.Fatalf("level %v", w.Level)
	}
}

// concurrentRequests sends n flows through the request hook at once and
// returns how long they took together.
func concurrentRequests(t *testing.T, e *env, n int) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.m.Request(newFlow(t, "GET", "http://example.com/p", 0, ""))
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func TestConcurrent(t *testing.T) {
	t.Run("concurrent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Config{}, nil, "sleepy.py")
		d := concurrentRequests(t, e, 3)
		if d > 2500*time.Millisecond {
			t.Fatalf("3 @concurrent handlers sleeping 1 s took %s", d)
		}
		e.log.wait(t, "start  request: example.com/p", time.Second)
	})
	t.Run("blocking", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Config{}, nil, "sleepy_blocking.py")
		d := concurrentRequests(t, e, 3)
		if d < 2900*time.Millisecond {
			t.Fatalf("3 blocking handlers sleeping 1 s took only %s: they did not run one at a time", d)
		}
	})
}

func TestModernStyle(t *testing.T) {
	e := newEnv(t, Config{}, []string{"tag_value=from-set", "tag_count=2", "tag_list=a", "tag_list=b"}, "modern.py")
	e.log.wait(t, "tagger running", 5*time.Second)
	w, _ := e.log.find("tagger running")
	if w.Level != slog.LevelWarn || !e.log.scriptOwn("tagger running") {
		t.Fatalf("logging.warning: level %v", w.Level)
	}
	if _, ok := e.log.find("tag_value is now from-set"); !ok {
		t.Fatalf("configure did not see --set tag_value:\n%s", e.log.text())
	}
	f := newFlow(t, "GET", "http://example.com/x", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.GetAll("x-tag"); len(got) != 2 || got[0] != "from-set" {
		t.Fatalf("x-tag = %q", got)
	}
	if got := f.Request.Headers.GetAll("x-list"); strings.Join(got, ",") != "a,b" {
		t.Fatalf("x-list = %q", got)
	}
	if f.Request.Headers.Has("x-opt") {
		t.Fatal("x-opt set while tag_opt is None")
	}

	// Changing options at run time reaches configure and ctx.options.
	if err := e.m.Options().Set("tag_value=changed", "tag_opt=o"); err != nil {
		t.Fatal(err)
	}
	f = newFlow(t, "GET", "http://example.com/x", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-tag"); got != "changed, changed" {
		t.Fatalf("x-tag after change = %q", got)
	}
	if got := f.Request.Headers.Get("x-opt"); got != "o" {
		t.Fatalf("x-opt = %q", got)
	}

	// OptionsError rejects a value and leaves the old one.
	err := e.m.Options().Set("tag_count=9")
	if err == nil || !strings.Contains(err.Error(), "tag_count must be between 0 and 5") {
		t.Fatalf("tag_count=9: err = %v", err)
	}
	if n := e.m.Options().Int("tag_count"); n != 2 {
		t.Fatalf("tag_count after rejection = %d", n)
	}
	f = newFlow(t, "GET", "http://example.com/x", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.GetAll("x-tag"); len(got) != 2 {
		t.Fatalf("x-tag after a rejected change = %q (the child kept the rejected value)", got)
	}

	// The async handler answers from the proxy.
	f = newFlow(t, "GET", "http://example.com/answer", 0, "")
	e.m.Request(f)
	if f.Response == nil || f.Response.StatusCode != 201 || string(f.Response.RawContent) != "answered by the script" {
		t.Fatalf("response = %+v", f.Response)
	}
	if f.Response.Reason != "Created" || f.Response.Headers.Get("content-length") != "22" {
		t.Fatalf("made response: %q %s", f.Response.Reason, f.Response.Headers)
	}

	e.m.Done()
	e.log.wait(t, "tagger done", 5*time.Second)
}

func TestOptionsErrorAtStartup(t *testing.T) {
	e := newEnv(t, Config{}, []string{"tag_count=7"}, "modern.py")
	e.log.wait(t, "tag_count must be between 0 and 5", 5*time.Second)
	if e.m.Options().Int("tag_count") == 7 {
		t.Fatal("the rejected value stuck")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{"syntax_error.py", []string{"in script testdata/syntax_error.py:1", "SyntaxError", "def response(flow)"}},
		{"raise_at_load.py", []string{"in script testdata/raise_at_load.py:5 boom at load", "Traceback", "line 8, in <module>", "ValueError: boom at load"}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			e := newEnv(t, Config{}, nil, tc.script)
			entry := e.log.wait(t, "in script ", 5*time.Second)
			for _, w := range tc.want {
				if !strings.Contains(entry.Msg, w) {
					t.Errorf("load error lacks %q:\n%s", w, entry.Msg)
				}
			}
			if entry.Level != slog.LevelError || e.log.scriptOwn("in script ") {
				t.Errorf("load error: level %v, or counted as script output", entry.Level)
			}
			if strings.Contains(entry.Msg, "_mitmgo") || strings.Contains(entry.Msg, "importlib") {
				t.Errorf("traceback shows the host's frames:\n%s", entry.Msg)
			}
			if len(e.a.Errors()) != 1 {
				t.Errorf("Errors() = %v", e.a.Errors())
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	e := newEnv(t, Config{}, nil, "handler_error.py")
	f := newFlow(t, "GET", "http://example.com/orig", 0, "")
	e.m.Request(f)
	h := f.Request.Headers
	// The module's handler ran, the failing one's changes were undone, the
	// later addon still ran.
	if h.Get("x-first") != "1" || h.Get("x-after") != "1" || h.Has("x-failing") || f.Request.Path != "/orig" {
		t.Fatalf("headers %s path %s", h, f.Request.Path)
	}
	entry := e.log.wait(t, "Addon error: ", 5*time.Second)
	for _, w := range []string{"Traceback", "handler_error.py\", line 12, in request", "RuntimeError: handler failed on purpose"} {
		if !strings.Contains(entry.Msg, w) {
			t.Errorf("Addon error lacks %q:\n%s", w, entry.Msg)
		}
	}
	if strings.Contains(entry.Msg, "_mitmgo") {
		t.Errorf("traceback shows the host's frames:\n%s", entry.Msg)
	}
	f.Response = flow.NewResponse(200, []byte("x"), nil)
	e.m.Response(f)
	e.log.wait(t, "Script exited with code 3", 5*time.Second)
	// The host survived both.
	f = newFlow(t, "GET", "http://example.com/again", 0, "")
	e.m.Request(f)
	if f.Request.Headers.Get("x-after") != "1" {
		t.Fatal("the host stopped working after handler errors")
	}
}

// TestHostRestart: a child that dies in the middle of a hook fails closed:
// the flow it was handling is killed and the log names the script (a
// script may enforce a policy that the flow must not bypass). The child is
// restarted; a flow sent at once waits for the restarted script rather than
// going on without it.
func TestHostRestart(t *testing.T) {
	e := newEnv(t, Config{}, nil, "die.py")
	pid := e.a.liveHost().cmd.Process.Pid
	f := newFlow(t, "GET", "http://example.com/die", 0, "")
	e.m.Request(f)
	if !f.Killed() || f.Request.Headers.Has("x-alive") {
		t.Fatalf("the flow in flight was not killed: %s %v", f.Request.Headers, f.Error)
	}
	e.log.wait(t, "in script testdata/die.py: the Python script host exited while the request hook was in progress; "+
		"flow "+f.ID+" (GET http://example.com/die) killed", 5*time.Second)
	f = newFlow(t, "GET", "http://example.com/ok", 0, "")
	e.m.Request(f)
	if f.Request.Headers.Get("x-alive") != "1" || f.Error != nil {
		t.Fatalf("a flow sent during the restart: %v\n%s", f.Error, f.Request.Headers)
	}
	e.log.wait(t, "exited unexpectedly", 5*time.Second)
	e.log.wait(t, "was restarted", 10*time.Second)
	f = newFlow(t, "GET", "http://example.com/ok", 0, "")
	e.m.Request(f)
	if f.Request.Headers.Get("x-alive") != "1" {
		t.Fatalf("after the restart: %s", f.Request.Headers)
	}
	if e.a.liveHost().cmd.Process.Pid == pid {
		t.Fatal("same child")
	}
}

func TestNoPython(t *testing.T) {
	needPython(t)
	m := addon.NewManager()
	a := NewWithConfig(Config{CacheDir: testCacheDir(t), ReloadInterval: -1})
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	err := m.Options().Set("python=/nonexistent/python3", "scripts=testdata/seed/add_header.py")
	if err == nil {
		t.Fatal("no error for a missing interpreter")
	}
	for _, w := range []string{"/nonexistent/python3", "--set python=", "MITMGO_PYTHON", "install python3"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	// With no python3 on the PATH at all.
	t.Setenv("PATH", t.TempDir())
	t.Setenv("MITMGO_PYTHON", "")
	_, err = a.interpreter()
	if err == nil || !strings.Contains(err.Error(), "no python3 was found on the PATH") {
		t.Fatalf("err = %v", err)
	}
}

func TestNoSuchScript(t *testing.T) {
	needPython(t)
	m := addon.NewManager()
	a := NewWithConfig(Config{CacheDir: testCacheDir(t), ReloadInterval: -1})
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	err := m.Options().Set("scripts=testdata/nonexistent.py")
	if err == nil || !strings.Contains(err.Error(), "No such script: testdata/nonexistent.py") {
		t.Fatalf("err = %v", err)
	}
	if got := m.Options().Strings("scripts"); len(got) != 0 {
		t.Fatalf("scripts = %v", got)
	}
}

func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reload.py")
	version := func(v string) string {
		return `
from mitmproxy import ctx
def response(flow):
    flow.response.headers["x-version"] = "` + v + `"
def done():
    ctx.log.info("done ` + v + `")
`
	}
	writeFile(t, path, version("1"))
	e := newEnv(t, Config{ReloadInterval: 50 * time.Millisecond}, nil, path)
	check := func(want string) {
		t.Helper()
		f := newFlow(t, "GET", "http://example.com/", 200, "x")
		e.m.Response(f)
		if got := f.Response.Headers.Get("x-version"); got != want {
			t.Fatalf("x-version = %q, want %q", got, want)
		}
	}
	check("1")
	// Edit: keep serving while reloading.
	stop := make(chan struct{})
	var served sync.WaitGroup
	var count atomic.Int64
	served.Add(1)
	go func() {
		defer served.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			f := newFlow(t, "GET", "http://example.com/", 200, "x")
			e.m.Response(f)
			if v := f.Response.Headers.Get("x-version"); v == "" {
				t.Error("a flow went through without the script during the reload")
				return
			}
			count.Add(1)
		}
	}()
	testutil.Eventually(t, 5*time.Second, func() bool { return count.Load() >= 3 }, "no flows served before the edit")
	writeFile(t, path, version("2")+"\n# longer\n")
	e.log.wait(t, "done 1", 5*time.Second)
	testutil.Eventually(t, 5*time.Second, func() bool {
		f := newFlow(t, "GET", "http://example.com/", 200, "x")
		e.m.Response(f)
		return f.Response.Headers.Get("x-version") == "2"
	}, "not reloaded")
	close(stop)
	served.Wait()

	// A broken edit: logged, the proxy goes on (without the script).
	writeFile(t, path, "def response(flow)\n")
	e.log.wait(t, "in script "+path+":1", 5*time.Second)
	f := newFlow(t, "GET", "http://example.com/", 200, "x")
	e.m.Response(f)
	if f.Response.Headers.Has("x-version") {
		t.Fatal("the old version still runs after a broken edit")
	}
	// Fixed again.
	writeFile(t, path, version("3"))
	e.log.wait(t, "Loading script "+path, 5*time.Second)
	testutil.Eventually(t, 5*time.Second, func() bool {
		f := newFlow(t, "GET", "http://example.com/", 200, "x")
		e.m.Response(f)
		return f.Response.Headers.Get("x-version") == "3"
	}, "not reloaded after the fix")
}

func TestFlowAPI(t *testing.T) {
	e := newEnv(t, Config{}, nil, "flowapi.py")
	req := func(path string) *flow.HTTPFlow {
		f := newFlow(t, "GET", "http://example.com"+path, 0, "")
		e.m.Request(f)
		return f
	}
	resp := func(path, body string, hdrs ...string) *flow.HTTPFlow {
		f := newFlow(t, "GET", "http://example.com"+path, 200, body, hdrs...)
		e.m.Response(f)
		return f
	}

	if f := req("/kill"); !f.Killed() || f.IsLive() {
		t.Errorf("kill: killed %v live %v", f.Killed(), f.IsLive())
	}
	if f := req("/intercept"); !f.IsIntercepted() {
		t.Error("intercept: not intercepted")
	}
	if f := req("/url"); f.Request.URL() != "https://other.example:8443/new?a=1" || f.Request.Headers.Get("host") != "other.example:8443" {
		t.Errorf("url: %s host %q", f.Request.URL(), f.Request.Headers.Get("host"))
	}
	if f := req("/query?a=1&b=2"); f.Request.Path != "/query?a=1&b=2&added=yes" || f.Request.Headers.Get("x-q") != "a=1,b=2,added=yes" {
		t.Errorf("query: %s %q", f.Request.Path, f.Request.Headers.Get("x-q"))
	}
	f := newFlow(t, "POST", "http://example.com/form", 0, "")
	f.Request.Headers.Set("content-type", "application/x-www-form-urlencoded")
	f.Request.SetContent([]byte("a=1&b=two+words"))
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-form"); got != `[["a", "1"], ["b", "two words"]]` {
		t.Errorf("form: %q", got)
	}
	if string(f.Request.RawContent) != "a=1&b=two+words&extra=1" || f.Request.Headers.Get("content-length") != "23" {
		t.Errorf("form body: %q %s", f.Request.RawContent, f.Request.Headers)
	}
	if f := req("/meta"); f.Marked() != ":star:" || f.Comment() != "a comment" {
		t.Errorf("meta: %q %q", f.Marked(), f.Comment())
	} else if v, _ := f.Metadata.Get("seen"); v != true {
		t.Errorf("metadata: %+v", f.Metadata)
	} else if n, _ := f.Metadata.Get("n"); n != int64(3) {
		t.Errorf("metadata n: %#v", n)
	}
	f = newFlow(t, "GET", "http://example.com/cookies", 0, "")
	f.Request.Headers.Add("Cookie", "a=1; b=2")
	f.Request.Headers.Add("cookie", "c=3")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-cookies"); got != `[["a", "1"], ["b", "2"], ["c", "3"]]` {
		t.Errorf("cookies: %q", got)
	}
	f = req("/facts")
	var facts map[string]any
	if err := json.Unmarshal([]byte(f.Request.Headers.Get("x-facts")), &facts); err != nil {
		t.Fatalf("facts: %v %q", err, f.Request.Headers.Get("x-facts"))
	}
	want := map[string]any{
		"client": []any{"127.0.0.1", 50000.0}, "server": []any{"example.com", 80.0}, "host": "example.com",
		"port": 80.0, "scheme": "http", "method": "GET", "pretty_host": "example.com",
		"pretty_url": "http://example.com/facts", "url": "http://example.com/facts", "http_version": "HTTP/1.1",
		"live": true, "id": f.ID, "type": "http",
	}
	for k, v := range want {
		if got, _ := json.Marshal(facts[k]); string(got) != mustJSON(v) {
			t.Errorf("facts[%s] = %s, want %s", k, got, mustJSON(v))
		}
	}
	if f := req("/copy"); f.Request.Headers.Has("x-copy") || f.Request.Headers.Get("x-copy-id-differs") != "True" {
		t.Errorf("copy: %s", f.Request.Headers)
	}

	if f := resp("/text", "héllo", "Content-Type", "text/plain; charset=utf-8"); string(f.Response.RawContent) != "HÉLLO" {
		t.Errorf("text: %q", f.Response.RawContent)
	}
	if f := resp("/json", `{"a": 1}`, "Content-Type", "application/json"); string(f.Response.RawContent) != `{"a": 1, "seen": true}` {
		t.Errorf("json: %q", f.Response.RawContent)
	}
	for _, enc := range []string{"gzip", "deflate", "br", "zstd"} {
		f := newFlow(t, "GET", "http://example.com/decode", 200, "", "Content-Encoding", enc)
		f.Response.SetContent([]byte("decoded " + enc))
		e.m.Response(f)
		if got := f.Response.Headers.Get("x-decoded"); got != "decoded "+enc {
			t.Errorf("%s: x-decoded = %q", enc, got)
		}
		f = newFlow(t, "GET", "http://example.com/setbody", 200, "", "Content-Encoding", enc)
		f.Response.SetContent([]byte("old"))
		e.m.Response(f)
		if got, err := f.Response.Content(); err != nil || string(got) != "new body" {
			t.Errorf("%s: set content: %q %v", enc, got, err)
		}
	}
	if f := resp("/status", "x"); f.Response.StatusCode != 418 || f.Response.Reason != "I'm a teapot" {
		t.Errorf("status: %d %q", f.Response.StatusCode, f.Response.Reason)
	}
	if f := resp("/noresponse", "x"); f.Response != nil {
		t.Error("flow.response = None did not remove the response")
	}
	f = newFlow(t, "GET", "http://example.com/setcookie", 200, "")
	f.Response.Headers.Add("Set-Cookie", "a=1; Path=/; HttpOnly")
	f.Response.Headers.Add("Set-Cookie", "b=2")
	e.m.Response(f)
	if got := f.Response.Headers.Get("x-setcookie"); got != `[["a", "1"], ["b", "2"]]` {
		t.Errorf("set-cookie: %q", got)
	}
	if _, ok := e.log.find("Addon error"); ok {
		t.Errorf("errors:\n%s", e.log.text())
	}
}

func TestLazyBodies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "lazy.py"), `
from mitmproxy import ctx
def response(flow):
    if flow.request.path == "/read":
        flow.response.headers["x-len"] = str(len(flow.response.content))
        flow.response.headers["x-req-len"] = str(len(flow.request.content))
    elif flow.request.path == "/replace":
        flow.response.content = flow.response.content.replace(b"a", b"b")
    else:
        flow.response.headers["x-untouched"] = "1"
`)
	e := newEnv(t, Config{BodyInlineLimit: 16}, nil, filepath.Join(dir, "lazy.py"))
	big := strings.Repeat("a", 100000)
	f := newFlow(t, "POST", "http://example.com/read", 200, big)
	f.Request.SetContent([]byte(strings.Repeat("q", 1000)))
	e.m.Response(f)
	if f.Response.Headers.Get("x-len") != "100000" || f.Response.Headers.Get("x-req-len") != "1000" {
		t.Fatalf("lazy read: %s", f.Response.Headers)
	}
	f = newFlow(t, "GET", "http://example.com/replace", 200, big)
	e.m.Response(f)
	if string(f.Response.RawContent) != strings.Repeat("b", 100000) {
		t.Fatal("lazy replace did not apply")
	}
	f = newFlow(t, "GET", "http://example.com/other", 200, big)
	raw := f.Response.RawContent
	e.m.Response(f)
	if f.Response.Headers.Get("x-untouched") != "1" || &f.Response.RawContent[0] != &raw[0] {
		t.Fatal("an untouched body was replaced")
	}
}

func TestConnectionHooks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "conns.py"), `
from mitmproxy import ctx
def client_connected(client):
    ctx.log.info("client %s:%d" % client.peername)
    if client.peername[1] == 666:
        client.error = "not you"
def server_connect(data):
    if data.server.address[0] == "redirect.example":
        data.server.address = ("127.0.0.1", 8081)
def clientconnect(root_layer):
    ctx.log.info("0.18 clientconnect %s" % (root_layer.client_conn.peername,))
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "conns.py"))
	c := flow.NewClient(flow.Address{Host: "10.0.0.1", Port: 666}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	e.m.ClientConnected(c)
	if c.Error != "not you" {
		t.Fatalf("client.error = %q", c.Error)
	}
	e.log.wait(t, "client 10.0.0.1:666", time.Second)
	e.log.wait(t, "0.18 clientconnect ('10.0.0.1', 666)", time.Second)
	s := flow.NewServer(flow.Address{Host: "redirect.example", Port: 80})
	e.m.ServerConnect(&addon.ServerConnectionData{Server: s, Client: c})
	if s.Address != (flow.Address{Host: "127.0.0.1", Port: 8081}) {
		t.Fatalf("server address = %v", s.Address)
	}
}

func TestReplayedFlow(t *testing.T) {
	// Flows read from a file are not live: kill() raises, and the order of
	// events is the seed's.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "events.py"), `
from mitmproxy import ctx
def start():
    ctx.log.info("event start")
def requestheaders(flow):
    ctx.log.info("event requestheaders live=%s" % flow.live)
def request(flow):
    ctx.log.info("event request")
    try:
        flow.kill()
    except Exception as e:
        ctx.log.info("kill refused: %s" % e)
def responseheaders(flow):
    ctx.log.info("event responseheaders")
def response(flow):
    ctx.log.info("event response")
def error(flow):
    ctx.log.info("event error")
def done():
    ctx.log.info("event done")
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "events.py"))
	f := newFlow(t, "GET", "http://example.com/", 200, "x")
	f.SetLive(false)
	for _, hook := range []func(*flow.HTTPFlow){e.m.RequestHeaders, e.m.Request, e.m.ResponseHeaders, e.m.Response} {
		hook(f)
	}
	e.m.Done()
	var got []string
	for _, entry := range e.log.all() {
		if strings.HasPrefix(entry.Msg, "event ") || strings.HasPrefix(entry.Msg, "kill refused") {
			got = append(got, entry.Msg)
		}
	}
	want := "event start|event requestheaders live=False|event request|kill refused: Flow is not killable.|event responseheaders|event response|event done"
	if strings.Join(got, "|") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if f.Killed() {
		t.Fatal("killed")
	}
}

func TestUnsupportedAttribute(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "unsupported.py"), `
from mitmproxy import ctx
def request(flow):
    try:
        flow.request.refresh
    except AttributeError as e:
        ctx.log.info("1: %s" % e)
    try:
        ctx.master.event_queue
    except AttributeError as e:
        ctx.log.info("2: %s" % e)
    try:
        import mitmproxy.tools.console
    except ImportError as e:
        ctx.log.info("3: %s" % e)
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "unsupported.py"))
	e.m.Request(newFlow(t, "GET", "http://example.com/", 0, ""))
	e.log.wait(t, "1: ", time.Second)
	for _, w := range []string{"2: ctx.master.event_queue is not supported yet by mitmgo", "3: No module named 'mitmproxy.tools': this part of mitmproxy's API is not supported yet by mitmgo"} {
		e.log.wait(t, w, time.Second)
	}
	if entry, _ := e.log.find("1: "); !strings.Contains(entry.Msg, "mitmgo") {
		t.Errorf("message: %s", entry.Msg)
	}
}

func TestPrintGoesToLog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "printer.py"), `
import sys
print("printed at load")
def request(flow):
    print("printed in request")
    print("to stderr", file=sys.stderr)
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "printer.py"))
	e.m.Request(newFlow(t, "GET", "http://example.com/", 0, ""))
	for _, w := range []string{"printed at load", "printed in request", "to stderr"} {
		e.log.wait(t, w, 5*time.Second)
		if !e.log.scriptOwn(w) {
			t.Errorf("%q not recognised as the script's", w)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
