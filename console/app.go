package console

import (
	"fmt"
	"io"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// NavKind is a navigation request (mitmproxy's console.nav.* commands and
// the arrow keys).
type NavKind int

// The navigation requests.
const (
	NavUp NavKind = iota
	NavDown
	NavPageUp
	NavPageDown
	NavStart
	NavEnd
	NavLeft
	NavRight
	NavNext
	NavSelect
)

// NavMsg asks the focused screen to move (console.nav.up, the arrows...).
type NavMsg struct{ Kind NavKind }

// ActionMsg asks the focused screen to do something named that only it
// knows (console.options.reset.focus → "options.reset.focus",
// console.key.unbind.focus → "key.unbind.focus", console.search.next...).
// A screen that does not know it ignores it; Handled says whether one did.
type ActionMsg struct {
	Name string
	Args []string
}

// RawKeys is implemented by screens that want every key, unbound, while
// they edit text (an option's value being typed): the keymap is skipped
// while RawKeys returns true.
type RawKeys interface {
	RawKeys() bool
}

// pane is one stack of screens.
type pane struct {
	stack []Screen
	// fitted holds the lines of the last render after fit, by line: most
	// lines are drawn again as they were, if on another row when the
	// flow list scrolls (its rows come from its cache), and measuring a
	// styled line costs. fitting is the render's.
	fitted, fitting map[string]string
	fitW            int
}

// fitLine is fit(s, w), from the last render when the line was drawn then.
func (p *pane) fitLine(s string, w int) string {
	if p.fitW != w || p.fitting == nil {
		p.fitted, p.fitting, p.fitW = map[string]string{}, map[string]string{}, w
	}
	out, ok := p.fitted[s]
	if !ok {
		out = fit(s, w)
	}
	p.fitting[s] = out
	return out
}

// fitDone ends a render: its lines are the ones kept.
func (p *pane) fitDone() {
	p.fitted, p.fitting = p.fitting, p.fitted
	clear(p.fitting)
}

func (p *pane) top() Screen { return p.stack[len(p.stack)-1] }

// App is the Bubble Tea model of the console: two panes of screen stacks
// (the flow list, and the event log shown by the vertical and horizontal
// layouts), the status bar and the prompt line.
type App struct {
	c     *Console
	panes [2]*pane
	focus int
	// bodyTop is the screen row where the focused pane's body starts
	// (mouse events).
	bodyTop, bodyLeft int
	cmdHistory        *history
	// renderLog, when set, gets a line per render: the time and the
	// number of flows in the view (MITMGO_CONSOLE_RENDERLOG, benchmarks).
	renderLog io.Writer
	// helpCache keeps the quick help's rows (statusbar.go).
	helpCache helpCache
}

func newApp(c *Console) *App {
	a := &App{c: c, cmdHistory: &history{max: 500}}
	a.panes[0] = &pane{stack: []Screen{newFlowList()}}
	a.panes[1] = &pane{stack: []Screen{NewEventLog()}}
	return a
}

// Init starts the status bar's refresh.
func (a *App) Init() tea.Cmd { return nil }

// State is the console's state.
func (a *App) State() *State { return a.c.st }

// Top is the focused screen.
func (a *App) Top() Screen { return a.panes[a.focus].top() }

// Depth is the number of screens on the focused pane's stack.
func (a *App) Depth() int { return len(a.panes[a.focus].stack) }

func (a *App) layout() string {
	l := a.c.st.opts.layout.Get()
	if l == "" {
		l = "single"
	}
	return l
}

func contextOf(s Screen) string {
	if c, ok := s.(Contexter); ok {
		return c.Context()
	}
	return "global"
}

// Update handles a message.
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	st := a.c.st
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		st.Width, st.Height = msg.Width, msg.Height
		cmds = append(cmds, a.toScreens(msg))
	case refreshMsg:
		a.c.dirty.Store(false)
		a.c.drain()
		a.dropEmptyFlowViews()
		cmds = append(cmds, a.toScreens(RefreshMsg{}))
	case tickMsg:
		a.c.drain()
	case tea.KeyMsg:
		cmds = append(cmds, a.key(msg))
	case tea.MouseMsg:
		cmds = append(cmds, a.mouse(msg))
	case execDoneMsg:
		if msg.apply != nil {
			msg.apply(st)
		}
	default:
		// NavMsg, ActionMsg and the screens' own messages.
		cmds = append(cmds, a.toTop(msg))
	}
	a.c.drain()
	cmds = append(cmds, a.settle()...)
	if st.quit {
		st.quit = false
		cmds = append(cmds, tea.Quit)
	}
	return a, tea.Batch(cmds...)
}

// settle applies the screen stack's pending changes and the queued cmds.
func (a *App) settle() []tea.Cmd {
	st := a.c.st
	for st.pops > 0 || len(st.push) > 0 {
		for ; st.pops > 0; st.pops-- {
			p := a.panes[a.focus]
			if len(p.stack) > 1 {
				// A screen that applies its work when left (the grid
				// editor, as mitmproxy's layout_popping) does it now.
				if l, ok := p.top().(interface{ Leave(st *State) }); ok {
					l.Leave(st)
				}
				p.stack = p.stack[:len(p.stack)-1]
			} else {
				st.pops = 1
				st.Confirm("Quit", func(st *State) { st.Quit() })
			}
		}
		push := st.push
		st.push = nil
		for _, s := range push {
			if ch, ok := s.(*chooser); ok {
				ch.under = a.Top()
			}
			a.panes[a.focus].stack = append(a.panes[a.focus].stack, s)
		}
	}
	cmds := st.cmds
	st.cmds = nil
	a.snapshot()
	return cmds
}

func (a *App) snapshot() {
	s := uiSnapshot{context: contextOf(a.Top())}
	if fv := a.flowView(); fv != nil {
		s.flowviewOK, s.tab = true, fv.tab
	}
	a.c.setSnapshot(s)
}

// flowView is the flow view on top of a pane (the focused one first).
func (a *App) flowView() *flowView {
	for _, i := range []int{a.focus, 1 - a.focus} {
		if i == 1 && a.layout() == "single" && a.focus == 0 {
			continue
		}
		for j := len(a.panes[i].stack) - 1; j >= 0; j-- {
			s := a.panes[i].stack[j]
			if fv, ok := s.(*flowView); ok {
				return fv
			}
			if _, ok := s.(*chooser); !ok {
				break
			}
		}
	}
	return nil
}

// dropEmptyFlowViews goes back from flow views once no flow is focused
// (the last one was deleted), as mitmproxy does.
func (a *App) dropEmptyFlowViews() {
	if a.c.st.Focus() != nil {
		return
	}
	for _, p := range a.panes {
		for len(p.stack) > 1 {
			fv, ok := p.top().(*flowView)
			if !ok {
				break
			}
			fv.Leave(a.c.st)
			p.stack = p.stack[:len(p.stack)-1]
		}
	}
}

// key handles a key press: the prompt line first, then a screen that
// edits text, then the keymap in the screen's context, then the screen.
func (a *App) key(msg tea.KeyMsg) tea.Cmd {
	st := a.c.st
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && st.prompt == nil {
		// Keys typed faster than the terminal is read arrive together:
		// each is a key press of its own.
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			k := msg
			k.Runes = []rune{r}
			cmds = append(cmds, a.key(k))
			a.c.drain()
			cmds = append(cmds, a.settle()...)
		}
		return tea.Batch(cmds...)
	}
	if st.prompt != nil {
		return st.prompt.update(msg, st)
	}
	top := a.Top()
	if r, ok := top.(RawKeys); ok && r.RawKeys() {
		return a.toTop(msg)
	}
	if msg.Type == tea.KeyCtrlC {
		st.Quit()
		return nil
	}
	name := KeyName(msg)
	if _, ok := top.(*flowView); ok && name == "shift tab" && a.layout() == "single" {
		// With one pane, shift-tab goes to the flow view's previous tab.
		return a.toTop(NavMsg{NavLeft})
	}
	if b := st.Keymap.Lookup(contextOf(top), name); b != nil {
		_, _ = st.Run(b.Command)
		a.c.drain()
		return nil
	}
	switch name {
	case "up":
		return a.toTop(NavMsg{NavUp})
	case "down":
		return a.toTop(NavMsg{NavDown})
	case "page up":
		return a.toTop(NavMsg{NavPageUp})
	case "page down":
		return a.toTop(NavMsg{NavPageDown})
	case "home":
		return a.toTop(NavMsg{NavStart})
	case "end":
		return a.toTop(NavMsg{NavEnd})
	case "left":
		return a.toTop(NavMsg{NavLeft})
	case "right":
		return a.toTop(NavMsg{NavRight})
	}
	return a.toTop(msg)
}

// mouse handles the wheel (up and down) and clicks, which go to the
// focused screen with coordinates relative to its body.
func (a *App) mouse(msg tea.MouseMsg) tea.Cmd {
	if !a.c.st.opts.mouse.Get() {
		return nil
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		return a.toTop(NavMsg{NavUp})
	case tea.MouseButtonWheelDown:
		return a.toTop(NavMsg{NavDown})
	}
	if msg.Action != tea.MouseActionPress || msg.Button != tea.MouseButtonLeft {
		return nil
	}
	msg.Y -= a.bodyTop
	msg.X -= a.bodyLeft
	if msg.Y < 0 {
		return nil
	}
	return a.toTop(msg)
}

func (a *App) toTop(msg tea.Msg) tea.Cmd {
	p := a.panes[a.focus]
	s, cmd := p.top().Update(msg, a.c.st)
	if s != nil {
		p.stack[len(p.stack)-1] = s
	}
	return cmd
}

// toScreens sends msg to the top screen of both panes.
func (a *App) toScreens(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range a.panes {
		s, cmd := p.top().Update(msg, a.c.st)
		if s != nil {
			p.stack[len(p.stack)-1] = s
		}
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// View renders the window: the panes, the status bar and the action bar
// (message, prompt or quick help).
func (a *App) View() string {
	st := a.c.st
	if st.Width <= 0 || st.Height <= 0 {
		// No size from the terminal (not a terminal): a classic one.
		st.Width, st.Height = 80, 24
	}
	w, h := st.Width, st.Height
	footer := a.footer(w)
	bodyH := max(h-len(footer), 1)
	var body []string
	a.bodyLeft = 0
	switch a.layout() {
	case "vertical":
		h0 := bodyH / 2
		body = append(a.paneView(0, w, h0), a.paneView(1, w, bodyH-h0)...)
		a.bodyTop = 0
		if a.focus == 1 {
			a.bodyTop = h0
		}
	case "horizontal":
		w0 := (w - 1) / 2
		l, r := a.paneView(0, w0, bodyH), a.paneView(1, w-w0-1, bodyH)
		for i := range bodyH {
			body = append(body, l[i]+" "+r[i])
		}
		a.bodyTop = 0
		if a.focus == 1 {
			a.bodyLeft = w0 + 1
		}
	default:
		a.focus = 0
		body = a.paneView(0, w, bodyH)
		a.bodyTop = 0
	}
	if st.opts.layoutHeaders.Get() {
		a.bodyTop++
	}
	lines := append(body, footer...)
	if len(lines) > h {
		lines = lines[:h]
	}
	if a.renderLog != nil && st.View != nil {
		fmt.Fprintf(a.renderLog, "%d %d\n", time.Now().UnixNano(), st.View.Len())
	}
	return strings.Join(lines, "\n")
}

// paneView renders pane i in exactly w x h cells, with its title bar when
// console_layout_headers is set.
func (a *App) paneView(i, w, h int) []string {
	st := a.c.st
	p := a.panes[i]
	var out []string
	if st.opts.layoutHeaders.Get() && h > 1 {
		style := "heading"
		if i != a.focus && a.layout() != "single" {
			style = "heading_inactive"
		}
		out = append(out, st.paint(style, fit(p.top().Title(), w)))
		h--
	}
	body := strings.Split(p.top().View(st, w, h), "\n")
	for j := range h {
		if j < len(body) {
			out = append(out, p.fitLine(body[j], w))
		} else {
			out = append(out, strings.Repeat(" ", w))
		}
	}
	p.fitDone()
	return out
}

// fit pads or cuts a (styled) line to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// overlay puts box over line from column left, keeping what is around it.
func overlay(line, box string, left, w, width int) string {
	line = fit(line, width)
	return ansi.Cut(line, 0, left) + box + ansi.Cut(line, left+w, width)
}
