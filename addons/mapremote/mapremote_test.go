package mapremote

import (
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, rules ...string) (*addon.Manager, *MapRemote) {
	t.Helper()
	m := addon.NewManager()
	mr := New()
	if err := m.Add(mr); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: rules}); err != nil {
		t.Fatal(err)
	}
	return m, mr
}

func newFlow(t *testing.T, url string, headers ...string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), nil)
	req, err := flow.NewRequest("GET", url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Headers are added after the URL so that a Host header can differ
	// from the URL's host, as in transparent mode.
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers.Add(headers[i], headers[i+1])
	}
	f.Request = req
	return f
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		rules   []string
		wantErr string
	}{
		{[]string{"one/two/three"}, ""},
		{[]string{"/a/b/c/"}, ""},
		{[]string{"/~q/b/c/"}, ""},
		{[]string{"/"}, "Cannot parse map_remote option /: Invalid number of parameters"},
		{[]string{""}, "Invalid number of parameters"},
		{[]string{"/~b/two/three"}, "Invalid filter expression"},
		{[]string{"/foo/+/three"}, "Invalid regular expression"},
		{[]string{"/(?=x)/y"}, "Invalid regular expression"},
		{[]string{`/(a)/\2`}, "invalid group reference 2"},
		{[]string{`/a/\q`}, `bad escape \q`},
	}
	for _, tt := range tests {
		m, _ := setup(t)
		err := m.Options().Update(map[string]any{OptionName: tt.rules})
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.rules, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), OptionName) {
			t.Errorf("%q: error %v, want one naming %s and containing %q", tt.rules, err, OptionName, tt.wantErr)
		}
	}
}

func TestBadConfigKeepsActiveRules(t *testing.T) {
	m, mr := setup(t, ":example.org:mitmproxy.org")
	if err := m.Options().Update(map[string]any{OptionName: []string{":a:b", "/foo/+/three"}}); err == nil {
		t.Fatal("a bad rule was accepted")
	}
	if got := m.Options().Strings(OptionName); len(got) != 1 {
		t.Errorf("option not rolled back: %q", got)
	}
	f := newFlow(t, "https://example.org/x")
	mr.Request(f)
	if got := f.Request.URL(); got != "https://mitmproxy.org/x" {
		t.Errorf("URL = %q: the old rules should still be active", got)
	}
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name    string
		rules   []string
		url     string
		headers []string
		want    string
		host    string // expected Host header, if any
	}{
		{"simple", []string{":example.org/images/:mitmproxy.org/img/"}, "https://example.org/images/test.jpg", nil, "https://mitmproxy.org/img/test.jpg", ""},
		{"no match", []string{":nomatch:x"}, "https://example.org/a", nil, "https://example.org/a", ""},
		{"groups", []string{`|https://([^/]+)/(\w+)|http://\2.\1:8080/`}, "https://example.org/api?q=1", nil, "http://api.example.org:8080/?q=1", ""},
		{"named group", []string{`|(?P<h>example)\.org|\g<h>.com`}, "http://example.org/", nil, "http://example.com/", ""},
		{"host header follows", []string{":example.org:mitmproxy.org"}, "http://example.org/", []string{"Host", "example.org"}, "http://mitmproxy.org/", "mitmproxy.org"},
		{"pretty url uses host header", []string{":pretty.example:other.example"}, "http://10.0.0.1/p", []string{"Host", "pretty.example"}, "http://other.example/p", "other.example"},
		{"rules chain", []string{":a.example:b.example", ":b.example:c.example"}, "http://a.example/", nil, "http://c.example/", ""},
		{"filter selects", []string{":~m POST:example.org:x.org"}, "http://example.org/", nil, "http://example.org/", ""},
		{"filter matches", []string{":~m GET:example.org:x.org"}, "http://example.org/", nil, "http://x.org/", ""},
		{"bad new url is ignored", []string{":http://:"}, "http://example.org/", nil, "http://example.org/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mr := setup(t, tt.rules...)
			f := newFlow(t, tt.url, tt.headers...)
			mr.Request(f)
			if got := f.Request.URL(); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			if tt.host != "" {
				if got := f.Request.Headers.Get("host"); got != tt.host {
					t.Errorf("Host = %q, want %q", got, tt.host)
				}
			}
		})
	}
}

func TestSkipsAnsweredKilledAndDeadFlows(t *testing.T) {
	_, mr := setup(t, ":example.org:mitmproxy.org")
	answered := newFlow(t, "https://example.org/")
	answered.Response = flow.NewResponse(200, nil, nil)
	killed := newFlow(t, "https://example.org/")
	if err := killed.Kill(); err != nil {
		t.Fatal(err)
	}
	dead := newFlow(t, "https://example.org/")
	dead.SetLive(false)
	for _, f := range []*flow.HTTPFlow{answered, killed, dead} {
		mr.Request(f)
		if got := f.Request.URL(); got != "https://example.org/" {
			t.Errorf("URL changed to %q", got)
		}
	}
}

func TestNotConfigured(t *testing.T) {
	f := newFlow(t, "https://example.org/")
	New().Request(f) // no Load, no Configure: a no-op
	if got := f.Request.URL(); got != "https://example.org/" {
		t.Errorf("URL changed to %q", got)
	}
}
