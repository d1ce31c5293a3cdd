package web

import (
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
)

// assetRef finds the files index.html loads: src= and href= attributes.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// TestStaticIndex: GET / answers the built front end (not the
// placeholder), uncached, and every file it references is served with
// its content type.
func TestStaticIndex(t *testing.T) {
	e := start(t)
	resp := e.req(nil, "GET", "/?token="+e.token, nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	want, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Fatal("GET / is not static/index.html")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("index Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control %q, want no-cache", cc)
	}
	if !strings.Contains(string(body), `id="app"`) {
		t.Error("index.html has no app root: is it the placeholder?")
	}

	refs := assetRef.FindAllStringSubmatch(string(body), -1)
	var js, css int
	for _, m := range refs {
		ref := m[1]
		if strings.Contains(ref, "//") {
			t.Errorf("index.html loads %s from elsewhere (no CDN: the UI must work offline)", ref)
			continue
		}
		if !strings.HasPrefix(ref, "./") {
			t.Errorf("index.html references %s: asset paths must be relative (./...)", ref)
		}
		p := "/" + strings.TrimPrefix(ref, "./")
		resp := e.req(nil, "GET", p, nil, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("GET %s: %d, %d bytes", p, resp.StatusCode, len(b))
			continue
		}
		ct := resp.Header.Get("Content-Type")
		switch path.Ext(p) {
		case ".js":
			js++
			if ct != "text/javascript; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
		case ".css":
			css++
			if ct != "text/css; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
			if regexp.MustCompile(`url\(\s*['"]?(https?:)?//|@import`).Match(b) {
				t.Errorf("%s loads something from elsewhere", p)
			}
		case ".svg":
			if ct != "image/svg+xml" {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
		}
		if strings.HasPrefix(p, "/assets/") && !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable (hashed names)", p, resp.Header.Get("Cache-Control"))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", p)
		}
	}
	if js == 0 || css == 0 {
		t.Errorf("index.html references %d scripts and %d stylesheets", js, css)
	}
}

// TestStaticAssets: every built file is served with a known content type;
// unknown files are 404 and nothing is served without the auth cookie.
func TestStaticAssets(t *testing.T) {
	e := start(t)
	// Without the cookie: refused.
	err := fs.WalkDir(static, "static/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		u := strings.TrimPrefix(p, "static")
		if _, ok := staticTypes[path.Ext(p)]; !ok {
			t.Errorf("%s: no content type for %s files", p, path.Ext(p))
		}
		resp := e.req(nil, "GET", u, nil, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s without auth: %d, want 403", u, resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.login()
	err = fs.WalkDir(static, "static/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		u := strings.TrimPrefix(p, "static")
		resp := e.req(nil, "GET", u, nil, nil)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != staticTypes[path.Ext(p)] {
			t.Errorf("GET %s: %d %q", u, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/assets/nope.js", "/assets/x.exe", "/assets/..%2findex.html", "/assets/%2e%2e/web.go"} {
		resp := e.req(nil, "GET", p, nil, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}
