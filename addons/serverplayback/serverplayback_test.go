package serverplayback

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
)

const flowsDir = "../../../shared/testdata/mitmproxy-flows"

func setup(t *testing.T, specs ...string) (*ServerPlayback, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	s := New()
	if err := m.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return s, m
}

// req builds a live flow for method and url with optional body and
// headers ("Name: value").
func req(t testing.TB, method, url, body string, headers ...string) *flow.HTTPFlow {
	t.Helper()
	r, err := flow.NewRequest(method, url, []byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Added afterwards: NewRequest would make a Host header follow the URL.
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		r.Headers.Add(k, v)
	}
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{}, "regular"), flow.NewServer(flow.Address{}))
	f.Request = r
	return f
}

// recorded is a flow with a response whose body names it.
func recorded(t testing.TB, name, method, url, body string, headers ...string) *flow.HTTPFlow {
	f := req(t, method, url, body, headers...)
	f.SetLive(false)
	f.Response = flow.NewResponse(200, []byte(name), nil)
	return f
}

func answer(s *ServerPlayback, f *flow.HTTPFlow) string {
	s.Request(f)
	switch {
	case f.Response != nil:
		return string(f.Response.RawContent)
	case f.Killed():
		return "killed"
	}
	return "forward"
}

func TestMatching(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	mp := "multipart/form-data; boundary=XX"
	mpBody := func(a, b string) string {
		return "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + a +
			"\r\n--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n" + b + "\r\n--XX--\r\n"
	}
	tests := []struct {
		name   string
		specs  []string
		stored *flow.HTTPFlow
		query  *flow.HTTPFlow
		match  bool
	}{
		{"same", nil, recorded(t, "r", "GET", "http://a.com/x?q=1", ""), req(t, "GET", "http://a.com/x?q=1", ""), true},
		{"method", nil, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "POST", "http://a.com/x", ""), false},
		{"scheme", nil, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "GET", "https://a.com:80/x", ""), false},
		{"path", nil, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "GET", "http://a.com/y", ""), false},
		{"path params ignored", nil, recorded(t, "r", "GET", "http://a.com/x;v=1", ""), req(t, "GET", "http://a.com/x;v=2", ""), true},
		{"query", nil, recorded(t, "r", "GET", "http://a.com/x?q=1", ""), req(t, "GET", "http://a.com/x?q=2", ""), false},
		{"query encoding", nil, recorded(t, "r", "GET", "http://a.com/x?q=a+b", ""), req(t, "GET", "http://a.com/x?q=a%20b", ""), true},
		{"query order", nil, recorded(t, "r", "GET", "http://a.com/x?a=1&b=2", ""), req(t, "GET", "http://a.com/x?b=2&a=1", ""), false},
		{"ignore params", []string{"server_replay_ignore_params=t"}, recorded(t, "r", "GET", "http://a.com/x?q=1&t=5", ""), req(t, "GET", "http://a.com/x?t=9&q=1", ""), true},
		{"body", nil, recorded(t, "r", "POST", "http://a.com/x", "one"), req(t, "POST", "http://a.com/x", "two"), false},
		{"ignore content", []string{"server_replay_ignore_content=true"}, recorded(t, "r", "POST", "http://a.com/x", "one"), req(t, "POST", "http://a.com/x", "two"), true},
		{"host", nil, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "GET", "http://b.com/x", ""), false},
		{"ignore host", []string{"server_replay_ignore_host=true"}, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "GET", "http://b.com/x", ""), true},
		{"host header counts", nil, recorded(t, "r", "GET", "http://a.com/x", "", "Host: a.com"), req(t, "GET", "http://a.com/x", "", "Host: c.com"), false},
		{"port", nil, recorded(t, "r", "GET", "http://a.com:81/x", ""), req(t, "GET", "http://a.com:82/x", ""), false},
		{"ignore port", []string{"server_replay_ignore_port=true"}, recorded(t, "r", "GET", "http://a.com:81/x", ""), req(t, "GET", "http://a.com:82/x", ""), true},
		{"headers not used", nil, recorded(t, "r", "GET", "http://a.com/x", "", "X-A: 1"), req(t, "GET", "http://a.com/x", "", "X-A: 2"), true},
		{"use headers", []string{"server_replay_use_headers=x-a"}, recorded(t, "r", "GET", "http://a.com/x", "", "X-A: 1"), req(t, "GET", "http://a.com/x", "", "X-A: 2"), false},
		{"use headers same", []string{"server_replay_use_headers=x-a"}, recorded(t, "r", "GET", "http://a.com/x", "", "X-A: 1"), req(t, "GET", "http://a.com/x", "", "x-a: 1"), true},
		{"use headers absent vs empty", []string{"server_replay_use_headers=x-a"}, recorded(t, "r", "GET", "http://a.com/x", ""), req(t, "GET", "http://a.com/x", "", "X-A: "), false},
		{"form param ignored", []string{"server_replay_ignore_payload_params=ts"},
			recorded(t, "r", "POST", "http://a.com/f", "a=1&ts=5", "Content-Type: "+form),
			req(t, "POST", "http://a.com/f", "a=1&ts=6", "Content-Type: "+form), true},
		{"form param kept", []string{"server_replay_ignore_payload_params=ts"},
			recorded(t, "r", "POST", "http://a.com/f", "a=1&ts=5", "Content-Type: "+form),
			req(t, "POST", "http://a.com/f", "a=2&ts=5", "Content-Type: "+form), false},
		{"multipart param ignored", []string{"server_replay_ignore_payload_params=b"},
			recorded(t, "r", "POST", "http://a.com/f", mpBody("1", "x"), "Content-Type: "+mp),
			req(t, "POST", "http://a.com/f", mpBody("1", "y"), "Content-Type: "+mp), true},
		{"multipart param kept", []string{"server_replay_ignore_payload_params=b"},
			recorded(t, "r", "POST", "http://a.com/f", mpBody("1", "x"), "Content-Type: "+mp),
			req(t, "POST", "http://a.com/f", mpBody("2", "x"), "Content-Type: "+mp), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := setup(t, tt.specs...)
			s.LoadFlows([]any{tt.stored})
			got := answer(s, tt.query)
			if (got == "r") != tt.match {
				t.Errorf("answer %q, match %v", got, tt.match)
			}
			if tt.match && tt.query.IsReplay != "response" {
				t.Errorf("is_replay %q", tt.query.IsReplay)
			}
		})
	}
}

func TestOrderReuseAndExtra(t *testing.T) {
	stored := func() []any {
		return []any{
			recorded(t, "1", "GET", "http://a.com/x", ""),
			recorded(t, "2", "GET", "http://a.com/x", ""),
			recorded(t, "other", "GET", "http://a.com/other", ""),
		}
	}
	tests := []struct {
		specs []string
		want  string // answers to /x, /x, /x, /nomatch, /other, /nomatch
	}{
		{nil, "1 2 forward forward other forward"},
		{[]string{"server_replay_reuse=true"}, "1 1 1 forward other forward"},
		{[]string{"server_replay_nopop=true"}, "1 1 1 forward other forward"},
		{[]string{"server_replay_extra=kill"}, "1 2 killed killed other forward"},
		{[]string{"server_replay_kill_extra=true"}, "1 2 killed killed other forward"},
		{[]string{"server_replay_extra=404"}, "1 2 404 404 other forward"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.specs), func(t *testing.T) {
			s, _ := setup(t, tt.specs...)
			s.LoadFlows(stored())
			if s.Count() != 3 || !s.Busy() {
				t.Fatalf("Count() = %d", s.Count())
			}
			var got []string
			for _, p := range []string{"/x", "/x", "/x", "/nomatch", "/other", "/nomatch"} {
				f := req(t, "GET", "http://a.com"+p, "")
				a := answer(s, f)
				if f.Response != nil && f.Response.StatusCode == 404 {
					a = "404"
					if f.IsReplay != "response" {
						t.Errorf("extra 404 is_replay %q", f.IsReplay)
					}
				}
				got = append(got, a)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("answers %q, want %q", g, tt.want)
			}
		})
	}
}

func TestFlowsWithoutResponseSkipped(t *testing.T) {
	s, _ := setup(t)
	noResp := req(t, "GET", "http://a.com/x", "")
	s.LoadFlows([]any{noResp, recorded(t, "ok", "GET", "http://a.com/x", ""), flow.NewTCPFlow(nil, nil)})
	if s.Count() != 2 {
		t.Fatalf("Count() = %d, want 2 (the TCP flow is ignored)", s.Count())
	}
	if got := answer(s, req(t, "GET", "http://a.com/x", "")); got != "ok" {
		t.Errorf("answer %q", got)
	}
	if s.Count() != 0 || s.Busy() {
		t.Errorf("Count() = %d after use", s.Count())
	}
}

func TestOptionChangeRebuilds(t *testing.T) {
	s, m := setup(t)
	s.LoadFlows([]any{recorded(t, "r", "GET", "http://a.com/x", "")})
	if got := answer(s, req(t, "GET", "http://b.com/x", "")); got != "forward" {
		t.Fatalf("answer %q before ignoring the host", got)
	}
	if err := m.Options().Set("server_replay_ignore_host=true"); err != nil {
		t.Fatal(err)
	}
	if got := answer(s, req(t, "GET", "http://b.com/x", "")); got != "r" {
		t.Errorf("answer %q after ignoring the host", got)
	}
}

func TestReplayFile(t *testing.T) {
	if _, err := os.Stat(flowsDir); err != nil {
		t.Skipf("mitmproxy's flow files are not available (%v); skipping", err)
	}
	path := filepath.Join(flowsDir, "dumpfile-7.mitm")
	s, m := setup(t, "server_replay="+path, "server_replay_refresh=false")
	flows, err := readfile.ReadFlows([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if s.Count() != len(flows) {
		t.Fatalf("Count() = %d, want %d", s.Count(), len(flows))
	}
	for _, fl := range flows {
		rec := fl.(*flow.HTTPFlow)
		f := req(t, "GET", "http://x/", "")
		f.Request = rec.Request.Clone()
		m.Request(f)
		if f.Response == nil || string(f.Response.RawContent) != string(rec.Response.RawContent) || f.Response.StatusCode != rec.Response.StatusCode {
			t.Errorf("request %s %s not answered from the file", rec.Request.Method, rec.Request.URL())
		}
		if f.Response != nil && f.Response.Headers.Get("date") != rec.Response.Headers.Get("date") {
			t.Errorf("date refreshed with server_replay_refresh=false")
		}
	}
	// Reading happens once.
	if err := m.Options().Set("server_replay_extra=404"); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 0 {
		t.Errorf("flows reloaded: Count() = %d", s.Count())
	}
}

func TestBadFileRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mitm")
	if err := os.WriteFile(bad, []byte("5:hello,junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.mitm")} {
		m := addon.NewManager()
		if err := m.Add(New()); err != nil {
			t.Fatal(err)
		}
		err := m.Options().Set("server_replay=" + path)
		if err == nil || !strings.Contains(err.Error(), "server_replay") || !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("server_replay=%s: error %v", path, err)
		}
	}
}

func TestRefresh(t *testing.T) {
	recordedAt := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	now := recordedAt.Add(36*time.Hour + 500*time.Millisecond)
	r := flow.NewResponse(200, nil, flow.NewHeaders(
		"Date", "Wed, 01 Jan 2020 12:00:00 GMT",
		"Expires", "Wed, 01 Jan 2020 13:00:00 GMT",
		"Last-Modified", "Tuesday, 31-Dec-19 12:00:00 GMT",
		"Cache-Control", "max-age=3600",
		"Set-Cookie", "a=1; Expires=Wed, 01 Jan 2020 14:00:00 GMT; Path=/",
		"Set-Cookie", "b=2; expires=garbage; HttpOnly",
		"Set-Cookie", "c=3; Max-Age=60",
		"Set-Cookie", "=novalue; Expires=Wed, 01 Jan 2020 14:00:00 GMT",
	))
	r.TimestampStart = float64(recordedAt.Unix())
	Refresh(r, now)
	want := flow.NewHeaders(
		"Date", "Fri, 03 Jan 2020 00:00:00 GMT",
		"Expires", "Fri, 03 Jan 2020 01:00:00 GMT",
		"Last-Modified", "Thu, 02 Jan 2020 00:00:00 GMT",
		"Cache-Control", "max-age=3600",
		"Set-Cookie", "a=1; Expires=Fri, 03 Jan 2020 02:00:00 GMT; Path=/",
		"Set-Cookie", "b=2; HttpOnly",
		"Set-Cookie", "c=3; Max-Age=60",
		"Set-Cookie", "=novalue; Expires=Wed, 01 Jan 2020 14:00:00 GMT",
		"content-length", "0",
	)
	if r.Headers.String() != want.String() {
		t.Errorf("refreshed headers:\n%s\nwant\n%s", r.Headers, want)
	}
}

func TestRefreshedOnReplay(t *testing.T) {
	s, _ := setup(t)
	rec := recorded(t, "r", "GET", "http://a.com/x", "")
	rec.Response.Headers.Set("date", "Wed, 01 Jan 2020 12:00:00 GMT")
	rec.Response.TimestampStart = float64(time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC).Unix())
	s.Now = func() time.Time { return time.Date(2020, 1, 2, 12, 0, 0, 0, time.UTC) }
	s.LoadFlows([]any{rec})
	f := req(t, "GET", "http://a.com/x", "")
	s.Request(f)
	if got := f.Response.Headers.Get("date"); got != "Thu, 02 Jan 2020 12:00:00 GMT" {
		t.Errorf("date %q", got)
	}
	if rec.Response.Headers.Get("date") != "Wed, 01 Jan 2020 12:00:00 GMT" {
		t.Error("the recorded response was changed")
	}
}

func TestParseQSL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "[]"},
		{"a=1&b=2", "[{a 1} {b 2}]"},
		{"a&b=&=c", "[{a } {b } { c}]"},
		{"&&a=1&", "[{a 1}]"},
		{"q=a+b%20c", "[{q a b c}]"},
		{"bad=%zz%4", "[{bad %zz%4}]"},
		{"x=%ff%fe", "[{x \uFFFD\uFFFD}]"},
		{"x=\xe8%41", "[{x \xe8A}]"},
		{"a=1;b=2", "[{a 1;b=2}]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(parseQSL(tt.in)); got != tt.want && !(got == "[]" && tt.want == "[]") {
			t.Errorf("parseQSL(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSplitURLPath(t *testing.T) {
	tests := []struct{ in, path, query string }{
		{"/a/b?c=d", "/a/b", "c=d"},
		{"/a;p/b;q?x#frag", "/a;p/b", "x"},
		{"/a#f?notquery", "/a", ""},
		{"*", "*", ""},
	}
	for _, tt := range tests {
		p, q := splitURLPath(tt.in)
		if p != tt.path || q != tt.query {
			t.Errorf("splitURLPath(%q) = %q, %q", tt.in, p, q)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, _ := setup(t)
	var stored []any
	for i := range 100 {
		stored = append(stored, recorded(t, fmt.Sprint(i), "GET", "http://a.com/x", ""))
	}
	s.LoadFlows(stored)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got := answer(s, req(t, "GET", "http://a.com/x", ""))
				mu.Lock()
				if seen[got] {
					t.Errorf("response %s used twice", got)
				}
				seen[got] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 100 || s.Count() != 0 {
		t.Errorf("%d distinct answers, Count() = %d", len(seen), s.Count())
	}
}
