package upstreamauth

import (
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, auth any) (*addon.Manager, *UpstreamAuth) {
	t.Helper()
	m := addon.NewManager()
	ua := New()
	if err := m.Add(ua); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: auth}); err != nil {
		t.Fatal(err)
	}
	return m, ua
}

func newFlow(t *testing.T, mode, method, url string, headers ...string) *flow.HTTPFlow {
	t.Helper()
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, mode)
	f := flow.NewHTTPFlow(c, nil)
	req, err := flow.NewRequest(method, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Headers = flow.NewHeaders(headers...)
	f.Request = req
	return f
}

func TestHeaderValue(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"foo:bar", "Basic Zm9vOmJhcg==", ""},
		{"foo:", "Basic Zm9vOg==", ""},
		{"foo:bar:baz", "Basic Zm9vOmJhcjpiYXo=", ""},
		{"üser:pässwörd", "Basic w7xzZXI6cMOkc3N3w7ZyZA==", ""},
		{"", "", "Invalid upstream auth specification: "},
		{":bar", "", "Invalid upstream auth specification: :bar"},
		{"foo", "", "Invalid upstream auth specification: foo"},
	}
	for _, tt := range tests {
		got, err := HeaderValue(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("HeaderValue(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("HeaderValue(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestConfigure(t *testing.T) {
	m, ua := setup(t, "foo:bar")
	err := m.Options().Update(map[string]any{OptionName: "nocolon"})
	if err == nil || !strings.HasPrefix(err.Error(), "upstream_auth: Invalid upstream auth specification") {
		t.Fatalf("error %v", err)
	}
	if got := ua.auth.Load(); got == nil || *got != "Basic Zm9vOmJhcg==" {
		t.Fatal("active credentials lost after a rejected value")
	}
	if err := m.Options().Set("upstream_auth="); err != nil || ua.auth.Load() != nil {
		t.Fatalf("unset: %v", err)
	}
}

func TestHooks(t *testing.T) {
	const creds = "Basic Zm9vOmJhcg=="
	tests := []struct {
		name      string
		mode      string
		method    string
		url       string
		connect   bool // run http_connect_upstream instead of requestheaders
		header    string
		want      string
		untouched string // a header that must stay absent
	}{
		{"upstream connect", "upstream:http://proxy:3128", "CONNECT", "http://example.com:443/", true, "Proxy-Authorization", creds, "Authorization"},
		{"upstream plain http", "upstream:http://proxy:3128", "GET", "http://example.com/", false, "Proxy-Authorization", creds, "Authorization"},
		{"upstream inside tunnel", "upstream:http://proxy:3128", "GET", "https://example.com/", false, "Proxy-Authorization", "", "Authorization"},
		{"reverse", "reverse:http://example.com", "GET", "http://example.com/", false, "Authorization", creds, "Proxy-Authorization"},
		{"reverse https", "reverse:https://example.com@8443", "GET", "https://example.com/", false, "Authorization", creds, "Proxy-Authorization"},
		{"regular", "regular", "GET", "http://example.com/", false, "Proxy-Authorization", "", "Authorization"},
		{"regular unset mode", "", "GET", "http://example.com/", false, "Proxy-Authorization", "", "Authorization"},
		{"replaces", "reverse:http://example.com", "GET", "http://example.com/", false, "Authorization", creds, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ua := setup(t, "foo:bar")
			var headers []string
			if tt.name == "replaces" {
				headers = []string{"authorization", "old"}
			}
			f := newFlow(t, tt.mode, tt.method, tt.url, headers...)
			if tt.connect {
				ua.HTTPConnectUpstream(f)
			} else {
				ua.RequestHeaders(f)
			}
			if got := f.Request.Headers.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
			if tt.untouched != "" && f.Request.Headers.Has(tt.untouched) {
				t.Errorf("%s added", tt.untouched)
			}
			if tt.name == "replaces" && len(f.Request.Headers.GetAll("authorization")) != 1 {
				t.Error("header added instead of replaced")
			}
		})
	}
}

func TestOff(t *testing.T) {
	_, ua := setup(t, nil)
	f := newFlow(t, "reverse:http://example.com", "GET", "http://example.com/")
	ua.RequestHeaders(f)
	ua.HTTPConnectUpstream(f)
	if len(f.Request.Headers) != 0 {
		t.Errorf("headers added while off: %s", f.Request.Headers)
	}
}
