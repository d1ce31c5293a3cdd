package browsertest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

const page = `<!doctype html><html><head><title>t</title><link rel="icon" href="data:,"></head><body>
<input id="in"><button id="b" onclick="document.getElementById('out').textContent = 'got ' + document.getElementById('in').value">go</button>
<div id="out"></div>
<input type="file" id="f" onchange="this.files[0].text().then(t => document.getElementById('out').textContent = 'file ' + t)">
<a id="dl" href="/download" download="x.txt">download</a>
</body></html>`

func server(t *testing.T) string {
	return testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
		case "/download":
			w.Header().Set("Content-Disposition", `attachment; filename="x.txt"`)
			_, _ = io.WriteString(w, "downloaded")
		default:
			http.NotFound(w, r)
		}
	})).URL
}

// TestPage drives a small page: typing, clicking, waiting, uploading,
// downloading, a screenshot, and a console error that the test allowed.
func TestPage(t *testing.T) {
	url := server(t)
	p := New(t)
	p.Navigate(url + "/")
	p.Fill("#in", "hello")
	p.Click("#b")
	p.WaitText("#out", "got hello")
	p.Fill("#in", "bye")
	p.Press("\r")
	if got := p.Text("#in"); got != "bye" {
		t.Errorf("Fill over the old text: %q", got)
	}
	p.Fill("#in", "")
	if got := p.Text("#in"); got != "" {
		t.Errorf("Fill with nothing: %q", got)
	}
	if p.Count("input") != 2 || !p.Has("#dl") || p.Has("#nothing") {
		t.Errorf("Count/Has")
	}
	if Eval[int](p, "Promise.resolve(41).then(x => x + 1)") != 42 {
		t.Error("Eval does not await a promise")
	}

	file := t.TempDir() + "/up.txt"
	if err := os.WriteFile(file, []byte("uploaded"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Upload("#f", file)
	p.WaitText("#out", "file uploaded")

	p.Click("#dl")
	got, err := os.ReadFile(p.WaitDownload("x*.txt"))
	if err != nil || string(got) != "downloaded" {
		t.Errorf("download: %q %v", got, err)
	}

	if shot := p.Screenshot("page"); shot == "" {
		t.Error("no screenshot")
	} else if b, err := os.ReadFile(shot); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("screenshot is no PNG: %v", err)
	}

	p.AllowConsole(`^error: expected by the test`)
	Eval[bool](p, `(console.error("expected by the test"), true)`)
	p.WaitJS("true", "never")
	testutil.Eventually(t, Timeout, func() bool {
		for _, e := range p.ConsoleErrors() {
			if strings.Contains(e, "expected by the test") {
				return true
			}
		}
		return false
	}, "console.error is not seen: %v", p.ConsoleErrors())
}

func TestJSString(t *testing.T) {
	for in, want := range map[string]string{
		`a`:            `"a"`,
		`[data-x="y"]`: `"[data-x=\"y\"]"`,
		"a\\b\n":       `"a\\b\u000a"`,
	} {
		if got := JSString(in); got != want {
			t.Errorf("JSString(%q) = %s, want %s", in, got, want)
		}
	}
}

// recordTB records how a helper ends a test, without ending this one.
type recordTB struct {
	testing.TB
	how string
}

func (r *recordTB) Helper()               {}
func (r *recordTB) Fatal(args ...any)     { r.how = "fatal" }
func (r *recordTB) Skip(args ...any)      { r.how = "skip" }
func (r *recordTB) Fatalf(string, ...any) { r.how = "fatal" }

// TestRequireBrowser: without a browser a test skips, and fails under
// CI=true; with one it goes on.
func TestRequireBrowser(t *testing.T) {
	for _, c := range []struct{ ci, path, want string }{
		{"", "", "skip"},
		{"false", "", "skip"},
		{"true", "", "fatal"},
		{"true", "/usr/bin/chromium", ""},
		{"", "/usr/bin/chromium", ""},
	} {
		t.Setenv("CI", c.ci)
		r := &recordTB{TB: t}
		requireBrowser(r, c.path)
		if r.how != c.want {
			t.Errorf("CI=%q path %q: %q, want %q", c.ci, c.path, r.how, c.want)
		}
	}
}
