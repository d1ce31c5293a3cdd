package maplocal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, rules ...string) (*addon.Manager, *MapLocal) {
	t.Helper()
	m := addon.NewManager()
	ml := New()
	if err := m.Add(ml); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: rules}); err != nil {
		t.Fatal(err)
	}
	return m, ml
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

// tree builds:
//
//	base/secret.txt            outside the mapped directory
//	base/www/index.html
//	base/www/style.css
//	base/www/foo_bar.txt       reachable as "foo bar.txt" through escaping
//	base/www/sub/index.html
//	base/www/sub/data.json
//	base/www/archive.tar.gz
//	base/www/link -> ../secret.txt
//	base/www/dirlink -> ..
func tree(t *testing.T) (base, www string) {
	t.Helper()
	base = t.TempDir()
	www = filepath.Join(base, "www")
	files := map[string]string{
		"secret.txt":          "SECRET",
		"www/index.html":      "<h1>root</h1>",
		"www/style.css":       "body{}",
		"www/foo_bar.txt":     "escaped",
		"www/sub/index.html":  "<h1>sub</h1>",
		"www/sub/data.json":   `{"a":1}`,
		"www/archive.tar.gz":  "gz",
		"www/sub/noext":       "noext",
		"www/..hidden":        "dots",
		"www/%2e%2e/x.txt":    "literal percent directory",
		"www/a/b/c/deep.html": "deep",
	}
	for name, content := range files {
		p := filepath.Join(base, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../secret.txt", filepath.Join(www, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(www, "dirlink")); err != nil {
		t.Fatal(err)
	}
	return base, www
}

func TestConfigure(t *testing.T) {
	_, www := tree(t)
	tests := []struct {
		rule    string
		wantErr string
	}{
		{"|example.com|" + www, ""},
		{"|~q|example.com|" + www + "/index.html", ""},
		{"/", "Invalid number of parameters"},
		{"|~b|x|" + www, "Invalid filter expression"},
		{"|+|" + www, "Invalid regular expression"},
		{"|x|" + www + "/nonexistent", "Invalid file path: " + www + "/nonexistent"},
	}
	for _, tt := range tests {
		m, _ := setup(t)
		err := m.Options().Update(map[string]any{OptionName: []string{tt.rule}})
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.rule, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Cannot parse map_local option") {
			t.Errorf("%q: error %v, want %q", tt.rule, err, tt.wantErr)
		}
	}
}

func TestConfigureHomeDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "f.txt"), []byte("home"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ml := setup(t, "|example.com|~/f.txt")
	f := newFlow(t, "http://example.com/")
	ml.Request(f)
	if f.Response == nil || string(f.Response.RawContent) != "home" {
		t.Fatalf("response = %+v", f.Response)
	}
}

func TestBadConfigKeepsActiveRules(t *testing.T) {
	_, www := tree(t)
	m, ml := setup(t, "|example.com|"+www)
	if err := m.Options().Update(map[string]any{OptionName: []string{"|a|" + www, "|b|/does/not/exist"}}); err == nil {
		t.Fatal("a rule with a missing path was accepted")
	}
	f := newFlow(t, "http://example.com/style.css")
	ml.Request(f)
	if f.Response == nil || string(f.Response.RawContent) != "body{}" {
		t.Fatalf("old rules not active: %+v", f.Response)
	}
}

func TestRequest(t *testing.T) {
	base, www := tree(t)
	tests := []struct {
		name       string
		rules      []string
		url        string
		wantStatus int // 0: no response (the request goes upstream)
		wantBody   string
		wantType   string
	}{
		{"directory index", []string{"|example.com/static|" + www}, "http://example.com/static", 200, "<h1>root</h1>", "text/html"},
		{"directory index slash", []string{"|example.com/static|" + www}, "http://example.com/static/", 200, "<h1>root</h1>", "text/html"},
		{"file in directory", []string{"|example.com/static|" + www}, "http://example.com/static/style.css", 200, "body{}", "text/css"},
		{"query string ignored", []string{"|example.com/static|" + www}, "http://example.com/static/style.css?v=3", 200, "body{}", "text/css"},
		{"subdirectory index", []string{"|example.com/static|" + www}, "http://example.com/static/sub/", 200, "<h1>sub</h1>", "text/html"},
		{"json", []string{"|example.com/static|" + www}, "http://example.com/static/sub/data.json", 200, `{"a":1}`, "application/json"},
		{"no extension", []string{"|example.com/static|" + www}, "http://example.com/static/sub/noext", 200, "noext", ""},
		{"compressed type", []string{"|example.com/static|" + www}, "http://example.com/static/archive.tar.gz", 200, "gz", "application/x-tar"},
		{"deep", []string{"|example.com/static|" + www}, "http://example.com/static/a/b/c/deep.html", 200, "deep", "text/html"},
		{"percent-decoded", []string{"|example.com/static|" + www}, "http://example.com/static/st%79le.css", 200, "body{}", "text/css"},
		{"escaped fallback", []string{"|example.com/static|" + www}, "http://example.com/static/foo%20bar.txt", 200, "escaped", "text/plain"},
		{"dot-dot file name is fine", []string{"|example.com/static|" + www}, "http://example.com/static/..hidden", 200, "dots", ""},
		{"group selects suffix", []string{`|example.com/assets/v\d+/(.*)\?|` + www}, "http://example.com/assets/v12/sub/data.json?x", 200, `{"a":1}`, "application/json"},
		{"group did not take part", []string{`|example.com/x(/y)?|` + www}, "http://example.com/x", 200, "<h1>root</h1>", "text/html"},
		{"single file for every url", []string{"|example.com|" + www + "/sub/data.json"}, "http://example.com/any/thing", 200, `{"a":1}`, "application/json"},
		{"missing file is 404", []string{"|example.com/static|" + www}, "http://example.com/static/nope.css", 404, "", ""},
		{"directory without index is 404", []string{"|example.com/static|" + www}, "http://example.com/static/a/b", 404, "", ""},
		{"no match goes upstream", []string{"|example.com/static|" + www}, "http://example.org/static/style.css", 0, "", ""},
		{"filter excludes", []string{"|~m POST|example.com|" + www}, "http://example.com/style.css", 0, "", ""},
		{"filter includes", []string{"|~m GET|example.com|" + www}, "http://example.com/style.css", 200, "body{}", "text/css"},
		{"first rule with a file wins", []string{"|example.com|" + www + "/sub", "|example.com|" + www}, "http://example.com/style.css", 200, "body{}", "text/css"},
		{"earlier rule wins", []string{"|example.com|" + www, "|example.com|" + www + "/sub"}, "http://example.com/", 200, "<h1>root</h1>", "text/html"},
		{"second rule 404s too", []string{"|example.com|" + www + "/sub", "|example.com|" + www + "/a"}, "http://example.com/zzz", 404, "", ""},

		// Escapes from the mapped directory: no file outside it is ever
		// served. As in mitmproxy, a suffix that tries to leave the
		// directory yields no candidates, so the request goes upstream.
		{"dot-dot", []string{"|example.com/static|" + www}, "http://example.com/static/../secret.txt", 0, "", ""},
		{"dot-dot nested", []string{"|example.com/static|" + www}, "http://example.com/static/sub/../../secret.txt", 0, "", ""},
		{"dot-dot inside stays refused", []string{"|example.com/static|" + www}, "http://example.com/static/sub/../style.css", 0, "", ""},
		{"encoded dots", []string{"|example.com/static|" + www}, "http://example.com/static/%2e%2e/secret.txt", 0, "", ""},
		{"encoded upper-case dots", []string{"|example.com/static|" + www}, "http://example.com/static/%2E%2E/secret.txt", 0, "", ""},
		{"encoded slash", []string{"|example.com/static|" + www}, "http://example.com/static/..%2fsecret.txt", 0, "", ""},
		{"fully encoded", []string{"|example.com/static|" + www}, "http://example.com/static/%2e%2e%2fsecret.txt", 0, "", ""},
		{"double encoded is a literal name", []string{"|example.com/static|" + www}, "http://example.com/static/%252e%252e/x.txt", 200, "literal percent directory", "text/plain"},
		{"double encoded does not escape", []string{"|example.com/static|" + www}, "http://example.com/static/%252e%252e/secret.txt", 404, "", ""},
		{"absolute via group", []string{`|example.com/static(.*)|` + www}, "http://example.com/static//" + strings.TrimPrefix(base, "/") + "/secret.txt", 0, "", ""},
		{"absolute encoded", []string{"|example.com/static|" + www}, "http://example.com/static/%2f" + strings.TrimPrefix(base, "/") + "/secret.txt", 0, "", ""},
		{"group dot-dot", []string{`|example.com/s/(.*)|` + www}, "http://example.com/s/../secret.txt", 0, "", ""},
		{"backslashes are names", []string{"|example.com/static|" + www}, `http://example.com/static/..%5c..%5csecret.txt`, 404, "", ""},
		{"nul byte", []string{"|example.com/static|" + www}, "http://example.com/static/style.css%00.png", 404, "", ""},
		{"symlink out of the directory", []string{"|example.com/static|" + www}, "http://example.com/static/link", 404, "", ""},
		{"symlinked parent", []string{"|example.com/static|" + www}, "http://example.com/static/dirlink/secret.txt", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ml := setup(t, tt.rules...)
			f := newFlow(t, tt.url)
			ml.Request(f)
			if tt.wantStatus == 0 {
				if f.Response != nil {
					t.Fatalf("got a %d response %q, want none", f.Response.StatusCode, f.Response.RawContent)
				}
				return
			}
			if f.Response == nil {
				t.Fatalf("no response, want %d", tt.wantStatus)
			}
			if f.Response.StatusCode != tt.wantStatus || string(f.Response.RawContent) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", f.Response.StatusCode, f.Response.RawContent, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(string(f.Response.RawContent), "SECRET") {
				t.Fatal("served a file from outside the mapped directory")
			}
			if got := f.Response.Headers.Get("content-type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if tt.wantStatus == 200 {
				if got := f.Response.Headers.Get("server"); got != "mitmgo" {
					t.Errorf("Server = %q", got)
				}
				if got := f.Response.Headers.Get("content-length"); got != fmt.Sprint(len(tt.wantBody)) {
					t.Errorf("Content-Length = %q", got)
				}
			}
		})
	}
}

func TestHeaderOrder(t *testing.T) {
	_, www := tree(t)
	_, ml := setup(t, "|example.com|"+www)
	f := newFlow(t, "http://example.com/style.css")
	ml.Request(f)
	want := flow.NewHeaders("Server", "mitmgo", "Content-Type", "text/css", "content-length", "6")
	if got := f.Response.Headers; got.String() != want.String() {
		t.Errorf("headers:\n%s\nwant:\n%s", got, want)
	}
	ml.ServerHeader = ""
	f = newFlow(t, "http://example.com/style.css")
	ml.Request(f)
	if f.Response.Headers.Has("server") {
		t.Error("Server header sent although ServerHeader is empty")
	}
}

func TestSkipsAnsweredKilledAndDeadFlows(t *testing.T) {
	_, www := tree(t)
	_, ml := setup(t, "|example.com|"+www)
	answered := newFlow(t, "http://example.com/")
	answered.Response = flow.NewResponse(204, nil, nil)
	killed := newFlow(t, "http://example.com/")
	_ = killed.Kill()
	dead := newFlow(t, "http://example.com/")
	dead.SetLive(false)
	ml.Request(answered)
	ml.Request(killed)
	ml.Request(dead)
	if answered.Response.StatusCode != 204 || killed.Response != nil || dead.Response != nil {
		t.Error("a finished flow was answered")
	}
}

func TestUnreadableFileTriesNextRule(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files regardless of their mode")
	}
	_, www := tree(t)
	if err := os.Chmod(filepath.Join(www, "style.css"), 0); err != nil {
		t.Fatal(err)
	}
	_, ml := setup(t, "|example.com|"+www, "|example.com|"+www+"/sub/data.json")
	f := newFlow(t, "http://example.com/style.css")
	ml.Request(f)
	if f.Response == nil || string(f.Response.RawContent) != `{"a":1}` {
		t.Fatalf("response %+v", f.Response)
	}
}

func TestFIFOIsNotAFile(t *testing.T) {
	_, www := tree(t)
	if err := mkfifo(filepath.Join(www, "pipe")); err != nil {
		t.Skip("mkfifo:", err)
	}
	_, ml := setup(t, "|example.com|"+www)
	f := newFlow(t, "http://example.com/pipe")
	ml.Request(f) // must not block
	if f.Response == nil || f.Response.StatusCode != 404 {
		t.Fatalf("response %+v", f.Response)
	}
}

func TestGuessType(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/a/b.html", "text/html"},
		{"/a/b.HTML", "text/html"},
		{"/a/b.png", "image/png"},
		{"/a/b.tar.gz", "application/x-tar"},
		{"/a/b.tgz", "application/x-tar"},
		{"/a/b.gz", ""},
		{"/a/.bashrc", ""},
		{"/a/noext", ""},
		{"/a/b.unknownext", ""},
		{"/a.d/file", ""},
	}
	for _, tt := range tests {
		if got := guessType(tt.path); got != tt.want {
			t.Errorf("guessType(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"a%20b", "a b"},
		{"%C3%A9", "é"},
		{"%e9", "\ufffd"},
		{"%zz%2", "%zz%2"},
		{"100%", "100%"},
	}
	for _, tt := range tests {
		if got := unquote(tt.in); got != tt.want {
			t.Errorf("unquote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFileCandidates(f *testing.F) {
	for _, s := range []string{"http://example.com/static/a.css", "http://example.com/static/%2e%2e/x", "http://example.com/static//etc/passwd", "http://example.com/static/a/../../b"} {
		f.Add(s)
	}
	_, ml := setupFuzz(f)
	f.Fuzz(func(t *testing.T, url string) {
		for _, r := range ml.rules.Active() {
			m := r.re.FindStringSubmatchIndex(url)
			if m == nil {
				continue
			}
			for _, c := range fileCandidates(url, r.re, m) {
				if c != "." && !filepath.IsLocal(c) {
					t.Fatalf("candidate %q for %q leaves the directory", c, url)
				}
			}
		}
	})
}

func setupFuzz(f *testing.F) (*addon.Manager, *MapLocal) {
	dir := f.TempDir()
	m := addon.NewManager()
	ml := New()
	if err := m.Add(ml); err != nil {
		f.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: []string{"|example.com/static|" + dir, "|example.com/s(.*)|" + dir}}); err != nil {
		f.Fatal(err)
	}
	return m, ml
}
