package stickycookie

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, expr string) (*addon.Manager, *StickyCookie) {
	t.Helper()
	m := addon.NewManager()
	sc := New()
	if err := m.Add(sc); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: expr}); err != nil {
		t.Fatal(err)
	}
	return m, sc
}

func newFlow(t *testing.T, url string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), nil)
	req, err := flow.NewRequest("GET", url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	return f
}

// respond runs the response hook for a response to url that sets cookies.
func respond(t *testing.T, sc *StickyCookie, url string, setCookies ...string) {
	t.Helper()
	f := newFlow(t, url)
	f.Response = flow.NewResponse(200, nil, nil)
	for _, c := range setCookies {
		f.Response.Headers.Add("Set-Cookie", c)
	}
	sc.Response(f)
}

func (s *StickyCookie) keys() []origin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]origin(nil), s.origins...)
}

func TestConfigure(t *testing.T) {
	m, sc := setup(t, "")
	if err := m.Options().Update(map[string]any{OptionName: "~b"}); err == nil || !strings.Contains(err.Error(), "stickycookie") {
		t.Fatalf("error %v, want one naming the option", err)
	}
	if sc.flt.Get() != nil {
		t.Fatal("invalid filter left active")
	}
	if err := m.Options().Update(map[string]any{OptionName: "foo"}); err != nil || sc.flt.Get() == nil {
		t.Fatalf("err %v", err)
	}
	if err := m.Options().Update(map[string]any{OptionName: "~b"}); err == nil {
		t.Fatal("invalid filter accepted")
	}
	if sc.flt.Get() == nil {
		t.Fatal("active filter dropped by a rejected one")
	}
	if err := m.Options().Update(map[string]any{OptionName: nil}); err != nil || sc.flt.Get() != nil {
		t.Fatalf("err %v", err)
	}
}

func TestSimple(t *testing.T) {
	_, sc := setup(t, ".*")
	f := newFlow(t, "http://example.com/")
	f.Response = flow.NewResponse(200, nil, flow.NewHeaders("set-cookie", "foo=bar"))
	sc.Request(f)
	sc.Response(f)
	if len(sc.keys()) == 0 {
		t.Fatal("jar empty")
	}
	if f.Request.Headers.Has("cookie") {
		t.Fatal("cookie set on the first request")
	}
	f = newFlow(t, "http://example.com/")
	sc.Request(f)
	if got := f.Request.Headers.Get("cookie"); got != "foo=bar" {
		t.Fatalf("cookie = %q", got)
	}
	if v, _ := f.Metadata.Get("stickycookie"); v != true {
		t.Error("metadata not set")
	}
}

func TestOffDoesNothing(t *testing.T) {
	_, sc := setup(t, "")
	respond(t, sc, "http://example.com/", "foo=bar")
	if len(sc.keys()) != 0 {
		t.Fatal("cookies stored while off")
	}
}

func TestResponse(t *testing.T) {
	_, sc := setup(t, ".*")
	c := "SSID=mooo; domain=.google.com, FOO=bar; Domain=.google.com; Path=/; " +
		"Expires=Wed, 13-Jan-2021 22:23:01 GMT; Secure; "
	respond(t, sc, "http://host/", c)
	if len(sc.keys()) != 0 {
		t.Fatalf("cookie for another domain stored: %v", sc.keys())
	}
	respond(t, sc, "http://www.google.com/", c)
	if got, want := sc.keys(), []origin{{".google.com", 80, "/"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	// FOO expired in 2021; only SSID is kept.
	if got := sc.jar[origin{".google.com", 80, "/"}].names; !reflect.DeepEqual(got, []string{"SSID"}) {
		t.Fatalf("cookies = %v", got)
	}

	_, sc = setup(t, ".*")
	respond(t, sc, "http://www.google.com/", "SSID=mooo")
	if got, want := sc.keys(), []origin{{"www.google.com", 80, "/"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
}

func TestResponseMultipleWeirdOverwriteDelete(t *testing.T) {
	_, sc := setup(t, ".*")
	respond(t, sc, "http://www.google.com/", "somecookie=test; Path=/", "othercookie=helloworld; Path=/")
	respond(t, sc, "http://www.google.com/", "foo/bar=hello", "foo:bar=world", "foo@bar=fizz")
	key := origin{"www.google.com", 80, "/"}
	if got := sc.jar[key].names; len(got) != 5 {
		t.Fatalf("cookies = %v", got)
	}
	respond(t, sc, "http://www.google.com/", "somecookie=newvalue; Path=/")
	if got := sc.jar[key].values["somecookie"]; got != "newvalue" || len(sc.jar[key].names) != 5 {
		t.Fatalf("somecookie = %q, %v", got, sc.jar[key].names)
	}
	if sc.jar[key].names[0] != "somecookie" {
		t.Errorf("overwriting moved the cookie: %v", sc.jar[key].names)
	}
	for _, n := range []string{"somecookie", "othercookie", "foo/bar", "foo:bar"} {
		respond(t, sc, "http://www.google.com/", n+"=; Expires=Thu, 01-Jan-1970 00:00:00 GMT")
	}
	respond(t, sc, "http://www.google.com/", "foo@bar=; Max-Age=0")
	if len(sc.keys()) != 0 {
		t.Fatalf("jar not empty: %v", sc.keys())
	}
}

func TestRequest(t *testing.T) {
	_, sc := setup(t, ".*")
	respond(t, sc, "http://www.google.com/", "SSID=mooo", "b=2; Path=/b", `q=has space`)
	respond(t, sc, "http://x.google.com/", "dom=1; Domain=.google.com")
	respond(t, sc, "http://www.google.com:8080/", "port=1")
	tests := []struct {
		url, want string
	}{
		{"http://www.google.com/", `SSID=mooo; q="has space"; dom=1`},
		{"http://www.google.com/b/c", `SSID=mooo; q="has space"; b=2; dom=1`},
		{"http://WWW.GOOGLE.COM/", `SSID=mooo; q="has space"; dom=1`},
		{"http://mail.google.com/", "dom=1"},
		{"http://google.com/", "dom=1"},
		{"http://www.google.com:8080/", "port=1"},
		{"http://example.com/", ""},
	}
	for _, tt := range tests {
		f := newFlow(t, tt.url)
		f.Request.Headers.Set("Cookie", "mine=1")
		sc.Request(f)
		want := tt.want
		if want == "" {
			want = "mine=1"
		}
		if got := f.Request.Headers.Get("cookie"); got != want {
			t.Errorf("%s: cookie = %q, want %q", tt.url, got, want)
		}
	}
}

func TestRequestFilter(t *testing.T) {
	_, sc := setup(t, "~d example.com")
	respond(t, sc, "http://example.org/", "a=1")
	respond(t, sc, "http://example.com/", "b=2")
	f := newFlow(t, "http://example.org/")
	sc.Request(f)
	if f.Request.Headers.Has("cookie") {
		t.Error("filter not applied to requests")
	}
	f = newFlow(t, "http://example.com/")
	sc.Request(f)
	if got := f.Request.Headers.Get("cookie"); got != "b=2" {
		t.Errorf("cookie = %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	_, sc := setup(t, ".*")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				respond(t, sc, "http://example.com/", "a=1", "b=; Max-Age=0")
				sc.Request(newFlow(t, "http://example.com/"))
			}
		}()
	}
	wg.Wait()
}

func TestDomainMatch(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"www.google.com", ".google.com", true},
		{"google.com", ".google.com", true}, // with the dot trimmed
		{"google.com", "google.com", true},
		{"www.google.com", "google.com", false},
		{"x.y.com", ".Y.com", true},
		{"1.2.3.4", ".3.4", false},
		{"1.2.3.4", "1.2.3.4", true},
		{"evilgoogle.com", ".google.com", false},
		{"www.google.com", ".com", true},
		{"a", "", false},
	}
	for _, tt := range tests {
		if got := hostMatches(tt.a, tt.b); got != tt.want {
			t.Errorf("hostMatches(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestRequestBareCookie: a cookie set without "=" is stored as mitmproxy
// stores its value None, and sent back as the bare name.
func TestRequestBareCookie(t *testing.T) {
	_, sc := setup(t, ".*")
	respond(t, sc, "http://example.com/", "bare; Path=/", "empty=", "a=1")
	respond(t, sc, "http://example.com/", "a")
	f := newFlow(t, "http://example.com/")
	sc.Request(f)
	if got, want := f.Request.Headers.Get("cookie"), "bare; empty=; a"; got != want {
		t.Errorf("cookie = %q, want %q", got, want)
	}
	respond(t, sc, "http://example.com/", "a=2")
	f = newFlow(t, "http://example.com/")
	sc.Request(f)
	if got, want := f.Request.Headers.Get("cookie"), "bare; empty=; a=2"; got != want {
		t.Errorf("cookie = %q, want %q", got, want)
	}
}
