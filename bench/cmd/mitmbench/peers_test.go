package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPeerBuildError(t *testing.T) {
	tests := []struct {
		name string
		p    peer
		src  string
		out  string
		want []string
	}{
		{"module proxy refuses, checkout flag named", peerGomitmproxy, "",
			"go: github.com/lqqyt2423/go-mitmproxy@v1.9.2: reading https://proxy.golang.org/github.com/lqqyt2423/go-mitmproxy/@v/v1.9.2.mod: 403 Forbidden",
			[]string{"-compare-gomitmproxy: cannot download github.com/lqqyt2423/go-mitmproxy", "-gomitmproxy-src DIR", "403 Forbidden"}},
		{"dependency download fails", peerGoproxy, "",
			"go: github.com/elazarl/goproxy@v1.9.3: Get \"https://proxy.golang.org/...\": dial tcp: lookup proxy.golang.org: no such host",
			[]string{"-compare-goproxy: cannot download the modules of bench/peers/goproxy", "GOPROXY"}},
		{"compile error", peerGoproxy, "", "./main.go:1:1: syntax error",
			[]string{"-compare-goproxy: go build in bench/peers/goproxy", "syntax error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := peerBuildError(tt.p, tt.src, tt.out, exec.ErrNotFound)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestBuildPeerMissing(t *testing.T) {
	_, err := buildPeer(context.Background(), peer{name: "nosuch"}, t.TempDir(), "", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "nosuch: no peer program") {
		t.Fatalf("buildPeer of a missing peer: %v", err)
	}
}

// TestPeerModfile: the copy of the peer's go.mod replaces the module with
// the checkout; the tree's go.mod stays as it was.
func TestPeerModfile(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir, src, out := t.TempDir(), t.TempDir(), t.TempDir()
	mod := "module example.com/peer\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n"
	for path, data := range map[string]string{
		filepath.Join(dir, "go.mod"): mod,
		filepath.Join(src, "go.mod"): "module example.com/dep\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := peer{name: "x", module: "example.com/dep", srcFlag: "-x-src"}
	modfile, err := peerModfile(context.Background(), p, dir, src, out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(modfile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "replace example.com/dep => "+src) {
		t.Errorf("modfile lacks the replace:\n%s", got)
	}
	if orig, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(orig) != mod {
		t.Errorf("the peer's go.mod changed:\n%s", orig)
	}
	if _, err := peerModfile(context.Background(), p, dir, t.TempDir(), out); err == nil || !strings.Contains(err.Error(), "-x-src") {
		t.Errorf("a directory without go.mod as the checkout: %v", err)
	}
}
