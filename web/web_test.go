package web

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

const wait = 10 * time.Second

// env is a running mitmweb (in process) with an origin behind it.
type env struct {
	t      testing.TB
	m      *mitmgo.Master
	w      *Server
	base   string // http://127.0.0.1:port
	token  string
	origin string
	// seen records the paths the origin was asked for.
	mu   sync.Mutex
	seen []string
	// api is a browser-like client with a cookie jar (no proxy).
	api *http.Client
}

func start(t testing.TB, specs ...string) *env {
	t.Helper()
	e := &env{t: t}
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.URL.Path)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	}))
	e.origin = o.URL
	w := New()
	m, err := mitmgo.New(mitmgo.Config{View: true, Addons: []any{w}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Attach(m); err != nil {
		t.Fatal(err)
	}
	specs = append([]string{"listen_host=127.0.0.1", "listen_port=0", "web_port=0", "web_open_browser=false",
		"confdir=" + t.TempDir()}, specs...)
	if err := m.Setup(specs); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	e.m, e.w = m, w
	u, err := url.Parse(w.URL())
	if err != nil || u.Host == "" {
		t.Fatalf("web URL %q: %v", w.URL(), err)
	}
	e.base = "http://" + u.Host
	e.token = u.Query().Get("token")
	jar, _ := cookiejar.New(nil)
	e.api = &http.Client{Jar: jar, Timeout: wait}
	return e
}

// proxied is a client that goes through the proxy.
func (e *env) proxied() *http.Client {
	return &http.Client{Timeout: wait, Transport: &http.Transport{Proxy: http.ProxyURL(e.m.URL())}}
}

// get sends a request through the proxy to the origin.
func (e *env) get(path string) string {
	e.t.Helper()
	resp, err := e.proxied().Get(e.origin + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// login makes the API client authenticated (cookie) and gives it the
// XSRF cookie.
func (e *env) login() {
	e.t.Helper()
	resp := e.req(nil, "GET", "/?token="+e.token, nil, nil)
	if resp.StatusCode != 200 {
		e.t.Fatalf("login: %d", resp.StatusCode)
	}
}

func (e *env) xsrf() string {
	u, _ := url.Parse(e.base)
	for _, c := range e.api.Jar.Cookies(u) {
		if c.Name == xsrfCookie {
			return c.Value
		}
	}
	return ""
}

// req sends an API request; body may be a string (JSON) or []byte (raw).
func (e *env) req(client *http.Client, method, path string, body any, hdr map[string]string) *http.Response {
	e.t.Helper()
	if client == nil {
		client = e.api
	}
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, ok := body.(string); ok {
		r.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" && client == e.api {
		r.Header.Set("X-XSRFToken", e.xsrf())
	}
	for k, v := range hdr {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	resp, err := client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// call sends an API request and wants status 200; it returns the body.
func (e *env) call(method, path string, body any) []byte {
	e.t.Helper()
	resp := e.req(nil, method, path, body, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

func (e *env) flows() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(e.call("GET", "/flows", nil), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestStartLine(t *testing.T) {
	e := start(t)
	if len(e.token) != 32 {
		t.Fatalf("token %q: want 32 hex digits", e.token)
	}
	if !strings.HasPrefix(e.w.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", e.w.URL())
	}
	e2 := start(t, "web_password=secret")
	if strings.Contains(e2.w.URL(), "token") || strings.Contains(e2.w.URL(), "secret") {
		t.Fatalf("URL with a password shows it: %q", e2.w.URL())
	}
}

func TestAuth(t *testing.T) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	hash := hashArgon2id("hunter2", salt)
	for _, tc := range []struct {
		name, spec string
		password   func(e *env) string
	}{
		{"token", "", func(e *env) string { return e.token }},
		{"plain password", "web_password=secret", func(*env) string { return "secret" }},
		{"argon2 password", "web_password=" + hash, func(*env) string { return "hunter2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var specs []string
			if tc.spec != "" {
				specs = append(specs, tc.spec)
			}
			e := start(t, specs...)
			pw := tc.password(e)
			plain := &http.Client{Timeout: wait}
			for _, bad := range []struct{ path, bearer string }{
				// The page itself (/) answers with the login form instead
				// (TestLoginPage).
				{"/flows", ""}, {"/flows?token=wrong", ""}, {"/flows", "wrong"}, {"/updates", ""}, {"/favicon.svg", ""},
				{"/flows?token=" + e.token + "x", ""},
			} {
				h := map[string]string{}
				if bad.bearer != "" {
					h["Authorization"] = "Bearer " + bad.bearer
				}
				resp := e.req(plain, "GET", bad.path, nil, h)
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 403 || len(body) != 0 || len(resp.Cookies()) != 0 {
					t.Errorf("%s bearer %q: %d %q cookies %v, want a bare 403", bad.path, bad.bearer, resp.StatusCode, body, resp.Cookies())
				}
			}
			if resp := e.req(plain, "GET", "/flows?token="+url.QueryEscape(pw), nil, nil); resp.StatusCode != 200 {
				t.Errorf("token query: %d", resp.StatusCode)
			}
			if resp := e.req(plain, "GET", "/flows", nil, map[string]string{"Authorization": "Bearer " + pw}); resp.StatusCode != 200 {
				t.Errorf("bearer: %d", resp.StatusCode)
			}
			// Login, then the cookie alone.
			if resp := e.req(nil, "GET", "/?token="+url.QueryEscape(pw), nil, nil); resp.StatusCode != 200 {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			if resp := e.req(nil, "GET", "/flows", nil, nil); resp.StatusCode != 200 {
				t.Errorf("cookie: %d", resp.StatusCode)
			}
			// A cookie this server did not issue is refused.
			forged := &http.Client{Timeout: wait}
			if resp := e.req(forged, "GET", "/flows", nil, map[string]string{"Cookie": "mitmproxy-auth-1=y"}); resp.StatusCode != 403 {
				t.Errorf("forged cookie: %d", resp.StatusCode)
			}
		})
	}
}

func TestLoginForm(t *testing.T) {
	e := start(t, "web_password=secret")
	// The login form posts the password and the XSRF token (the page's
	// _xsrf field, matching the XSRF cookie).
	plain := &http.Client{Timeout: wait}
	form := "token=secret&_xsrf=abc"
	resp := e.req(plain, "POST", "/", []byte(form), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Cookie": xsrfCookie + "=abc"})
	if resp.StatusCode != 200 {
		t.Fatalf("login form: %d", resp.StatusCode)
	}
	var auth bool
	for _, c := range resp.Cookies() {
		auth = auth || strings.HasPrefix(c.Name, "mitmproxy-auth-") && c.HttpOnly && c.SameSite == http.SameSiteStrictMode
	}
	if !auth {
		t.Fatalf("no auth cookie: %v", resp.Cookies())
	}
}

// TestPasswordChange: a new web_password ends the old sessions.
func TestPasswordChange(t *testing.T) {
	e := start(t, "web_password=old")
	if r := e.req(nil, "GET", "/?token=old", nil, nil); r.StatusCode != 200 {
		t.Fatalf("login: %d", r.StatusCode)
	}
	if err := e.m.Set("web_password=new"); err != nil {
		t.Fatal(err)
	}
	if r := e.req(nil, "GET", "/flows", nil, nil); r.StatusCode != 403 {
		t.Errorf("old session after a new password: %d", r.StatusCode)
	}
	if r := e.req(nil, "GET", "/flows?token=new", nil, nil); r.StatusCode != 200 {
		t.Errorf("new password: %d", r.StatusCode)
	}
}

func TestInvalidPasswordHash(t *testing.T) {
	w := New()
	m, err := mitmgo.New(mitmgo.Config{View: true, Addons: []any{w}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_ = w.Attach(m)
	err = m.Setup([]string{"confdir=" + t.TempDir(), "web_password=$argon2id$garbage"})
	if err == nil || !strings.Contains(err.Error(), "not a valid argon2 hash") {
		t.Fatalf("err = %v", err)
	}
}

func TestHostAndOrigin(t *testing.T) {
	e := start(t)
	port := e.base[strings.LastIndex(e.base, ":")+1:]
	bearer := map[string]string{"Authorization": "Bearer " + e.token}
	plain := &http.Client{Timeout: wait}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"ip", nil, 200},
		{"localhost", map[string]string{"Host": "localhost:" + port}, 200},
		{"rebound name", map[string]string{"Host": "evil.example:" + port}, 403},
		{"same origin", map[string]string{"Origin": e.base}, 200},
		{"other origin", map[string]string{"Origin": "http://evil.example:" + port}, 403},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
	} {
		h := map[string]string{}
		for k, v := range bearer {
			h[k] = v
		}
		for k, v := range tc.hdr {
			h[k] = v
		}
		if resp := e.req(plain, "GET", "/state", nil, h); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func TestXSRF(t *testing.T) {
	e := start(t)
	e.login()
	if e.xsrf() == "" {
		t.Fatal("no XSRF cookie after a GET")
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"missing", map[string]string{"X-XSRFToken": ""}, 403},
		{"wrong", map[string]string{"X-XSRFToken": "nope"}, 403},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"right", nil, 200},
		{"right, same-origin fetch", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
	} {
		if resp := e.req(nil, "POST", "/clear", nil, tc.hdr); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func TestFlowsAndContent(t *testing.T) {
	e := start(t)
	e.login()
	if got := e.get("/one?x=1"); got != "hello from /one" {
		t.Fatalf("through the proxy: %q", got)
	}
	var f map[string]any
	testutil.Eventually(t, wait, func() bool {
		fl := e.flows()
		if len(fl) == 1 && fl[0]["response"] != nil {
			f = fl[0]
			return true
		}
		return false
	}, "the flow in /flows")
	req := f["request"].(map[string]any)
	resp := f["response"].(map[string]any)
	if req["method"] != "GET" || req["path"] != "/one?x=1" || req["scheme"] != "http" || req["pretty_host"] != "127.0.0.1" ||
		req["http_version"] != "HTTP/1.1" || req["contentLength"] != 0.0 {
		t.Errorf("request: %v", req)
	}
	if resp["status_code"] != 200.0 || resp["reason"] != "OK" || resp["contentLength"] != float64(len("hello from /one")) ||
		len(resp["contentHash"].(string)) != 64 {
		t.Errorf("response: %v", resp)
	}
	for _, k := range []string{"id", "client_conn", "server_conn", "timestamp_created"} {
		if f[k] == nil {
			t.Errorf("no %s: %v", k, f)
		}
	}
	if f["type"] != "http" || f["intercepted"] != false || f["modified"] != false || f["marked"] != "" || f["is_replay"] != nil {
		t.Errorf("flow: %v", f)
	}
	id := f["id"].(string)
	if sc := f["server_conn"].(map[string]any); sc["address"] == nil {
		t.Errorf("server_conn: %v", sc)
	}

	// Content.
	r := e.req(nil, "GET", "/flows/"+id+"/response/content.data", nil, nil)
	if b, _ := io.ReadAll(r.Body); string(b) != "hello from /one" || r.Header.Get("Content-Disposition") != "attachment; filename=one" {
		t.Errorf("content: %q %v", b, r.Header)
	}
	e.call("POST", "/flows/"+id+"/response/content.data", []byte("new body"))
	r = e.req(nil, "GET", "/flows/"+id+"/response/content.data", nil, nil)
	if b, _ := io.ReadAll(r.Body); string(b) != "new body" {
		t.Errorf("content after upload: %q", b)
	}
	if r := e.req(nil, "GET", "/flows/nope/response/content.data", nil, nil); r.StatusCode != 404 {
		t.Errorf("unknown flow: %d", r.StatusCode)
	}

	// Content views.
	var cv map[string]any
	if err := json.Unmarshal(e.call("GET", "/flows/"+id+"/response/content/Auto.json", nil), &cv); err != nil {
		t.Fatal(err)
	}
	if cv["text"] != "new body" || cv["view_name"] == "" || cv["syntax_highlight"] == nil {
		t.Errorf("content view: %v", cv)
	}
	if r := e.req(nil, "GET", "/flows/"+id+"/messages/content/auto.json", nil, nil); r.StatusCode != 400 {
		t.Errorf("messages of an HTTP flow: %d", r.StatusCode)
	}

	// Edit, then revert.
	e.call("PUT", "/flows/"+id, `{"request": {"method": "POST", "headers": [["a", "b"]]}, "response": {"code": 201}, "comment": "hi", "marked": ":default:"}`)
	f = e.flows()[0]
	if f["request"].(map[string]any)["method"] != "POST" || f["response"].(map[string]any)["status_code"] != 201.0 ||
		f["comment"] != "hi" || f["marked"] == "" || f["modified"] != true {
		t.Errorf("after edit: %v", f)
	}
	if r := e.req(nil, "PUT", "/flows/"+id, `{"bogus": 1}`, nil); r.StatusCode != 400 {
		t.Errorf("bad edit: %d", r.StatusCode)
	}
	e.call("POST", "/flows/"+id+"/revert", nil)
	f = e.flows()[0]
	if f["request"].(map[string]any)["method"] != "GET" || f["modified"] != false {
		t.Errorf("after revert: %v", f)
	}

	// Duplicate.
	dup := string(e.call("POST", "/flows/"+id+"/duplicate", nil))
	if len(e.flows()) != 2 || dup == id || len(dup) < 30 {
		t.Fatalf("duplicate %q: %d flows", dup, len(e.flows()))
	}
	// Replay: the origin sees the request again.
	e.call("POST", "/flows/"+id+"/replay", nil)
	testutil.Eventually(t, wait, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.seen) == 2
	}, "the replayed request at the origin")
	// Done: its response is complete (the flow is no longer in flight, so
	// the dump below has it).
	testutil.Eventually(t, wait, func() bool {
		for _, f := range e.flows() {
			if resp, _ := f["response"].(map[string]any); f["is_replay"] == "request" && resp != nil && resp["timestamp_end"] != nil {
				return true
			}
		}
		return false
	}, "a replayed flow in /flows")

	// Dump and load.
	dump := e.call("GET", "/flows/dump", nil)
	n := len(e.flows())
	filtered := e.call("GET", "/flows/dump?filter=~m+POST", nil)
	if len(filtered) != 0 || len(dump) == 0 {
		t.Errorf("dump: %d bytes, filtered %d", len(dump), len(filtered))
	}
	if r := e.req(nil, "GET", "/flows/dump?filter=~~", nil, nil); r.StatusCode != 400 {
		t.Errorf("bad filter: %d", r.StatusCode)
	}
	e.call("DELETE", "/flows/"+dup, nil)
	if len(e.flows()) != n-1 {
		t.Errorf("after delete: %d flows, want %d", len(e.flows()), n-1)
	}
	e.call("POST", "/clear", nil)
	if len(e.flows()) != 0 {
		t.Fatalf("after clear: %d flows", len(e.flows()))
	}
	e.call("POST", "/flows/dump", dump)
	if got := e.flows(); len(got) != n {
		t.Fatalf("after upload: %d flows, want %d", len(got), n)
	}
	// A multipart upload, as the browser sends it.
	var mp bytes.Buffer
	mp.WriteString("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"flows\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	mp.Write(dump)
	mp.WriteString("\r\n--XX--\r\n")
	r = e.req(nil, "POST", "/flows/dump", mp.Bytes(), map[string]string{"Content-Type": "multipart/form-data; boundary=XX"})
	if r.StatusCode != 200 || len(e.flows()) != n {
		t.Fatalf("multipart upload: %d, %d flows", r.StatusCode, len(e.flows()))
	}
}

func TestOptionsCommandsState(t *testing.T) {
	e := start(t)
	e.login()
	var opts map[string]map[string]any
	if err := json.Unmarshal(e.call("GET", "/options", nil), &opts); err != nil {
		t.Fatal(err)
	}
	if o := opts["anticache"]; o["type"] != "bool" || o["value"] != false || o["default"] != false || o["help"] == "" {
		t.Errorf("anticache: %v", o)
	}
	if o := opts["web_theme"]; o["type"] != "str" || len(o["choices"].([]any)) != 3 {
		t.Errorf("web_theme: %v", o)
	}
	if o := opts["intercept"]; o["type"] != "optional str" || o["value"] != nil {
		t.Errorf("intercept: %v", o)
	}
	e.call("PUT", "/options", `{"anticache": true, "intercept": "~q", "view_order": "size", "ignore_hosts": ["a"]}`)
	if !e.m.Options.Bool("anticache") || e.m.Opts.ViewOrder.Get() != "size" {
		t.Error("PUT /options did not set the options")
	}
	if r := e.req(nil, "PUT", "/options", `{"nonexistent": 1}`, nil); r.StatusCode != 400 {
		t.Errorf("unknown option: %d", r.StatusCode)
	}
	if r := e.req(nil, "PUT", "/options", `{"view_order": "nope"}`, nil); r.StatusCode != 400 {
		t.Errorf("bad value: %d", r.StatusCode)
	}
	if r := e.req(nil, "PUT", "/options", `{"anticache": "yes"}`, nil); r.StatusCode != 400 {
		t.Errorf("bad type: %d", r.StatusCode)
	}

	var cmds map[string]map[string]any
	if err := json.Unmarshal(e.call("GET", "/commands", nil), &cmds); err != nil {
		t.Fatal(err)
	}
	if c := cmds["set"]; c == nil || c["signature_help"] == "" || len(c["parameters"].([]any)) != 2 {
		t.Errorf("set: %v", c)
	}
	var res map[string]any
	_ = json.Unmarshal(e.call("POST", "/commands/set", `{"arguments": ["anticomp", "true"]}`), &res)
	if _, ok := res["value"]; !ok || !e.m.Options.Bool("anticomp") {
		t.Errorf("set anticomp: %v", res)
	}
	res = nil
	_ = json.Unmarshal(e.call("POST", "/commands/nonexistent.command", `{"arguments": []}`), &res)
	if res["error"] == nil {
		t.Errorf("unknown command: %v", res)
	}

	var state map[string]any
	_ = json.Unmarshal(e.call("GET", "/state", nil), &state)
	if state["version"] == "" || state["servers"] == nil || state["platform"] == nil {
		t.Errorf("state: %v", state)
	}
	var help map[string][][2]string
	_ = json.Unmarshal(e.call("GET", "/filter-help", nil), &help)
	if len(help["commands"]) < 20 {
		t.Errorf("filter-help: %v", help)
	}
	var events []map[string]any
	_ = json.Unmarshal(e.call("GET", "/events", nil), &events)
	found := false
	for _, ev := range events {
		found = found || strings.HasPrefix(ev["message"].(string), "Web server listening at") && ev["level"] == "info"
	}
	if !found {
		t.Errorf("events: %v", events)
	}
	if b := e.call("GET", "/", nil); !bytes.Contains(b, []byte("<html")) {
		t.Errorf("index: %q", b)
	}
}

func TestInterceptEditResumeKill(t *testing.T) {
	e := start(t, "intercept=~q ~u /held")
	e.login()
	type result struct {
		body string
		err  error
	}
	fetch := func(path string) chan result {
		ch := make(chan result, 1)
		go func() {
			resp, err := e.proxied().Get(e.origin + path)
			if err != nil {
				ch <- result{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch <- result{body: string(b)}
		}()
		return ch
	}
	held := func(path string) string {
		var id string
		testutil.Eventually(t, wait, func() bool {
			for _, f := range e.flows() {
				if f["intercepted"] == true && strings.HasPrefix(f["request"].(map[string]any)["path"].(string), path) {
					id = f["id"].(string)
					return true
				}
			}
			return false
		}, "flow %s intercepted", path)
		return id
	}
	// Edit then resume: the origin sees the edit.
	ch := fetch("/held/1")
	id := held("/held/1")
	e.call("PUT", "/flows/"+id, `{"request": {"path": "/edited"}}`)
	e.call("POST", "/flows/"+id+"/resume", nil)
	if r := <-ch; r.err != nil || r.body != "hello from /edited" {
		t.Fatalf("after edit and resume: %q %v", r.body, r.err)
	}
	// Kill.
	ch = fetch("/held/2")
	id = held("/held/2")
	e.call("POST", "/flows/"+id+"/kill", nil)
	if r := <-ch; r.err == nil && strings.Contains(r.body, "hello") {
		t.Fatalf("killed flow reached the origin: %q", r.body)
	}
	// Resume all and kill all.
	ch = fetch("/held/3")
	held("/held/3")
	e.call("POST", "/flows/resume", nil)
	if r := <-ch; r.err != nil || r.body != "hello from /held/3" {
		t.Fatalf("after resume all: %q %v", r.body, r.err)
	}
	ch = fetch("/held/4")
	held("/held/4")
	e.call("POST", "/flows/kill", nil)
	if r := <-ch; r.err == nil && strings.Contains(r.body, "hello") {
		t.Fatalf("killed flow reached the origin: %q", r.body)
	}
	// A flow in progress (not intercepted) cannot be edited: shown by a
	// 409 on a flow that is neither over nor held is hard to catch, so
	// only the unknown flow is checked here.
	if r := e.req(nil, "PUT", "/flows/00000000-0000-0000-0000-000000000000", `{}`, nil); r.StatusCode != 404 {
		t.Errorf("unknown flow: %d", r.StatusCode)
	}
}

// wsDial opens /updates with the API client's cookies.
func (e *env) wsDial() (*websocket.Reader, net.Conn) {
	e.t.Helper()
	u, _ := url.Parse(e.base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	var cookies []string
	for _, ck := range e.api.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	req := "GET /updates HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nCookie: " + strings.Join(cookies, "; ") + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		e.t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		e.t.Fatalf("upgrade: %v %v", resp, err)
	}
	return websocket.NewReader(br, websocket.Client, nil), c
}

func TestUpdates(t *testing.T) {
	e := start(t)
	e.login()
	rd, conn := e.wsDial()
	msgs := wsMessages(rd)
	var seen []any
	next := func(typ string) map[string]any {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("connection closed waiting for %s (after %v)", typ, seen)
				}
				seen = append(seen, m["type"])
				if m["type"] == typ {
					return m
				}
			case <-timeout:
				t.Fatalf("no %s (after %v)", typ, seen)
			}
		}
	}
	e.get("/ws")
	add := next("flows/add")
	f := add["payload"].(map[string]any)["flow"].(map[string]any)
	id := f["id"].(string)
	if f["response"] != nil {
		t.Errorf("flows/add has a response already: %v", f)
	}
	var done bool
	for !done {
		upd := next("flows/update")
		uf := upd["payload"].(map[string]any)["flow"].(map[string]any)
		if uf["id"] != id {
			t.Fatalf("update of another flow: %v", uf)
		}
		done = uf["response"] != nil
	}
	e.call("PUT", "/options", `{"anticache": true}`)
	o := next("options/update")["payload"].(map[string]any)
	if o["anticache"].(map[string]any)["value"] != true {
		t.Errorf("options/update: %v", o)
	}
	e.call("DELETE", "/flows/"+id, nil)
	if rm := next("flows/remove"); rm["payload"] != id {
		t.Errorf("flows/remove: %v", rm)
	}
	e.call("POST", "/clear", nil)
	next("events/reset")
	e.m.Addons.Log().Info("a log line")
	if ev := next("events/add")["payload"].(map[string]any); ev["message"] != "a log line" || ev["level"] != "info" {
		t.Errorf("events/add: %v", ev)
	}
	// flows/updateFilter is answered.
	w := websocket.NewWriter(conn, websocket.Client, nil)
	e.get("/x")
	next("flows/add")
	testutil.Eventually(t, wait, func() bool {
		fl := e.flows()
		return len(fl) == 1 && fl[0]["response"] != nil
	}, "the flow done")
	_ = w.WriteMessage(websocket.OpText, []byte(`{"type":"flows/updateFilter","payload":{"name":"search","expr":"~u /x"}}`), nil)
	fu := next("flows/filterUpdate")["payload"].(map[string]any)
	if fu["name"] != "search" || len(fu["matching_flow_ids"].([]any)) != 1 {
		t.Errorf("filterUpdate: %v", fu)
	}
	// Later flows say whether they match the connection's filters.
	e.get("/x2")
	if mf := next("flows/add")["payload"].(map[string]any)["matching_filters"]; mf.(map[string]any)["search"] != true {
		t.Errorf("matching_filters of /x2: %v", mf)
	}
	e.get("/y")
	if mf := next("flows/add")["payload"].(map[string]any)["matching_filters"]; mf.(map[string]any)["search"] != false {
		t.Errorf("matching_filters of /y: %v", mf)
	}
	// A new view filter resets the flows and answers the filters again.
	e.call("PUT", "/options", `{"view_filter": "~u /y"}`)
	next("flows/reset")
	if fu := next("flows/filterUpdate")["payload"].(map[string]any); fu["name"] != "search" {
		t.Errorf("filterUpdate after reset: %v", fu)
	}
}

// TestInFlight: a flow the proxy is still working on (not intercepted) is
// not edited (409); a command that marks it is shown from its last JSON,
// with the marker; it completes as usual.
func TestInFlight(t *testing.T) {
	e := start(t)
	e.login()
	id, free, done := e.slowFlow()
	if r := e.req(nil, "PUT", "/flows/"+id, `{"comment": "x"}`, nil); r.StatusCode != 409 {
		t.Errorf("edit in flight: %d", r.StatusCode)
	}
	e.call("POST", "/commands/flow.mark", `{"arguments": ["@`+id+`", ":default:"]}`)
	if f := e.flows()[0]; f["marked"] == "" || f["response"] != nil {
		t.Errorf("marked in flight: %v", f)
	}
	free()
	if r := <-done; r.err != nil {
		t.Fatal(r.err)
	}
	testutil.Eventually(t, wait, func() bool {
		f := e.flows()[0]
		return f["response"] != nil && f["marked"] != ""
	}, "the flow complete, still marked")
}

// wsMessages reads an /updates connection's messages into a channel,
// closed when the connection ends.
func wsMessages(rd *websocket.Reader) chan map[string]any {
	msgs := make(chan map[string]any, 100)
	go func() {
		defer close(msgs)
		for {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(ev.Payload, &m) == nil {
				msgs <- m
			}
		}
	}()
	return msgs
}

// fetchResult is what a client got through the proxy.
type fetchResult struct {
	body string
	err  error
}

// slowFlow sends a request through the proxy to an origin that answers
// ("late") only once free is called, and returns the flow's id once the
// flow, in flight, is in /flows; done receives what the client got.
func (e *env) slowFlow() (id string, free func(), done chan fetchResult) {
	e.t.Helper()
	release := make(chan struct{})
	slow := testutil.HTTPOrigin(e.t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = io.WriteString(w, "late")
	}))
	var once sync.Once
	free = func() { once.Do(func() { close(release) }) }
	e.t.Cleanup(free) // before the origin closes, should the test fail early
	done = make(chan fetchResult, 1)
	go func() {
		resp, err := e.proxied().Get(slow.URL + "/slow")
		if err != nil {
			done <- fetchResult{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fetchResult{string(b), err}
	}()
	testutil.Eventually(e.t, wait, func() bool {
		if fl := e.flows(); len(fl) == 1 {
			id = fl[0]["id"].(string)
			return true
		}
		return false
	}, "the flow in flight in /flows")
	return id, free, done
}
