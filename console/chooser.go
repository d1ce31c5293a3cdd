package console

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// chooser is mitmproxy's Chooser overlay: a titled list of choices over the
// current screen; Enter picks one, q/esc goes back. Its keys are bound in
// the "chooser" context; unbound letters jump to the next choice that
// starts with them.
type chooser struct {
	title   string
	choices []string
	idx     int
	done    func(st *State, choice string)
	under   Screen
}

func newChooser(title string, choices []string, current string, done func(st *State, choice string)) *chooser {
	c := &chooser{title: title, choices: choices, done: done}
	for i, x := range choices {
		if x == current {
			c.idx = i
		}
	}
	return c
}

// Title is the title of the screen below: the chooser is an overlay.
func (c *chooser) Title() string {
	if c.under != nil {
		return c.under.Title()
	}
	return c.title
}
func (c *chooser) Context() string { return "chooser" }

func (c *chooser) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case NavMsg:
		switch msg.Kind {
		case NavUp:
			c.idx = max(c.idx-1, 0)
		case NavDown, NavNext:
			c.idx = min(c.idx+1, len(c.choices)-1)
		case NavStart:
			c.idx = 0
		case NavEnd:
			c.idx = len(c.choices) - 1
		case NavPageUp:
			c.idx = max(c.idx-10, 0)
		case NavPageDown:
			c.idx = min(c.idx+10, len(c.choices)-1)
		case NavSelect:
			st.Pop()
			if len(c.choices) > 0 {
				c.done(st, c.choices[c.idx])
			}
		}
	case tea.KeyMsg:
		k := KeyName(msg)
		if len(k) == 1 {
			for i := 1; i <= len(c.choices); i++ {
				j := (c.idx + i) % len(c.choices)
				if strings.HasPrefix(strings.ToLower(c.choices[j]), strings.ToLower(k)) {
					c.idx = j
					break
				}
			}
		}
	}
	return c, nil
}

// View draws the choices in a box in the middle of the screen below.
func (c *chooser) View(st *State, width, height int) string {
	var under []string
	if c.under != nil {
		under = strings.Split(c.under.View(st, width, height), "\n")
	}
	for len(under) < height {
		under = append(under, strings.Repeat(" ", width))
	}
	// Choices and titles come from scripts and commands (console.choose):
	// drawn escaped, so that no control character reaches the terminal;
	// the choice picked is the original.
	title := clean(c.title)
	w := 0
	for _, x := range c.choices {
		w = max(w, len([]rune(clean(x))))
	}
	w = min(max(w+4, len([]rune(title))+4, 20), width)
	h := min(len(c.choices)+2, height)
	top := max((height-h)/2, 0)
	left := max((width-w)/2, 0)
	box := make([]string, 0, h)
	border := st.Style("heading")
	box = append(box, border.Render(fit(" "+title, w)))
	inner := h - 2
	first := 0
	if c.idx >= inner {
		first = c.idx - inner + 1
	}
	for i := first; i < first+inner && i < len(c.choices); i++ {
		choice := clean(c.choices[i])
		line := fit("  "+choice, w)
		if i == c.idx {
			line = st.Style("option_selected").Render(fit("> "+choice, w))
		} else {
			line = st.Style("text").Render(line)
		}
		box = append(box, line)
	}
	for len(box) < h-1 {
		box = append(box, strings.Repeat(" ", w))
	}
	box = append(box, border.Render(strings.Repeat(" ", w)))
	for i, l := range box {
		if top+i < len(under) {
			under[top+i] = overlay(under[top+i], l, left, w, width)
		}
	}
	return strings.Join(under[:height], "\n")
}
