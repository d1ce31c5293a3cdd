package console

import (
	"fmt"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// The options editor (O), as mitmproxy 12's options.py: every option of
// the tool, sorted, with its value (changed ones in the "option_active"
// colour); the focused option's help, type and default below. Enter edits
// the focused option: a bool toggles, an option with choices opens the
// chooser, strings and integers open the prompt with the current value, a
// sequence of strings opens a list editor. Values go through the options
// registry, so that every addon's configure sees them at once; a value an
// addon rejects is not applied and its error shows in the status bar.
// In the "options" context, d resets the focused option and D every option
// (console.options.reset.focus, which the app passes on as an ActionMsg,
// and options.reset), L and S load and save them (options.load,
// options.save).

type optionsScreen struct {
	cur  listCursor
	last int
}

// NewOptionsEditor returns the options editor (key O).
func NewOptionsEditor() Screen { return &optionsScreen{} }

func (o *optionsScreen) Title() string   { return "Options" }
func (o *optionsScreen) Context() string { return "options" }

// optionNames are the options the editor lists: the tool's own, sorted
// (those declared only so that another tool's config is accepted are
// left out, as mitmproxy's tools know only their own).
func optionNames(st *State) []string {
	if st.Options == nil {
		return nil
	}
	var out []string
	for _, n := range st.Options.Names() {
		if opt, _, ok := st.Options.Lookup(n); ok && !opt.Ignored {
			out = append(out, n)
		}
	}
	return out
}

// FocusedOption returns the focused option's name, or "" (for
// console.options.reset.focus).
func (o *optionsScreen) FocusedOption(st *State) string {
	names := optionNames(st)
	if len(names) == 0 {
		return ""
	}
	o.cur.clamp(len(names))
	return names[o.cur.pos]
}

func (o *optionsScreen) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if m, ok := msg.(ActionMsg); ok && m.Name == "options.reset.focus" {
		if name := o.FocusedOption(st); name != "" {
			setOptionValues(st, func() error { return st.Options.Reset(name) })
		}
		return o, nil
	}
	if m, ok := msg.(tea.KeyMsg); ok {
		// Only when the keymap leaves them to the screen.
		switch KeyName(m) {
		case "d":
			if name := o.FocusedOption(st); name != "" {
				setOptionValues(st, func() error { return st.Options.Reset(name) })
			}
			return o, nil
		case "D":
			setOptionValues(st, func() error { return st.Options.Reset() })
			return o, nil
		}
	}
	nav, ok := listNav(msg)
	if !ok {
		return o, nil
	}
	if nav == NavSelect {
		if name := o.FocusedOption(st); name != "" {
			editOption(st, name)
		}
		return o, nil
	}
	o.cur.move(nav, len(optionNames(st)), o.last)
	return o, nil
}

// setOptionValues applies an option change, showing an error the options
// (or an addon's configure) returned in the status bar; the registry has
// then rolled the change back.
func setOptionValues(st *State, change func() error) {
	if err := change(); err != nil {
		st.Error(err)
	}
}

// setOptionText sets an option from its text form, as `set name=value`.
func setOptionText(st *State, name, text string) {
	setOptionValues(st, func() error {
		v, err := st.Options.ParseValue(name, text)
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
		return st.Options.Update(map[string]any{name: v})
	})
}

// editOption starts editing an option as its type says.
func editOption(st *State, name string) {
	opt, v, ok := st.Options.Lookup(name)
	if !ok {
		return
	}
	switch {
	case opt.Kind == addon.Bool:
		b, _ := v.(bool)
		setOptionValues(st, func() error { return st.Options.Update(map[string]any{name: !b}) })
	case len(opt.Choices) > 0:
		st.Choose(name, opt.Choices, optionText(v), func(st *State, choice string) {
			setOptionText(st, name, choice)
		})
	case opt.Kind == addon.Strings:
		st.Push(newSeqEditor(name))
	default:
		st.Prompt(name, optionText(v), func(st *State, text string) { setOptionText(st, name, text) }, nil)
	}
}

// optionText is a value as the editor's input shows it ("" for None).
func optionText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case *int:
		if x == nil {
			return ""
		}
		return strconv.Itoa(*x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []string:
		return pyList(x)
	}
	return fmt.Sprint(v)
}

// optionDisplay is a value as the list shows it: mitmproxy shows false
// values (None, "", 0, []) as nothing, except a bool's false.
func optionDisplay(v any) string {
	switch x := v.(type) {
	case bool:
		return optionText(x)
	case int:
		if x == 0 {
			return ""
		}
	case string:
		return x
	case []string:
		if len(x) == 0 {
			return ""
		}
	case *int:
		if x != nil && *x == 0 {
			return ""
		}
	}
	return optionText(v)
}

// pyList is a list of strings as Python's repr writes it.
func pyList(l []string) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(pyrepr.Str(s))
	}
	sb.WriteByte(']')
	return sb.String()
}

func (o *optionsScreen) View(st *State, width, height int) string {
	names := optionNames(st)
	nameW := 0
	for _, n := range names {
		nameW = max(nameW, len(n))
	}
	help := ""
	if name := o.FocusedOption(st); name != "" {
		help = optionHelp(st, name)
	}
	return listWithHelp(st, width, height, func(h int) []string {
		o.last = h
		from, to := o.cur.window(len(names), h)
		var out []string
		for i := from; i < to; i++ {
			name := names[i]
			_, v, _ := st.Options.Lookup(name)
			changed := st.Options.HasChanged(name)
			style := "text"
			switch {
			case i == o.cur.pos && changed:
				style = "option_active_selected"
			case i == o.cur.pos:
				style = "option_selected"
			case changed:
				style = "option_active"
			}
			val := strings.ReplaceAll(optionDisplay(v), "\n", " ")
			valW := max(width-nameW-2, 1)
			out = append(out, st.Style("title").Render(fitCells(name, nameW))+"  "+
				st.Style(style).Render(fitCells(val, valW)))
		}
		return out
	}, "Option Help", help)
}

// optionHelp is the help pane's text: the option's help, then its type,
// default and choices.
func optionHelp(st *State, name string) string {
	opt, _, ok := st.Options.Lookup(name)
	if !ok {
		return ""
	}
	s := opt.Help + "\nType: " + opt.Kind.String() + "; default: "
	if d := optionText(opt.Default); d != "" {
		s += d
	} else if opt.Kind == addon.OptionalString || opt.Kind == addon.OptionalInt {
		s += "None"
	} else {
		s += `""`
	}
	if len(opt.Choices) > 0 {
		s += "; choices: " + strings.Join(opt.Choices, ", ")
	}
	return s
}

// The list editor of sequence options --------------------------------------------

// seqEditor edits an option that is a sequence of strings, one line per
// entry (mitmproxy's options overlay, a one-column grid editor): a adds an
// entry after the focused one, A before it, Enter edits it, d deletes it,
// e edits them all in $EDITOR; q goes back. Each change is applied at once, and one the
// option rejects is not.
type seqEditor struct {
	name string
	cur  listCursor
	last int
}

func newSeqEditor(name string) *seqEditor { return &seqEditor{name: name} }

func (s *seqEditor) Title() string   { return "Option: " + s.name }
func (s *seqEditor) Context() string { return "grideditor" }

func (s *seqEditor) values(st *State) []string {
	_, v, _ := st.Options.Lookup(s.name)
	l, _ := v.([]string)
	return l
}

func (s *seqEditor) set(st *State, l []string) {
	setOptionValues(st, func() error { return st.Options.Update(map[string]any{s.name: l}) })
}

// GridEdit runs one of the grid editor's operations ("add", "insert",
// "delete", "edit", and "editor": every entry in $EDITOR, one a line) on
// the focused entry: console.grideditor.* commands call it.
func (s *seqEditor) GridEdit(st *State, op string) {
	l := s.values(st)
	s.cur.clamp(len(l))
	at := s.cur.pos
	switch op {
	case "add", "insert":
		if op == "add" && len(l) > 0 {
			at++
		}
		st.Prompt(s.name+" (new entry)", "", func(st *State, v string) {
			l := s.values(st)
			at := min(at, len(l))
			nl := append(append(append([]string{}, l[:at]...), v), l[at:]...)
			s.set(st, nl)
			s.cur.pos = at
		}, nil)
	case "delete":
		if len(l) == 0 {
			return
		}
		nl := append(append([]string{}, l[:at]...), l[at+1:]...)
		s.set(st, nl)
	case "editor":
		if st.app == nil {
			s.GridEdit(st, "edit")
			return
		}
		text := strings.Join(l, "\n")
		if len(l) > 0 {
			text += "\n"
		}
		err := st.app.c.external(editorCommand(), []byte(text), ".txt", func(st *State, edited []byte) {
			var nl []string
			for _, line := range strings.Split(string(edited), "\n") {
				if line = strings.TrimRight(line, "\r"); line != "" {
					nl = append(nl, line)
				}
			}
			s.set(st, nl)
		})
		if err != nil {
			st.Error(err)
		}
	case "edit":
		if len(l) == 0 {
			s.GridEdit(st, "add")
			return
		}
		st.Prompt(s.name, l[at], func(st *State, v string) {
			l := s.values(st)
			if at >= len(l) {
				return
			}
			nl := append([]string{}, l...)
			nl[at] = v
			s.set(st, nl)
		}, nil)
	}
}

func (s *seqEditor) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if m, ok := msg.(tea.KeyMsg); ok {
		switch KeyName(m) {
		case "a":
			s.GridEdit(st, "add")
			return s, nil
		case "A":
			s.GridEdit(st, "insert")
			return s, nil
		case "d":
			s.GridEdit(st, "delete")
			return s, nil
		case "e":
			s.GridEdit(st, "editor")
			return s, nil
		}
	}
	nav, ok := listNav(msg)
	if !ok {
		return s, nil
	}
	if nav == NavSelect {
		s.GridEdit(st, "edit")
		return s, nil
	}
	s.cur.move(nav, len(s.values(st)), s.last)
	return s, nil
}

func (s *seqEditor) View(st *State, width, height int) string {
	l := s.values(st)
	opt, _, _ := st.Options.Lookup(s.name)
	help := opt.Help + "\na: add after, A: add before, enter: edit, e: all in $EDITOR, d: delete, q: done"
	return listWithHelp(st, width, height, func(h int) []string {
		s.last = h - 1
		out := []string{st.Style("heading").Render(fitCells(s.name, width))}
		if len(l) == 0 {
			return append(out, st.Style("text").Render("(empty: a adds an entry)"))
		}
		from, to := s.cur.window(len(l), h-1)
		for i := from; i < to; i++ {
			style := "text"
			if i == s.cur.pos {
				style = "option_selected"
			}
			out = append(out, st.Style(style).Render(fitCells(l[i], width)))
		}
		return out
	}, "Option Help", help)
}
