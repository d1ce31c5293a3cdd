package console

import (
	"slices"
	"testing"
)

// TestEditorPagerEnv: $EDITOR and $PAGER are split as Python's shlex.split
// splits them (quotes keep a path with spaces whole), with mitmproxy 12's
// precedence: the editor is $MITMPROXY_EDITOR then $EDITOR; the viewer
// $MITMPROXY_EDITOR, then $PAGER, then $EDITOR.
func TestEditorPagerEnv(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		mitmEditor, ed, pager string
		editor, viewer        []string
		err                   bool
	}{
		{name: "pager", ed: "vim", pager: "less -R", editor: []string{"vim"}, viewer: []string{"less", "-R"}},
		{name: "quoted path", ed: `"/opt/My Editor/ed" --wait`, editor: []string{"/opt/My Editor/ed", "--wait"},
			viewer: []string{"/opt/My Editor/ed", "--wait"}},
		{name: "mitmproxy editor first", mitmEditor: "code -w", ed: "vim", pager: "more",
			editor: []string{"code", "-w"}, viewer: []string{"code", "-w"}},
		{name: "no pager: editor", ed: `vi -c 'set ro'`, editor: []string{"vi", "-c", "set ro"}, viewer: []string{"vi", "-c", "set ro"}},
		{name: "unbalanced", ed: `"vim`, pager: "less", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MITMPROXY_EDITOR", tc.mitmEditor)
			t.Setenv("EDITOR", tc.ed)
			t.Setenv("PAGER", tc.pager)
			ed, err := editorCommand()
			if tc.err {
				if err == nil {
					t.Errorf("editor %q: no error", ed)
				}
				return
			}
			if err != nil || !slices.Equal(ed, tc.editor) {
				t.Errorf("editor %q, %v; want %q", ed, err, tc.editor)
			}
			v, err := pagerCommand()
			if err != nil || !slices.Equal(v, tc.viewer) {
				t.Errorf("viewer %q, %v; want %q", v, err, tc.viewer)
			}
		})
	}
	// Nothing set: less for the viewer; for the editor the first of
	// mitmproxy's list on $PATH, or vi.
	t.Setenv("MITMPROXY_EDITOR", "")
	t.Setenv("EDITOR", "")
	t.Setenv("PAGER", "")
	t.Setenv("PATH", t.TempDir())
	if v, _ := pagerCommand(); !slices.Equal(v, []string{"less"}) {
		t.Errorf("viewer with nothing set: %q", v)
	}
	if e, _ := editorCommand(); !slices.Equal(e, []string{"vi"}) {
		t.Errorf("editor with nothing set and an empty PATH: %q", e)
	}
}
