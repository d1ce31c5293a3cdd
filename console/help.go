package console

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/internal/textwrap"
)

// The reference screens: help (?), key bindings (K) and commands (C), as
// mitmproxy 12's help.py, keybindings.py and commands.py. This file also
// holds what the list screens of eventlog.go and options.go share: a
// cursor over a list, the navigation it answers to, and lines fitted to
// the window.

// helpPaneHeight is the height of the help pane under the option, key
// binding and command lists, its title included (mitmproxy's HELP_HEIGHT
// is 5 lines of text under a one-line title).
const helpPaneHeight = 6

// Navigation ------------------------------------------------------------------

// listNav is a navigation request for a list screen: the app's NavMsg
// (the console.nav.* commands behind j, k, g, G, space...), or a key the
// keymap left to the screen (arrows, page keys, home, end).
func listNav(msg tea.Msg) (NavKind, bool) {
	switch m := msg.(type) {
	case NavMsg:
		return m.Kind, true
	case tea.KeyMsg:
		switch KeyName(m) {
		case "up":
			return NavUp, true
		case "down":
			return NavDown, true
		case "page up":
			return NavPageUp, true
		case "page down":
			return NavPageDown, true
		case "home":
			return NavStart, true
		case "end":
			return NavEnd, true
		case "enter":
			return NavSelect, true
		}
	}
	return 0, false
}

// listCursor is the focus and the first shown line of a list of n items.
type listCursor struct {
	pos, top int
}

// move applies a navigation to a list of n items shown page lines at a
// time; it reports whether the focus moved.
func (c *listCursor) move(k NavKind, n, page int) bool {
	old := c.pos
	page = max(page-1, 1)
	switch k {
	case NavUp:
		c.pos--
	case NavDown:
		c.pos++
	case NavPageUp:
		c.pos -= page
	case NavPageDown:
		c.pos += page
	case NavStart:
		c.pos = 0
	case NavEnd:
		c.pos = n - 1
	default:
		return false
	}
	c.clamp(n)
	return c.pos != old
}

func (c *listCursor) clamp(n int) {
	c.pos = max(min(c.pos, n-1), 0)
}

// window returns the items shown in height lines, keeping the focus in
// sight.
func (c *listCursor) window(n, height int) (from, to int) {
	c.clamp(n)
	if height <= 0 {
		return 0, 0
	}
	if c.pos < c.top {
		c.top = c.pos
	}
	if c.pos >= c.top+height {
		c.top = c.pos - height + 1
	}
	c.top = max(min(c.top, n-height), 0)
	return c.top, min(c.top+height, n)
}

// Lines -----------------------------------------------------------------------

// fitCells cuts or pads s (which may hold ANSI styles) to exactly w cells.
func fitCells(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	} else if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s
}

// block joins lines into exactly height lines of width cells.
func block(lines []string, width, height int) string {
	out := make([]string, height)
	for i := range out {
		if i < len(lines) {
			out[i] = fitCells(lines[i], width)
		} else {
			out[i] = strings.Repeat(" ", max(width, 0))
		}
	}
	return strings.Join(out, "\n")
}

// helpPane renders the help pane of a list screen: a heading and the text
// wrapped to the width.
func helpPane(st *State, title, text string, width int) []string {
	lines := []string{st.Style("heading_inactive").Render(fitCells(title, width))}
	for _, para := range strings.Split(text, "\n") {
		wrapped := textwrap.Wrap(para, max(width, 1))
		if len(wrapped) == 0 {
			wrapped = []string{""}
		}
		lines = append(lines, wrapped...)
	}
	return lines[:min(len(lines), helpPaneHeight)]
}

// listWithHelp lays out a list screen: the list above, the help pane
// below (when the window is tall enough for both).
func listWithHelp(st *State, width, height int, list func(h int) []string, title, help string) string {
	paneH := helpPaneHeight
	if height < paneH+3 {
		paneH = 0
	}
	lines := list(height - paneH)
	for len(lines) < height-paneH {
		lines = append(lines, "")
	}
	lines = lines[:height-paneH]
	if paneH > 0 {
		pane := helpPane(st, title, help, width)
		for len(pane) < paneH {
			pane = append(pane, "")
		}
		lines = append(lines, pane...)
	}
	return block(lines, width, height)
}

// Help (?) --------------------------------------------------------------------

// helpScreen is mitmproxy's help view: two tabs, the key bindings (common
// ones, those of the screen it was opened from, global ones) and the
// filter expressions. Tab (or h/l) switches tabs.
type helpScreen struct {
	ctx  string // the context of the screen below
	tab  int
	top  [2]int
	last int // the height of the last View, for paging
}

// NewHelp returns the help screen (key ?).
func NewHelp() Screen { return &helpScreen{} }

// SetHelpContext names the context of the screen help was opened from: its
// bindings are listed as "Keybindings for this view".
func (h *helpScreen) SetHelpContext(ctx string) { h.ctx = ctx }

func (h *helpScreen) Title() string   { return "Help" }
func (h *helpScreen) Context() string { return "help" }

func (h *helpScreen) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if m, ok := msg.(tea.KeyMsg); ok && KeyName(m) == "tab" {
		h.tab = 1 - h.tab
		return h, nil
	}
	k, ok := listNav(msg)
	if !ok {
		return h, nil
	}
	page := max(h.last-1, 1)
	t := &h.top[h.tab]
	switch k {
	case NavNext, NavRight, NavLeft:
		h.tab = 1 - h.tab
	case NavUp:
		*t--
	case NavDown:
		*t++
	case NavPageUp:
		*t -= page
	case NavPageDown:
		*t += page
	case NavStart:
		*t = 0
	case NavEnd:
		*t = 1 << 30
	}
	*t = max(*t, 0)
	return h, nil
}

func (h *helpScreen) View(st *State, width, height int) string {
	h.last = height - 1
	tabs := []string{"Key Bindings", "Filter Expressions"}
	var head []string
	for i, t := range tabs {
		s := st.Style("heading_inactive")
		if i == h.tab {
			s = st.Style("heading")
		}
		head = append(head, s.Render(" "+t+" "))
	}
	var body []string
	if h.tab == 0 {
		body = h.keyLines(st, width)
	} else {
		body = filterHelpLines(st)
	}
	t := &h.top[h.tab]
	*t = max(min(*t, len(body)-(height-1)), 0)
	lines := append([]string{strings.Join(head, " ")}, body[*t:]...)
	return block(lines, width, height)
}

func (h *helpScreen) keyLines(st *State, width int) []string {
	var out []string
	section := func(title string, binds []*Binding) {
		if len(out) > 0 {
			out = append(out, "")
		}
		out = append(out, st.Style("title").Render(title))
		out = append(out, keyvals(st, bindingPairs(binds), width, 0)...)
	}
	var common, here, global []*Binding
	if st.Keymap != nil {
		common = st.Keymap.List("commonkey")
		if h.ctx != "" && h.ctx != "global" {
			here = st.Keymap.List(h.ctx)
		}
		global = st.Keymap.List("global")
	}
	section("Common Keybindings", common)
	section("Keybindings for this view", here)
	section("Global Keybindings", global)
	return out
}

func bindingPairs(binds []*Binding) [][2]string {
	out := make([][2]string, 0, len(binds))
	for _, b := range binds {
		help := b.Help
		if help == "" {
			help = strings.TrimSpace(b.Command)
		}
		out = append(out, [2]string{b.Key, help})
	}
	return out
}

// keyvals renders key/value pairs as mitmproxy's common.format_keyvals: the
// keys in a column as wide as the longest, the values wrapped beside them.
func keyvals(st *State, kvs [][2]string, width, indent int) []string {
	kw := 0
	for _, kv := range kvs {
		kw = max(kw, ansi.StringWidth(kv[0]))
	}
	kw = min(kw, max(width/3, 1))
	var out []string
	for _, kv := range kvs {
		vw := max(width-indent-kw-2, 10)
		vals := textwrap.Wrap(kv[1], vw)
		if len(vals) == 0 {
			vals = []string{""}
		}
		for i, v := range vals {
			k := ""
			if i == 0 {
				k = kv[0]
			}
			out = append(out, strings.Repeat(" ", indent)+st.Style("key").Render(fitCells(k, kw))+"  "+st.Style("text").Render(v))
		}
	}
	return out
}

func filterHelpLines(st *State) []string {
	var kvs [][2]string
	for _, e := range filter.Help() {
		kvs = append(kvs, [2]string{e.Expr, e.Help})
	}
	out := keyvals(st, kvs, 1<<20, 4)
	out = append(out, "",
		"    Regexes are Python-style.",
		"    Regexes can be specified as quoted strings.",
		`    Header matching (~h, ~hq, ~hs) is against a string of the form "name: value".`,
		"    Expressions with no operators are regex matches against URL.",
		"    Default binary operator is &.",
		"",
		st.Style("head").Render("    Examples:"),
	)
	out = append(out, keyvals(st, [][2]string{
		{`google\.com`, `Url containing "google.com`},
		{`~q ~b test`, `Requests where body contains "test"`},
		{`!(~q & ~t "text/html")`, "Anything but requests with a text/html content type."},
	}, 1<<20, 4)...)
	return out
}

// Key bindings (K) --------------------------------------------------------------

// keyBindingsScreen lists every key binding (mitmproxy's keybindings.py):
// key, contexts, command, and the focused binding's help below. Its keys
// (a add, d unbind, x execute, Enter edit) are bound in the "keybindings"
// context to console.key.* commands, which act on FocusedBinding.
type keyBindingsScreen struct {
	cur  listCursor
	last int
}

// NewKeyBindings returns the key bindings screen (key K).
func NewKeyBindings() Screen { return &keyBindingsScreen{} }

func (k *keyBindingsScreen) Title() string   { return "Key Bindings" }
func (k *keyBindingsScreen) Context() string { return "keybindings" }

func (k *keyBindingsScreen) bindings(st *State) []*Binding {
	if st.Keymap == nil {
		return nil
	}
	return st.Keymap.List("all")
}

// FocusedBinding returns the focused binding, or nil.
func (k *keyBindingsScreen) FocusedBinding(st *State) *Binding {
	bs := k.bindings(st)
	if len(bs) == 0 {
		return nil
	}
	k.cur.clamp(len(bs))
	return bs[k.cur.pos]
}

func (k *keyBindingsScreen) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if m, ok := msg.(ActionMsg); ok {
		k.act(st, m.Name)
		return k, nil
	}
	if nav, ok := listNav(msg); ok {
		k.cur.move(nav, len(k.bindings(st)), k.last)
	}
	return k, nil
}

func (k *keyBindingsScreen) View(st *State, width, height int) string {
	bs := k.bindings(st)
	help := ""
	if b := k.FocusedBinding(st); b != nil {
		help = b.Help
	}
	return listWithHelp(st, width, height, func(h int) []string {
		k.last = h
		from, to := k.cur.window(len(bs), h)
		var out []string
		for i := from; i < to && len(out) < h; i++ {
			b := bs[i]
			mark := "   "
			if i == k.cur.pos {
				mark = ">> "
			}
			cmd := strings.Join(strings.Fields(b.Command), " ")
			// mitmproxy stacks the contexts in their column; one line
			// each keeps 100 bindings on a screen here.
			out = append(out, st.Style("focus").Render(fitCells(mark, 4))+
				st.Style("title").Render(fitCells(b.Key, 10))+
				st.Style("highlight").Render(fitCells(strings.Join(b.Contexts, ","), 22))+" "+
				st.Style("text").Render(cmd))
		}
		return out
	}, "Key Binding Help", help)
}

// act runs the console.key.*.focus commands, which the app passes on as
// ActionMsgs, on the focused binding.
func (k *keyBindingsScreen) act(st *State, name string) {
	b := k.FocusedBinding(st)
	if b == nil {
		return
	}
	switch name {
	case "key.unbind.focus":
		if err := st.Keymap.Remove(b.Key, slices.Clone(b.Contexts)); err != nil {
			st.Error(err)
		}
	case "key.execute.focus":
		_, _ = st.Run(strings.TrimSpace(b.Command))
	case "key.edit.focus":
		// As mitmproxy: the command prompt with the console.key.bind
		// command that would make the binding.
		line := fmt.Sprintf("console.key.bind %s %s %s", strings.Join(b.Contexts, ","), command.Quote(b.Key),
			strings.Join(strings.Fields(b.Command), " "))
		commandPrompt(st, line)
	}
}

// commandPrompt opens the command prompt (with completion and history)
// holding partial; without the app (in tests) a plain prompt that runs
// the command.
func commandPrompt(st *State, partial string) {
	if st.app != nil {
		st.CommandPrompt(partial)
		return
	}
	st.Prompt(":", partial, func(st *State, v string) { _, _ = st.Run(v) }, nil)
}

// Commands (C) -------------------------------------------------------------------

// commandsScreen is the command reference (mitmproxy's commands.py): every
// command with its signature, sorted by it, and the focused command's help
// below. Enter opens the command prompt with the command's name.
type commandsScreen struct {
	cur  listCursor
	last int
}

// NewCommands returns the command reference screen (key C).
func NewCommands() Screen { return &commandsScreen{} }

func (c *commandsScreen) Title() string   { return "Command Reference" }
func (c *commandsScreen) Context() string { return "commands" }

func (c *commandsScreen) commands(st *State) []*command.Command {
	if st.Commands == nil {
		return nil
	}
	cmds := st.Commands.Commands()
	slices.SortFunc(cmds, func(a, b *command.Command) int { return strings.Compare(a.Signature(), b.Signature()) })
	return cmds
}

// FocusedCommand returns the focused command's name, or "".
func (c *commandsScreen) FocusedCommand(st *State) string {
	cmds := c.commands(st)
	if len(cmds) == 0 {
		return ""
	}
	c.cur.clamp(len(cmds))
	return cmds[c.cur.pos].Name
}

func (c *commandsScreen) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	nav, ok := listNav(msg)
	if !ok {
		return c, nil
	}
	cmds := c.commands(st)
	if nav == NavSelect {
		if name := c.FocusedCommand(st); name != "" {
			commandPrompt(st, name+" ")
		}
		return c, nil
	}
	c.cur.move(nav, len(cmds), c.last)
	return c, nil
}

func (c *commandsScreen) View(st *State, width, height int) string {
	cmds := c.commands(st)
	help := ""
	if len(cmds) > 0 {
		c.cur.clamp(len(cmds))
		help = cmds[c.cur.pos].Help
	}
	return listWithHelp(st, width, height, func(h int) []string {
		c.last = h
		from, to := c.cur.window(len(cmds), h)
		var out []string
		for i := from; i < to; i++ {
			cmd := cmds[i]
			mark := "   "
			if i == c.cur.pos {
				mark = ">> "
			}
			line := st.Style("focus").Render(mark) + st.Style("title").Render(cmd.Name)
			var params []string
			for _, p := range cmd.Params {
				params = append(params, p.String())
			}
			if len(params) > 0 {
				line += st.Style("text").Render(" " + strings.Join(params, " "))
			}
			if !cmd.Returns.IsNone() {
				line += st.Style("title").Render(" -> ") + st.Style("text").Render(cmd.Returns.String())
			}
			out = append(out, line)
		}
		return out
	}, "Command Help", help)
}
