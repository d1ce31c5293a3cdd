package stickyauth

import (
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, expr string) (*addon.Manager, *StickyAuth) {
	t.Helper()
	m := addon.NewManager()
	sa := New()
	if err := m.Add(sa); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: expr}); err != nil {
		t.Fatal(err)
	}
	return m, sa
}

func newFlow(t *testing.T, url string, headers ...string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), nil)
	req, err := flow.NewRequest("GET", url, nil, flow.NewHeaders(headers...))
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	return f
}

func TestConfigure(t *testing.T) {
	m, sa := setup(t, "")
	if sa.flt.Get() != nil {
		t.Fatal("on without a filter")
	}
	if err := m.Options().Update(map[string]any{OptionName: "~s"}); err != nil || sa.flt.Get() == nil {
		t.Fatal(err)
	}
	err := m.Options().Update(map[string]any{OptionName: "~b"})
	if err == nil || !strings.Contains(err.Error(), "stickyauth") || !strings.Contains(err.Error(), "Invalid filter expression") {
		t.Fatalf("error %v", err)
	}
	if sa.flt.Get() == nil {
		t.Fatal("rejected filter dropped the active one")
	}
	if err := m.Options().Update(map[string]any{OptionName: nil}); err != nil || sa.flt.Get() != nil {
		t.Fatal(err)
	}
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name   string
		expr   string
		first  []string // headers of the first request, to example.com
		url    string   // of the second request, without Authorization
		second []string
		want   string
	}{
		{"replays", ".*", []string{"authorization", "foo"}, "http://example.com/other", nil, "foo"},
		{"per host", ".*", []string{"authorization", "foo"}, "http://example.org/", nil, ""},
		{"ports share", ".*", []string{"authorization", "foo"}, "http://example.com:8080/", nil, "foo"},
		{"own header wins", ".*", []string{"authorization", "foo"}, "http://example.com/", []string{"Authorization", "mine"}, "mine"},
		{"filter excludes", "~m POST", []string{"authorization", "foo"}, "http://example.com/", nil, ""},
		{"filter includes", "~u other", []string{"authorization", "foo"}, "http://example.com/other", nil, "foo"},
		{"recorded even when the filter does not match", "~u other", []string{"authorization", "foo"}, "http://example.com/other", nil, "foo"},
		{"off", "", []string{"authorization", "foo"}, "http://example.com/", nil, ""},
		{"nothing recorded", ".*", nil, "http://example.com/", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sa := setup(t, tt.expr)
			sa.Request(newFlow(t, "http://example.com/", tt.first...))
			f := newFlow(t, tt.url, tt.second...)
			sa.Request(f)
			if got := f.Request.Headers.Get("authorization"); got != tt.want {
				t.Errorf("authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLatestWins(t *testing.T) {
	_, sa := setup(t, ".*")
	sa.Request(newFlow(t, "http://example.com/", "Authorization", "one"))
	sa.Request(newFlow(t, "http://example.com/", "Authorization", "two"))
	f := newFlow(t, "http://example.com/")
	sa.Request(f)
	if got := f.Request.Headers.Get("authorization"); got != "two" {
		t.Errorf("authorization = %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	_, sa := setup(t, ".*")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				sa.Request(newFlow(t, "http://example.com/", "Authorization", "x"))
				sa.Request(newFlow(t, "http://example.com/"))
			}
		}()
	}
	wg.Wait()
}
