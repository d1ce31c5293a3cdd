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
		st.Push(newSeqEditor(st, name))
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
		help = cleanLines(optionHelp(st, name))
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
			// Values (and the names and help of options that scripts
			// declare) are drawn escaped: no control character reaches
			// the terminal.
			val := clean(strings.ReplaceAll(optionDisplay(v), "\n", " "))
			valW := max(width-nameW-2, 1)
			out = append(out, st.Style("title").Render(fitCells(clean(name), nameW))+"  "+
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

// newSeqEditor edits an option that is a sequence of strings, one row per
// entry (mitmproxy's options overlay): a grid editor of one column that
// applies each change at once; one the option rejects is not applied.
func newSeqEditor(st *State, name string) *gridEditor {
	values := func(st *State) [][]string {
		_, v, _ := st.Options.Lookup(name)
		l, _ := v.([]string)
		rows := make([][]string, len(l))
		for i, s := range l {
			rows[i] = []string{s}
		}
		return rows
	}
	opt, _, _ := st.Options.Lookup(name)
	g := &gridEditor{title: "Option: " + name, help: opt.Help + "\n" + gridHelpText, helpTitle: "Option Help",
		cols: []string{name}, rows: values(st), live: true, load: values,
		apply: func(st *State, rows [][]string) error {
			l := make([]string, len(rows))
			for i, r := range rows {
				l[i] = r[0]
			}
			return st.Options.Update(map[string]any{name: l})
		}}
	return g
}
