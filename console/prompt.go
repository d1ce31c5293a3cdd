package console

import (
	"slices"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
)

// prompt is the prompt line at the bottom of the window (mitmproxy's
// ActionBar): a text input with a label, Tab completion and, for the
// command prompt, history. With onekey, a single key answers (y/n).
type prompt struct {
	label    string
	input    lineEdit
	done     func(st *State, value string)
	complete func(text string) []string
	onekey   string
	history  *history
	// hint, when set, returns what to show after the text (the command
	// prompt: the parameters still to give).
	hint func(text string) string
	// onAdd is told of each command line entered (command_history).
	onAdd func(line string)

	// Tab completion state: the candidates for the text before the
	// first Tab, and which one is shown.
	cands    []string
	candIdx  int
	candBase string
}

func newPrompt(label, initial string, done func(st *State, value string), complete func(string) []string) *prompt {
	var in lineEdit
	in.SetValue(initial)
	in.CursorEnd()
	return &prompt{label: label, input: in, done: done, complete: complete}
}

// Confirm asks a yes/no question on the prompt line; done runs on "y".
func (st *State) Confirm(question string, done func(st *State)) {
	p := newPrompt(question, "", func(st *State, v string) {
		if v == "y" {
			done(st)
		}
	}, nil)
	p.onekey = "yn"
	st.prompt = p
}

// Prompting reports whether the prompt line has the keyboard.
func (st *State) Prompting() bool { return st.prompt != nil }

// update handles a key while the prompt is open.
func (p *prompt) update(msg tea.KeyMsg, st *State) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc, tea.KeyCtrlC:
		st.prompt = nil
		return nil
	case tea.KeyEnter:
		if p.onekey != "" {
			st.prompt = nil
			return nil
		}
		st.prompt = nil
		v := p.input.Value()
		if p.history != nil {
			p.history.add(v)
			if p.onAdd != nil {
				p.onAdd(v)
			}
		}
		p.done(st, v)
		return nil
	case tea.KeyTab, tea.KeyShiftTab:
		if p.complete != nil {
			p.tab(msg.Type == tea.KeyShiftTab)
		}
		return nil
	case tea.KeyUp, tea.KeyCtrlP:
		if p.history != nil {
			p.setValue(p.history.prev(p.input.Value()))
		}
		return nil
	case tea.KeyDown, tea.KeyCtrlN:
		if p.history != nil {
			p.setValue(p.history.next())
		}
		return nil
	}
	if p.onekey != "" {
		k := KeyName(msg)
		if len(k) == 1 && strings.Contains(p.onekey, k) {
			st.prompt = nil
			p.done(st, k)
		}
		return nil
	}
	p.cands = nil
	if p.history != nil {
		p.history.browsing = false
	}
	p.input.Update(msg)
	return nil
}

func (p *prompt) setValue(v string) {
	p.input.SetValue(v)
	p.input.CursorEnd()
	p.cands = nil
}

// tab completes the word before the end of the text, cycling through the
// candidates on each Tab.
func (p *prompt) tab(back bool) {
	if p.cands == nil {
		text := p.input.Value()
		p.candBase = text
		p.cands = p.complete(text)
		p.candIdx = -1
		if len(p.cands) == 0 {
			p.cands = nil
			return
		}
	}
	if back {
		p.candIdx--
		if p.candIdx < 0 {
			p.candIdx = len(p.cands) - 1
		}
	} else {
		p.candIdx = (p.candIdx + 1) % len(p.cands)
	}
	cands := p.cands
	p.input.SetValue(p.cands[p.candIdx])
	p.input.CursorEnd()
	p.cands = cands
}

// view renders the prompt line.
func (p *prompt) view(st *State, width int) string {
	label := p.label
	if label != "" {
		label += ": "
	}
	if p.onekey != "" {
		// mitmproxy's one-key prompt: "Quit (yes, no)", the keys
		// highlighted.
		t, k := st.Style("text"), st.Style("key")
		return fit(t.Render(p.label+" (")+k.Render("y")+t.Render("es, ")+k.Render("n")+t.Render("o)"), width)
	}
	p.input.Width = max(width-len([]rune(label))-1, 1)
	line := st.Style("text").Render(label) + p.input.View(st.Style("option_selected").Reverse(true))
	if p.hint != nil && p.input.pos == len(p.input.value) {
		if h := p.hint(p.input.Value()); h != "" {
			line += st.Style("commander_hint").Render(h)
		}
	}
	return fit(line, width)
}

// history is the command prompt's history (mitmproxy's command_history),
// newest last. Up and down go through the entries that start with what was
// typed before the first up. It is safe for concurrent use: the
// commands.history.* commands may run on any goroutine and read or change
// it at once.
type history struct {
	mu    sync.Mutex
	items []string
	pos   int
	max   int
	// prefix is the text typed before browsing began; browsing says
	// whether up or down were pressed since the last edit.
	prefix   string
	browsing bool
}

func (h *history) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.browsing = false
	if strings.TrimSpace(s) == "" {
		return
	}
	h.items = append(h.items, s)
	if h.max > 0 && len(h.items) > h.max {
		h.items = h.items[len(h.items)-h.max:]
	}
	h.pos = len(h.items)
}

// reset starts browsing anew (a prompt opened, or the text edited).
func (h *history) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos, h.browsing = len(h.items), false
}

// all returns a copy of the entries, oldest first.
func (h *history) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.items)
}

// clear forgets every entry.
func (h *history) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items, h.pos, h.browsing = nil, 0, false
}

// prepend puts older entries (the history file's) before the current ones.
func (h *history) prepend(older []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = append(slices.Clone(older), h.items...)
	h.pos, h.browsing = len(h.items), false
}

func (h *history) prev(cur string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.browsing {
		h.prefix, h.browsing, h.pos = cur, true, len(h.items)
	}
	for i := h.pos - 1; i >= 0; i-- {
		if strings.HasPrefix(h.items[i], h.prefix) && h.items[i] != cur {
			h.pos = i
			return h.items[i]
		}
	}
	return cur
}

func (h *history) next() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.browsing {
		return ""
	}
	for i := h.pos + 1; i < len(h.items); i++ {
		if strings.HasPrefix(h.items[i], h.prefix) {
			h.pos = i
			return h.items[i]
		}
	}
	h.pos = len(h.items)
	return h.prefix
}
