package blocklist

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
)

func newFlow(t *testing.T, url string) *flow.HTTPFlow {
	t.Helper()
	client := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req, err := flow.NewRequest("GET", url, nil, flow.NewHeaders("Accept", "*/*"))
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	return f
}

// setup registers the addon on a manager and sets block_list.
func setup(t *testing.T, rules ...string) (*addon.Manager, *BlockList) {
	t.Helper()
	m := addon.NewManager()
	b := New()
	if err := m.Add(b); err != nil {
		t.Fatal(err)
	}
	specs := make([]string, len(rules))
	for i, r := range rules {
		specs[i] = OptionName + "=" + r
	}
	if len(specs) > 0 {
		if err := m.Options().Set(specs...); err != nil {
			t.Fatal(err)
		}
	}
	return m, b
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		option string
		expr   string
		status int
		err    string
	}{
		{option: "/~u example/404", expr: "~u example", status: 404},
		{option: "|~d ads|403", expr: "~d ads", status: 403},
		{option: ":~q:444", expr: "~q", status: 444},
		{option: "/~u example/ 204 ", expr: "~u example", status: 204},
		{option: "/~u example/4_04", expr: "~u example", status: 404},
		{option: "/~u example/+200", expr: "~u example", status: 200},
		{option: "é~u xé503", expr: "~u x", status: 503},
		{option: "/~u example/404/extra", err: "Invalid number of parameters (2 are expected)"},
		{option: "/~u example", err: "Invalid number of parameters"},
		{option: "", err: "empty rule"},
		{option: "/~u example/abc", err: "Invalid HTTP status code: abc"},
		{option: "/~u example/", err: "Invalid HTTP status code"},
		{option: "/~u example/42", err: "Invalid HTTP status code: 42"},
		{option: "/~u example/1000", err: "Invalid HTTP status code"},
		{option: "//404", err: "Invalid filter expression: empty expression"},
		{option: "/~h [/404", err: "Invalid filter expression: unterminated character set"},
		{option: "/(~q)/404", err: `"~q" must be followed by whitespace`},
		{option: "\xff~q\xff404", err: "not valid UTF-8"},
	} {
		r, err := ParseRule(tc.option)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRule(%q) = %+v, %v; want error containing %q", tc.option, r, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tc.option, err)
			continue
		}
		if r.FilterExpr != tc.expr || r.Status != tc.status || r.Filter == nil {
			t.Errorf("ParseRule(%q) = %q %d, want %q %d", tc.option, r.FilterExpr, r.Status, tc.expr, tc.status)
		}
	}
	if _, err := ParseRule("/a/b/c"); !errors.Is(err, ErrParameters) {
		t.Errorf("extra parts: %v does not wrap ErrParameters", err)
	}
	var se *filter.SyntaxError
	if _, err := ParseRule("/~nope/404"); !errors.As(err, &se) {
		t.Errorf("bad filter: %v does not wrap *filter.SyntaxError", err)
	}
}

func TestBlock(t *testing.T) {
	m, _ := setup(t, "/~u blocked/404", ":~d ads.example:403")

	f := newFlow(t, "http://example.com/blocked/page")
	m.Request(f)
	if f.Response == nil || f.Response.StatusCode != 404 {
		t.Fatalf("response = %+v, want a 404", f.Response)
	}
	if got := f.Response.Headers.Get("Server"); got != DefaultServer {
		t.Errorf("Server header %q", got)
	}
	if got := f.Response.Headers.Get("Content-Length"); got != "0" || len(f.Response.RawContent) != 0 {
		t.Errorf("body %q, Content-Length %q: want empty", f.Response.RawContent, got)
	}
	if f.Response.Reason != "Not Found" {
		t.Errorf("reason %q", f.Response.Reason)
	}
	if v, _ := f.Metadata.Get(MetadataKey); v != true {
		t.Errorf("metadata %s = %v", MetadataKey, v)
	}

	f = newFlow(t, "https://ads.example/x.js")
	m.Request(f)
	if f.Response == nil || f.Response.StatusCode != 403 {
		t.Fatalf("response = %+v, want a 403", f.Response)
	}

	f = newFlow(t, "http://example.com/fine")
	m.Request(f)
	if f.Response != nil || f.Error != nil || f.Metadata.Len() != 0 {
		t.Errorf("unmatched flow was changed: %+v %+v %+v", f.Response, f.Error, f.Metadata)
	}
}

func TestBlockKill(t *testing.T) {
	m, _ := setup(t, "/~u tracker/444")
	f := newFlow(t, "http://example.com/tracker.gif")
	m.Request(f)
	if !f.Killed() || f.Response != nil {
		t.Fatalf("444: killed=%v response=%+v, want killed without response", f.Killed(), f.Response)
	}
	if v, _ := f.Metadata.Get(MetadataKey); v != true {
		t.Errorf("metadata %s = %v", MetadataKey, v)
	}
}

func TestBlockSkips(t *testing.T) {
	m, _ := setup(t, "/~all/404")

	answered := newFlow(t, "http://example.com/")
	answered.Response = flow.NewResponse(200, []byte("from a script"), nil)
	m.Request(answered)
	if answered.Response.StatusCode != 200 {
		t.Error("replaced an existing response")
	}

	failed := newFlow(t, "http://example.com/")
	failed.Error = flow.NewError("boom")
	m.Request(failed)
	if failed.Response != nil {
		t.Error("answered a failed flow")
	}

	loaded := newFlow(t, "http://example.com/")
	loaded.SetLive(false)
	m.Request(loaded)
	if loaded.Response != nil {
		t.Error("answered a flow that is not live")
	}
}

func TestRuleOrder(t *testing.T) {
	// Every matching rule applies: the last one decides.
	m, _ := setup(t, "/~u example/404", "/~u page/410", "/~u other/403")
	f := newFlow(t, "http://example.com/page")
	m.Request(f)
	if f.Response == nil || f.Response.StatusCode != 410 {
		t.Fatalf("response %+v, want the last matching rule's 410", f.Response)
	}
	// A kill is final.
	m, _ = setup(t, "/~u example/444", "/~u page/410")
	f = newFlow(t, "http://example.com/page")
	m.Request(f)
	if !f.Killed() || f.Response != nil {
		t.Errorf("killed=%v response=%+v after a 444 rule", f.Killed(), f.Response)
	}
}

func TestConfigureRejects(t *testing.T) {
	m, b := setup(t, "/~u example/404")
	err := m.Options().Set(OptionName+"=/~u ok/403", OptionName+"=/~h [/404")
	if err == nil || !strings.Contains(err.Error(), "Cannot parse block_list option /~h [/404") {
		t.Fatalf("bad rule: %v", err)
	}
	// The option and the active rules are unchanged.
	if got := m.Options().Strings(OptionName); len(got) != 1 || got[0] != "/~u example/404" {
		t.Errorf("option after a rejected update: %q", got)
	}
	if rules := b.rules.Active(); len(rules) != 1 || rules[0].Status != 404 {
		t.Errorf("rules after a rejected update: %+v", rules)
	}
	// Clearing the option clears the rules.
	if err := m.Options().Update(map[string]any{OptionName: []string{}}); err != nil {
		t.Fatal(err)
	}
	f := newFlow(t, "http://example.com/")
	m.Request(f)
	if f.Response != nil {
		t.Error("blocked with no rules")
	}
}

func TestNoOptions(t *testing.T) {
	// Used without a manager: no rules until SetRules.
	b := New()
	if err := b.Configure(map[string]bool{OptionName: true}); err != nil {
		t.Fatal(err)
	}
	f := newFlow(t, "http://example.com/")
	b.Request(f)
	if f.Response != nil {
		t.Fatal("blocked without rules")
	}
	b.SetRules([]Rule{{Filter: filter.MustParse("~u example"), Status: 451}})
	b.Request(f)
	if f.Response == nil || f.Response.StatusCode != 451 {
		t.Fatalf("SetRules: response %+v", f.Response)
	}
}

func TestConcurrentConfigure(t *testing.T) {
	m, _ := setup(t, "/~u example/404")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			f := newFlow(t, "http://example.com/")
			m.Request(f)
			if f.Response == nil {
				t.Error("not blocked")
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if err := m.Options().Set(OptionName + "=/~u example/40" + string(rune('0'+i%10))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
}

// FuzzParseRule: parsing never panics, and a rule that parses has a
// status an HTTP response can carry.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"/~u example/404", "|~d ads|403", ":~q:444", "//404", "/a/b/c", "é~u xé503", "/~h [/404"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, option string) {
		r, err := ParseRule(option)
		if err != nil {
			return
		}
		if r.Status < 100 || r.Status > 999 || r.Filter == nil {
			t.Fatalf("ParseRule(%q) = %+v", option, r)
		}
	})
}
