package command

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCompletePath: what is typed is a path, not a pattern: names with
// glob characters complete as themselves (mitmweb's command bar passes the
// text as typed).
func TestCompletePath(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a[1]/x", "a1/y", "star*/z", "plain.txt"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{dir + "/a[", []string{dir + "/a[1]/"}},
		{dir + "/a[1]/", []string{dir + "/a[1]/x"}},
		{dir + "/star*", []string{dir + "/star*/z"}}, // a directory: its entries
		{dir + "/st", []string{dir + "/star*/"}},
		{dir + "/a", []string{dir + "/a1/", dir + "/a[1]/"}},
		{dir + "/nothing", []string{dir + "/nothing"}},
	} {
		if got := completePath(tc.typed); !slices.Equal(got, tc.want) {
			t.Errorf("completePath(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}
