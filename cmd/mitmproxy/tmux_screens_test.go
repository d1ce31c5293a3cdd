package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineWith returns the first line of screen containing substr.
func lineWith(screen, substr string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// TestTmuxScreens: the options editor (O), help (?), key bindings (K) and
// commands (C) screens in the real console.
func TestTmuxScreens(t *testing.T) {
	editor := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\necho 'example\\.invalid' >> \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := startConsole(t, []string{"EDITOR=" + editor})

	t.Run("options editor", func(t *testing.T) {
		c.t = t
		c.keys("O")
		c.waitText("O (options editor)", "Option Help")
		if l := lineWith(c.waitText("O (options editor)", "anticache"), "anticache"); !strings.Contains(l, "false") {
			t.Fatalf("anticache line: %q", l)
		}
		// Down to anticache (options are sorted), Enter toggles it.
		help := func(s string) string {
			_, after, _ := strings.Cut(s, "Option Help")
			return after
		}
		for range 10 {
			before := help(c.screen())
			if strings.Contains(before, "Strip out request headers") {
				break
			}
			c.keys("j")
			c.waitScreen("O (j moves the focus)", "another option's help", func(s string) bool { return help(s) != before })
		}
		c.waitText("O (the focused option's help)", "Strip out request headers")
		c.keys("Enter")
		c.waitScreen("O (Enter toggles a bool)", "anticache true", func(s string) bool {
			return strings.Contains(lineWith(s, "anticache "), "true")
		})
		c.keys("d")
		c.waitScreen("O (d resets the option)", "anticache false", func(s string) bool {
			return strings.Contains(lineWith(s, "anticache "), "false")
		})
		c.keys("q")
		c.waitGone("back from the options", "Option Help")
	})

	t.Run("sequence option in the list editor", func(t *testing.T) {
		c.t = t
		c.keys("O")
		c.waitText("O (options editor)", "Option Help")
		help := func(s string) string {
			_, after, _ := strings.Cut(s, "Option Help")
			return after
		}
		for range 150 {
			before := help(c.screen())
			if strings.Contains(before, "Ignore host and forward all traffic") {
				break
			}
			c.keys("j")
			c.waitScreen("O (j moves the focus)", "another option's help", func(s string) bool { return help(s) != before })
		}
		c.waitText("O (ignore_hosts focused)", "Ignore host and forward all traffic")
		c.keys("Enter")
		c.waitText("Enter on a sequence (the list editor, a grid of one column)", "a: add row after")
		// a adds a row and edits it; Enter keeps it (and applies it).
		c.keys("a")
		c.text(`example\.invalid`)
		c.waitText("a in the list editor (the typed entry)", `example\.invalid`)
		c.keys("Enter")
		c.keys("q")
		c.waitScreen("back to the options", "ignore_hosts with its new value", func(s string) bool {
			return strings.Contains(lineWith(s, "ignore_hosts"), `example\\.invalid`)
		})
		c.keys("q")
		c.waitGone("back from the options", "Option Help")
	})

	t.Run("help", func(t *testing.T) {
		c.t = t
		c.keys("?")
		c.waitText("? (help)", "Common Keybindings")
		c.waitText("? (help: this view's bindings)", "Keybindings for this view")
		c.keys("Tab")
		c.waitText("? (help: filter expressions)", "Regexes are Python-style")
		c.keys("q")
		c.waitGone("back from help", "Regexes are Python-style")
	})

	t.Run("key bindings", func(t *testing.T) {
		c.t = t
		c.keys("K")
		c.waitText("K (key bindings)", "Key Binding Help")
		c.waitText("K (key bindings)", "console.layout.cycle")
		c.keys("q")
		c.waitGone("back from the key bindings", "Key Binding Help")
	})

	t.Run("commands", func(t *testing.T) {
		c.t = t
		c.keys("C")
		c.waitText("C (commands)", "Command Help")
		c.keys("G")
		c.waitText("C (commands, at the end)", "view.")
		c.keys("g")
		c.waitText("C (commands, at the start)", "Command Help")
		c.keys("q")
		c.waitGone("back from the commands", "Command Help")
	})
}
