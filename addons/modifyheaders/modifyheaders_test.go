package modifyheaders

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

type logSink struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logSink) AddLog(e *addon.LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, e.Msg)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

func setup(t *testing.T, rules ...string) (*addon.Manager, *ModifyHeaders, *logSink) {
	t.Helper()
	m := addon.NewManager()
	mh := New()
	logs := &logSink{}
	if err := m.Add(logs, mh); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: rules}); err != nil {
		t.Fatal(err)
	}
	return m, mh, logs
}

// tflow is a flow like mitmproxy's tflow.tflow(): a GET with a header "one".
func tflow(t *testing.T, withResponse bool) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), nil)
	req, err := flow.NewRequest("GET", "http://example.com/path", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Headers = flow.NewHeaders("header", "qvalue", "one", "xxx")
	f.Request = req
	if withResponse {
		f.Response = flow.NewResponse(200, []byte("message"), flow.NewHeaders("header-response", "svalue", "one", "xxx"))
	}
	return f
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "value")
	if err := os.WriteFile(good, []byte("from-file"), 0o644); err != nil {
		t.Fatal(err)
	}
	newline := filepath.Join(dir, "newline")
	if err := os.WriteFile(newline, []byte("value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule    string
		wantErr string
	}{
		{"/foo/bar/voing", ""},
		{"/~q/one/two", ""},
		{"/one/", ""},
		{"|one|@" + good, ""},
		{`/x-tab/a\tb`, ""},
		{"/", "Invalid number of parameters"},
		{"/~b/one/two", "Invalid filter expression"},
		{"|~q|one|@" + dir + "/missing", "Invalid file path"},
		{"|~q|one|@" + newline, "line break"},
		{`/one/a\r\nInjected: yes`, "line break"},
		{`/one/a\x00`, "line break or NUL"},
		{"//value", "empty header name"},
		{"/a b/value", "invalid header name"},
		{"/a:b/value", "invalid header name"},
		{`/a\nb/value`, "invalid header name"},
		{`/one/bad\`, `Trailing \ in string`},
	}
	for _, tt := range tests {
		m, _, _ := setup(t)
		err := m.Options().Update(map[string]any{OptionName: []string{tt.rule}})
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.rule, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Cannot parse modify_headers option") {
			t.Errorf("%q: error %v, want %q", tt.rule, err, tt.wantErr)
		}
	}
}

func TestBadConfigKeepsActiveRules(t *testing.T) {
	m, mh, _ := setup(t, "/one/two")
	if err := m.Options().Update(map[string]any{OptionName: []string{"/one/three", "/"}}); err == nil {
		t.Fatal("bad rule accepted")
	}
	f := tflow(t, false)
	mh.RequestHeaders(f)
	if got := f.Request.Headers.GetAll("one"); !reflect.DeepEqual(got, []string{"two"}) {
		t.Errorf("one = %q", got)
	}
}

func TestModify(t *testing.T) {
	tests := []struct {
		name     string
		rules    []string
		response bool // run responseheaders on a flow with a response
		want     []string
		wantAll  flow.Headers // the full header list, when set
	}{
		{"request set", []string{"/~q/one/two", "/~s/one/three"}, false, []string{"two"}, nil},
		{"response set", []string{"/~q/one/two", "/~s/one/three"}, true, []string{"three"}, nil},
		{"two values", []string{"/~s/one/two", "/~s/one/three"}, true, []string{"two", "three"}, nil},
		{"two request values", []string{"/~q/one/two", "/~q/one/three"}, false, []string{"two", "three"}, nil},
		{"remove request", []string{"/~q/one/", "/~s/one/"}, false, nil, nil},
		{"remove response", []string{"/~q/one/", "/~s/one/"}, true, nil, nil},
		{"remove without filter", []string{"/one/"}, false, nil, nil},
		{"case-insensitive name", []string{"/ONE/two"}, false, nil,
			flow.NewHeaders("Host", "example.com", "header", "qvalue", "ONE", "two")},
		{"added at the end", []string{"/new/value"}, false, nil,
			flow.NewHeaders("Host", "example.com", "header", "qvalue", "one", "xxx", "new", "value")},
		{"escapes", []string{`/x-tab/a\tb\x41`}, false, nil,
			flow.NewHeaders("Host", "example.com", "header", "qvalue", "one", "xxx", "x-tab", "a\tbA")},
		{"non-matching filter", []string{"/~d nomatch/one/two"}, false, []string{"xxx"}, nil},
		{"filters see the original flow", []string{"/~h one:.xxx/one/two", "/~h one:.xxx/three/3"}, false, nil,
			flow.NewHeaders("Host", "example.com", "header", "qvalue", "one", "two", "three", "3")},
		{"separator in value", []string{"/one/a/b/"}, false, nil,
			flow.NewHeaders("Host", "example.com", "header", "qvalue", "one", "xxx")},
		{"filter, name and value with separators", []string{"/~q/one/a/b/"}, false, []string{"a/b/"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mh, _ := setup(t, tt.rules...)
			f := tflow(t, tt.response)
			f.Request.Headers.Insert(0, "Host", "example.com")
			h := &f.Request.Headers
			if tt.response {
				mh.ResponseHeaders(f)
				h = &f.Response.Headers
			} else {
				mh.RequestHeaders(f)
			}
			if tt.wantAll != nil {
				if h.String() != tt.wantAll.String() {
					t.Errorf("headers:\n%s\nwant:\n%s", h, tt.wantAll)
				}
				return
			}
			if got := h.GetAll("one"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("one = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestHeadersSkipsAnsweredKilledDead(t *testing.T) {
	_, mh, _ := setup(t, "/one/two")
	answered := tflow(t, true)
	killed := tflow(t, false)
	_ = killed.Kill()
	dead := tflow(t, false)
	dead.SetLive(false)
	for _, f := range []*flow.HTTPFlow{answered, killed, dead} {
		mh.RequestHeaders(f)
		if got := f.Request.Headers.Get("one"); got != "xxx" {
			t.Errorf("request header changed to %q", got)
		}
	}
	killed.Response = flow.NewResponse(200, nil, flow.NewHeaders("one", "xxx"))
	dead.Response = flow.NewResponse(200, nil, flow.NewHeaders("one", "xxx"))
	for _, f := range []*flow.HTTPFlow{killed, dead} {
		mh.ResponseHeaders(f)
		if got := f.Response.Headers.Get("one"); got != "xxx" {
			t.Errorf("response header changed to %q", got)
		}
	}
	noResponse := tflow(t, false)
	mh.ResponseHeaders(noResponse) // must not panic
}

func TestValueFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, mh, logs := setup(t, "|one|@"+file)
	f := tflow(t, false)
	mh.RequestHeaders(f)
	if got := f.Request.Headers.Get("one"); got != "first" {
		t.Fatalf("one = %q", got)
	}
	// The file is read for every flow, so edits take effect at once.
	if err := os.WriteFile(file, []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, false)
	mh.RequestHeaders(f)
	if got := f.Request.Headers.Get("one"); got != "second" {
		t.Fatalf("one = %q", got)
	}
	// An empty file removes the header.
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, false)
	mh.RequestHeaders(f)
	if f.Request.Headers.Has("one") {
		t.Fatal("empty file value did not remove the header")
	}
	// A value that would break the message is not used.
	if err := os.WriteFile(file, []byte("a\r\nb: c"), 0o644); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, false)
	mh.RequestHeaders(f)
	if f.Request.Headers.Has("one") || f.Request.Headers.Has("b") {
		t.Fatalf("headers: %s", f.Request.Headers)
	}
	if !strings.Contains(logs.String(), "line break") {
		t.Errorf("no warning logged: %s", logs)
	}
	// A file that went away is reported, and the other rules still apply.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, false)
	mh.RequestHeaders(f)
	if !strings.Contains(logs.String(), "Could not read replacement file") {
		t.Errorf("no warning logged: %s", logs)
	}
}

func TestConcurrentUse(t *testing.T) {
	m, mh, _ := setup(t, "/one/two")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				f := tflow(t, true)
				mh.RequestHeaders(f)
				mh.ResponseHeaders(f)
			}
		}()
	}
	for j := 0; j < 50; j++ {
		_ = m.Options().Update(map[string]any{OptionName: []string{"/one/" + strings.Repeat("x", j%5+1)}})
	}
	wg.Wait()
}
