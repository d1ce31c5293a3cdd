package modifybody

import (
	"os"
	"path/filepath"
	"strconv"
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
	l.msgs = append(l.msgs, addon.LevelName(e.Level)+": "+e.Msg)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

func setup(t *testing.T, rules ...string) (*addon.Manager, *ModifyBody, *logSink) {
	t.Helper()
	m := addon.NewManager()
	mb := New()
	logs := &logSink{}
	if err := m.Add(logs, mb); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: rules}); err != nil {
		t.Fatal(err)
	}
	return m, mb, logs
}

func tflow(t *testing.T, reqBody string, respBody *string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), nil)
	req, err := flow.NewRequest("POST", "http://example.com/path", []byte(reqBody), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	if respBody != nil {
		f.Response = flow.NewResponse(200, []byte(*respBody), nil)
	}
	return f
}

func ptr(s string) *string { return &s }

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		rule    string
		wantErr string
	}{
		{"one/two/three", ""},
		{"/a/b/c/", ""},
		{`/(a)/\\1`, ""},
		{"/", "Invalid number of parameters"},
		{"/~b/two/three", "Invalid filter expression"},
		{"/foo/+/three", "Invalid regular expression"},
		{"/(?<=a)b/c", "Invalid regular expression"},
		{`/a/\\1`, "invalid group reference 1"},
		{`/a/\\q`, `bad escape \q`},
		{`/a/b\`, `Trailing \ in string`},
		{"|~q|foo|@" + dir + "/nonexistent", "Invalid file path"},
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
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Cannot parse modify_body option") {
			t.Errorf("%q: error %v, want %q", tt.rule, err, tt.wantErr)
		}
	}
}

func TestBadConfigKeepsActiveRules(t *testing.T) {
	m, mb, _ := setup(t, "/foo/bar")
	if err := m.Options().Update(map[string]any{OptionName: []string{"/foo/baz", "/+/x"}}); err == nil {
		t.Fatal("bad rule accepted")
	}
	f := tflow(t, "foo", nil)
	mb.Request(f)
	if got := string(f.Request.RawContent); got != "bar" {
		t.Errorf("body = %q", got)
	}
}

func TestModify(t *testing.T) {
	tests := []struct {
		name     string
		rules    []string
		req      string
		resp     *string
		wantReq  string
		wantResp string
	}{
		{"request", []string{"/~q/foo/bar", "/~s/foo/bar"}, "foo", nil, "bar", ""},
		{"response", []string{"/~q/foo/bar", "/~s/foo/baz"}, "foo", ptr("foo"), "foo", "baz"},
		{"order", []string{"/foo/bar", "/bar/baz", "/foo/oh noes!", "/bar/oh noes!"}, "foo", nil, "baz", ""},
		{"every match", []string{"/o/0"}, "foo boo", nil, "f00 b00", ""},
		{"dotall", []string{"/a.b/X"}, "a\nb", nil, "X", ""},
		{"groups", []string{`/(\w+)@(\w+)/\\2 at \\1`}, "me@host", nil, "host at me", ""},
		{"named group", []string{`/(?P<w>o+)/<\\g<w>>`}, "foo", nil, "f<oo>", ""},
		{"escapes in regex and replacement", []string{`/\x41\n/\t`}, "xA\ny", nil, "x\ty", ""},
		{"octal escape, not a group", []string{`/(o)/\1`}, "o", nil, "\x01", ""},
		{"empty replacement", []string{"/o//"}, "foo", nil, "foo", ""},
		{"empty replacement two parts", []string{"/o/"}, "foo", nil, "f", ""},
		{"other separator", []string{":o:a/b"}, "o", nil, "a/b", ""},
		{"separator in replacement", []string{":~q:o:a:b"}, "o", nil, "a:b", ""},
		{"filter on the changed flow", []string{"/foo/bar", "/~bq bar/bar/baz"}, "foo", nil, "baz", ""},
		{"case-sensitive", []string{"/FOO/bar"}, "foo", nil, "foo", ""},
		{"case-insensitive flag", []string{"/(?i)FOO/bar"}, "foo", nil, "bar", ""},
		{"no match leaves body alone", []string{"/nomatch/x"}, "foo", nil, "foo", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mb, _ := setup(t, tt.rules...)
			f := tflow(t, tt.req, tt.resp)
			if f.Response != nil {
				mb.Response(f)
			} else {
				mb.Request(f)
			}
			if got := string(f.Request.RawContent); got != tt.wantReq {
				t.Errorf("request body = %q, want %q", got, tt.wantReq)
			}
			if f.Response != nil {
				if got := string(f.Response.RawContent); got != tt.wantResp {
					t.Errorf("response body = %q, want %q", got, tt.wantResp)
				}
			}
			if got, want := f.Request.Headers.Get("content-length"), len(f.Request.RawContent); got != strconv.Itoa(want) {
				t.Errorf("request content-length = %s, body has %d bytes", got, want)
			}
		})
	}
}

func TestCompressedBody(t *testing.T) {
	_, mb, logs := setup(t, "/foo/longer")
	f := tflow(t, "", nil)
	f.Request.Headers.Set("content-encoding", "gzip")
	f.Request.SetContent([]byte("foo foo"))
	raw := append([]byte(nil), f.Request.RawContent...)
	mb.Request(f)
	if f.Request.Headers.Get("content-encoding") != "gzip" {
		t.Fatal("encoding lost")
	}
	if got, err := f.Request.Content(); err != nil || string(got) != "longer longer" {
		t.Fatalf("content = %q, %v", got, err)
	}
	if string(f.Request.RawContent) == string(raw) {
		t.Fatal("raw content not re-encoded")
	}

	// A body that does not decode is left alone, with a warning.
	f = tflow(t, "", nil)
	f.Request.Headers.Set("content-encoding", "gzip")
	f.Request.SetRawContent([]byte("not gzip foo"))
	mb.Request(f)
	if got := string(f.Request.RawContent); got != "not gzip foo" {
		t.Fatalf("raw content changed to %q", got)
	}
	if !strings.Contains(logs.String(), "cannot decode") {
		t.Errorf("no warning: %s", logs)
	}
}

func TestUnchangedBodyKeepsItsBytes(t *testing.T) {
	_, mb, _ := setup(t, "/nomatch/x", "/(foo)/\\\\1")
	f := tflow(t, "", nil)
	f.Request.Headers.Set("content-encoding", "gzip")
	f.Request.SetContent([]byte("foo"))
	raw := string(f.Request.RawContent)
	mb.Request(f)
	if string(f.Request.RawContent) != raw {
		t.Error("a body no rule changed was re-encoded")
	}
}

func TestMissingContent(t *testing.T) {
	_, mb, _ := setup(t, "/foo/bar")
	f := tflow(t, "foo", nil)
	f.Request.RawContent = nil // streamed
	mb.Request(f)
	if f.Request.RawContent != nil {
		t.Error("streamed body modified")
	}
}

func TestSkipsAnsweredKilledDead(t *testing.T) {
	_, mb, _ := setup(t, "/foo/bar")
	answered := tflow(t, "foo", ptr("x"))
	mb.Request(answered)
	killed := tflow(t, "foo", ptr("foo"))
	_ = killed.Kill()
	mb.Request(killed)
	mb.Response(killed)
	dead := tflow(t, "foo", ptr("foo"))
	dead.SetLive(false)
	mb.Response(dead)
	for _, f := range []*flow.HTTPFlow{answered, killed, dead} {
		if string(f.Request.RawContent) != "foo" {
			t.Error("request body changed")
		}
	}
	if string(killed.Response.RawContent) != "foo" || string(dead.Response.RawContent) != "foo" {
		t.Error("response body changed")
	}
}

func TestReplacementFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "replacement")
	if err := os.WriteFile(file, []byte(`bar\1`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, mb, logs := setup(t, "|~q|(fo)o|@"+file)
	f := tflow(t, "foo", nil)
	mb.Request(f)
	// The file's contents are a template, without escape decoding.
	if got := string(f.Request.RawContent); got != "barfo" {
		t.Fatalf("body = %q", got)
	}
	if err := os.WriteFile(file, []byte(`\9`), 0o644); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, "foo", nil)
	mb.Request(f)
	if got := string(f.Request.RawContent); got != "foo" || !strings.Contains(logs.String(), "invalid group reference") {
		t.Fatalf("body = %q, logs: %s", got, logs)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	f = tflow(t, "foo", nil)
	mb.Request(f)
	if got := string(f.Request.RawContent); got != "foo" || !strings.Contains(logs.String(), "Could not read replacement file") {
		t.Fatalf("body = %q, logs: %s", got, logs)
	}
}

func TestStreamConflictAlert(t *testing.T) {
	m := addon.NewManager()
	logs := &logSink{}
	if err := m.Add(logs, New()); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Add(streamOption, addon.OptionalString, nil, "stream"); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{streamOption: "3m", OptionName: []string{"/foo/bar"}}); err != nil {
		t.Fatal(err)
	}
	const want = "alert: Both modify_body and stream_large_bodies are active. Streamed bodies will not be modified."
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("logs: %s", logs)
	}
	logs.msgs = nil
	if err := m.Options().Update(map[string]any{streamOption: "4m"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), want) {
		t.Fatal("changing stream_large_bodies did not warn")
	}
	logs.msgs = nil
	if err := m.Options().Update(map[string]any{OptionName: []string{}}); err != nil {
		t.Fatal(err)
	}
	if logs.String() != "" {
		t.Fatalf("warned without rules: %s", logs)
	}
}
