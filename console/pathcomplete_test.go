package console

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCompletePath: Tab on a path argument quotes a completion with a
// space (so that the line still parses, and the next Tab goes on inside
// the quotes) and takes glob characters in what is typed literally.
func TestCompletePath(t *testing.T) {
	c, _ := newTestConsole(t, 100, 20)
	dir := t.TempDir()
	for _, d := range []string{"my dir", "a[1]", "plain"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "keys.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := "console.keymap.load "
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{dir + "/my", []string{cmd + `"` + dir + `/my dir/"`}},
		{`"` + dir + `/my dir/`, []string{cmd + `"` + dir + `/my dir/keys.yaml"`}},
		{`"` + dir + `/my dir/"`, []string{cmd + `"` + dir + `/my dir/keys.yaml"`}},
		{dir + "/a[", []string{cmd + dir + "/a[1]/"}},
		{dir + "/a[1]/", []string{cmd + dir + "/a[1]/keys.yaml"}},
		{dir + "/pl", []string{cmd + dir + "/plain/"}},
		{dir + "/a[9", []string{cmd + dir + "/a[9"}},
	} {
		if got := c.app.complete(cmd + tc.typed); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.typed, got, tc.want)
		}
	}
}

// TestCompleteSet: set completes option names, then the option's choices
// (or true, false and toggle for a boolean), from the registry's completer
// (Command.Complete), as mitmweb's command bar does.
func TestCompleteSet(t *testing.T) {
	c, _ := newTestConsole(t, 100, 20)
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"set console_layout", []string{"set console_layout", "set console_layout_headers"}},
		{"set console_layout ", []string{"set console_layout horizontal", "set console_layout single", "set console_layout vertical"}},
		{"set console_layout v", []string{"set console_layout vertical"}},
		{"set console_mouse t", []string{"set console_mouse toggle", "set console_mouse true"}},
		{"view.focus.ne", []string{"view.focus.next"}},
	} {
		if got := c.app.complete(tc.typed); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.typed, got, tc.want)
		}
	}
}
