package stickycookie

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

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
	if sc.flt.Load() != nil {
		t.Fatal("invalid filter left active")
	}
	if err := m.Options().Update(map[string]any{OptionName: "foo"}); err != nil || sc.flt.Load() == nil {
		t.Fatalf("err %v", err)
	}
	if err := m.Options().Update(map[string]any{OptionName: "~b"}); err == nil {
		t.Fatal("invalid filter accepted")
	}
	if sc.flt.Load() == nil {
		t.Fatal("active filter dropped by a rejected one")
	}
	if err := m.Options().Update(map[string]any{OptionName: nil}); err != nil || sc.flt.Load() != nil {
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

func TestParseSetCookie(t *testing.T) {
	// Expectations from mitmproxy 8.1.1's parse_set_cookie_header.
	tests := []struct {
		in   string
		want []setCookie
	}{
		{"SSID=mooo; domain=.google.com, FOO=bar; Domain=.google.com; Path=/; Expires=Wed, 13-Jan-2021 22:23:01 GMT; Secure; ",
			[]setCookie{{"SSID", "mooo", [][2]string{{"domain", ".google.com"}}},
				{"FOO", "bar", [][2]string{{"Domain", ".google.com"}, {"Path", "/"}, {"Expires", "Wed, 13-Jan-2021 22:23:01 GMT"}, {"Secure", ""}}}}},
		{`a="quo\"ted;,"; Path=/x`, []setCookie{{"a", `quo"ted;,`, [][2]string{{"Path", "/x"}}}}},
		{"noval", []setCookie{{"noval", "", nil}}},
		{" , ,a=b", []setCookie{{"a", "b", nil}}},
		{"a=b; expires=Thu, 01 Jan 1970 00:00:00 GMT, c=d", []setCookie{{"a", "b", [][2]string{{"expires", "Thu, 01 Jan 1970 00:00:00 GMT"}}}, {"c", "d", nil}}},
		{`x="unterminated`, []setCookie{{"x", "unterminated", nil}}},
		{"k=v;", []setCookie{{"k", "v", nil}}},
		{"=v", []setCookie{{"", "v", nil}}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := parseSetCookie(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseSetCookie(%q) =\n%v\nwant\n%v", tt.in, got, tt.want)
		}
	}
	c := parseSetCookie("a=b; Max-Age=0; max-age=5")[0]
	if v, _ := c.attr("MAX-AGE"); v != "5" {
		t.Errorf("attr lookup = %q, want the last value", v)
	}
}

func TestFormatCookieHeader(t *testing.T) {
	got := formatCookieHeader([][2]string{{"a", "b c"}, {"d", `e"f\`}, {"g", "h"}})
	if want := `a="b c"; d="e\"f\\"; g=h`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseDate(t *testing.T) {
	// Expectations from CPython 3.11's email.utils.parsedate_tz + mktime_tz.
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"Wed, 13-Jan-2021 22:23:01 GMT", 1610576581, true},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0, true},
		{"Sun Nov  6 08:49:37 1994", 784111777, true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", 784111777, true},
		{"6 Nov 1994 08:49 +0130", 784106340, true},
		{"Nov 6 1994 08:49:37 -0000", 784111777, true},
		{"06 November 94 08.49.37 EST", 784129777, true},
		{"garbage", 0, false},
		{"", 0, false},
		{"Wed, 13 Foo 2021 22:23:01 GMT", 0, false},
		{"13 Jan 2021 22", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		if ok != tt.ok || (ok && got.Unix() != tt.want) {
			t.Errorf("parseDate(%q) = %v (%d), %v; want %d, %v", tt.in, got, got.Unix(), ok, tt.want, tt.ok)
		}
	}
}

func TestExpired(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		cookie string
		want   bool
	}{
		{"a=b", false},
		{"a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT", true},
		{"a=b; Expires=Thu, 01 Jan 2099 00:00:00 GMT", false},
		{"a=b; Expires=nonsense; Max-Age=0", false},
		{"a=b; Max-Age=0", true},
		{"a=b; Max-Age=-1", true},
		{"a=b; Max-Age=10", false},
		{"a=b; Max-Age=x", false},
	}
	for _, tt := range tests {
		c := parseSetCookie(tt.cookie)[0]
		if got := c.expired(now); got != tt.want {
			t.Errorf("%q expired = %v, want %v", tt.cookie, got, tt.want)
		}
	}
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

func FuzzParseSetCookie(f *testing.F) {
	for _, s := range []string{"a=b; Path=/", `a="x\"y"`, "a=b; expires=Wed, 21 Oct", ",,,=", `"`, "a=\"", "expires=Wed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseSetCookie(s) {
			c.expired(time.Now())
			c.attr("domain")
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Wed, 13-Jan-2021 22:23:01 GMT", "Sun Nov  6 08:49:37 1994", "1 2 3 4 5", "a, b c", "x 1 jan 1:2 -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseDate(s)
	})
}
