package console

import (
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func focusOption(t *testing.T, st *State, o *optionsScreen, name string) {
	t.Helper()
	o.Update(navMsg(NavStart), st)
	for range optionNames(st) {
		if o.FocusedOption(st) == name {
			return
		}
		o.Update(navMsg(NavDown), st)
	}
	t.Fatalf("option %s not in the editor", name)
}

func TestOptionsGolden(t *testing.T) {
	st := testState(t)
	if err := st.Options.Set("count=7", "mode=reverse:http://example.com", "mode=socks5"); err != nil {
		t.Fatal(err)
	}
	o := NewOptionsEditor().(*optionsScreen)
	if o.Title() != "Options" || o.Context() != "options" {
		t.Fatal(o.Title(), o.Context())
	}
	checkGolden(t, "options_top", o.View(st, 70, 16), 70, 16)
	focusOption(t, st, o, "mode")
	checkGolden(t, "options_mode", o.View(st, 70, 16), 70, 16)
	o.Update(navMsg(NavSelect), st)
	if len(st.push) != 1 {
		t.Fatalf("Enter on a sequence pushed %d screens", len(st.push))
	}
	seq := st.push[0]
	checkGolden(t, "options_seq", seq.View(st, 70, 12), 70, 12)
}

// TestOptionsEdit: Enter edits an option as its type says; values the
// option's setter rejects are not applied and their error shows.
func TestOptionsEdit(t *testing.T) {
	tests := []struct {
		name   string
		option string
		answer string // typed in the prompt, or picked in the chooser
		want   any
		errMsg string
	}{
		{"bool toggles", "anticache", "", true, ""},
		{"bool toggles back", "upstream_cert", "", false, ""},
		{"int", "count", "42", 42, ""},
		{"int rejected by its addon", "count", "-1", 3, "must not be negative"},
		{"int that is no int", "count", "many", 3, "count"},
		{"str", "name", "alice", "alice", ""},
		{"str rejected", "name", "bad", "", "not a good name"},
		{"choice", "console_eventlog_verbosity", "debug", "debug", ""},
		{"optional str", "stickycookie", "~d example", ptr("~d example"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testState(t)
			o := NewOptionsEditor().(*optionsScreen)
			o.View(st, 80, 20)
			focusOption(t, st, o, tt.option)
			o.Update(navMsg(NavSelect), st)
			switch {
			case st.prompt != nil:
				st.prompt.done(st, tt.answer)
			case len(st.push) == 1:
				c, ok := st.push[0].(*chooser)
				if !ok {
					t.Fatalf("pushed %T", st.push[0])
				}
				c.done(st, tt.answer)
			}
			_, got, _ := st.Options.Lookup(tt.option)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.option, got, tt.want)
			}
			msg, isErr := st.StatusMessage()
			if tt.errMsg == "" && isErr {
				t.Errorf("unexpected error %q", msg)
			}
			if tt.errMsg != "" && (!isErr || !strings.Contains(msg, tt.errMsg)) {
				t.Errorf("status %q (error %v), want an error with %q", msg, isErr, tt.errMsg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestOptionsReset: d resets the focused option, D all of them, when the
// keymap leaves those keys to the screen; FocusedOption names the option
// for console.options.reset.focus.
func TestOptionsReset(t *testing.T) {
	st := testState(t)
	if err := st.Options.Set("count=9", "name=x"); err != nil {
		t.Fatal(err)
	}
	o := NewOptionsEditor().(*optionsScreen)
	focusOption(t, st, o, "count")
	o.Update(keyPress("d"), st)
	if !st.Options.HasChanged("name") || st.Options.HasChanged("count") {
		t.Fatal("d did not reset just the focused option")
	}
	o.Update(keyPress("D"), st)
	for _, n := range optionNames(st) {
		if st.Options.HasChanged(n) {
			t.Errorf("%s still changed after D", n)
		}
	}
}

// TestSeqEditor: the list editor (a grid of one column) adds, inserts,
// edits and deletes entries, applying each change at once; a value the
// option rejects is not kept.
func TestSeqEditor(t *testing.T) {
	st := testState(t)
	s := newSeqEditor(st, "mode")
	mode := func() []string { _, v, _ := st.Options.Lookup("mode"); return v.([]string) }
	typed := func(text string) {
		for _, r := range text {
			s.Update(keyPress(string(r)), st)
		}
		s.Update(keyPress("enter"), st)
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"add after", func() { s.Update(keyPress("a"), st); typed("socks5") }, []string{"regular", "socks5"}},
		{"insert before", func() { s.Update(keyPress("A"), st); typed("upstream:http://u") }, []string{"regular", "upstream:http://u", "socks5"}},
		{"edit with enter", func() {
			s.Update(navMsg(NavSelect), st)
			for range "upstream:http://u" {
				s.Update(tea.KeyMsg{Type: tea.KeyBackspace}, st)
			}
			typed("dns")
		}, []string{"regular", "dns", "socks5"}},
		{"move and delete", func() { s.Update(navMsg(NavEnd), st); s.Update(keyPress("d"), st) }, []string{"regular", "dns"}},
		{"grid edit op", func() { s.Update(navMsg(NavStart), st); s.GridEdit(st, "delete") }, []string{"dns"}},
		{"an empty entry is dropped", func() { s.Update(keyPress("a"), st); typed("") }, []string{"dns"}},
	}
	for _, step := range steps {
		step.do()
		if got := mode(); !reflect.DeepEqual(got, step.want) {
			t.Errorf("%s: mode = %q, want %q", step.name, got, step.want)
		}
		if got := len(s.rows); got != len(step.want) {
			t.Errorf("%s: %d rows shown, want %d", step.name, got, len(step.want))
		}
	}
}

// TestOptionsResetFocusAction: console.options.reset.focus reaches the
// editor as an ActionMsg.
func TestOptionsResetFocusAction(t *testing.T) {
	st := testState(t)
	if err := st.Options.Set("count=9"); err != nil {
		t.Fatal(err)
	}
	o := NewOptionsEditor().(*optionsScreen)
	focusOption(t, st, o, "count")
	o.Update(ActionMsg{Name: "options.reset.focus"}, st)
	if st.Options.HasChanged("count") {
		t.Error("count not reset")
	}
}
