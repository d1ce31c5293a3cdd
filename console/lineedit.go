package console

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// lineEdit is a one-line text editor with a cursor (the prompt line): the
// usual keys of a shell's line (arrows, home/end, ctrl-a/e/u/k/w,
// backspace, delete) and pasted text.
type lineEdit struct {
	Prompt string
	value  []rune
	pos    int
	Width  int
}

func (e *lineEdit) Value() string { return string(e.value) }

func (e *lineEdit) SetValue(s string) {
	e.value = []rune(s)
	e.pos = min(e.pos, len(e.value))
}

func (e *lineEdit) CursorEnd() { e.pos = len(e.value) }

// SetCursor puts the cursor at rune offset i.
func (e *lineEdit) SetCursor(i int) { e.pos = max(min(i, len(e.value)), 0) }

func (e *lineEdit) insert(r []rune) {
	v := make([]rune, 0, len(e.value)+len(r))
	v = append(v, e.value[:e.pos]...)
	v = append(v, r...)
	v = append(v, e.value[e.pos:]...)
	e.value = v
	e.pos += len(r)
}

// Update applies a key.
func (e *lineEdit) Update(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyRunes:
		if !msg.Alt {
			e.insert(msg.Runes)
		}
	case tea.KeySpace:
		e.insert([]rune{' '})
	case tea.KeyBackspace, tea.KeyCtrlH:
		if e.pos > 0 {
			e.value = append(e.value[:e.pos-1], e.value[e.pos:]...)
			e.pos--
		}
	case tea.KeyDelete, tea.KeyCtrlD:
		if e.pos < len(e.value) {
			e.value = append(e.value[:e.pos], e.value[e.pos+1:]...)
		}
	case tea.KeyLeft, tea.KeyCtrlB:
		e.pos = max(e.pos-1, 0)
	case tea.KeyRight, tea.KeyCtrlF:
		e.pos = min(e.pos+1, len(e.value))
	case tea.KeyHome, tea.KeyCtrlA:
		e.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		e.pos = len(e.value)
	case tea.KeyCtrlU:
		e.value = append([]rune{}, e.value[e.pos:]...)
		e.pos = 0
	case tea.KeyCtrlK:
		e.value = e.value[:e.pos]
	case tea.KeyCtrlW:
		i := e.pos
		for i > 0 && unicode.IsSpace(e.value[i-1]) {
			i--
		}
		for i > 0 && !unicode.IsSpace(e.value[i-1]) {
			i--
		}
		e.value = append(e.value[:i], e.value[e.pos:]...)
		e.pos = i
	}
}

// View renders the prompt and the text, scrolled so the cursor shows, the
// cursor in reverse video.
func (e *lineEdit) View(cursor lipgloss.Style) string {
	w := max(e.Width, 1)
	start := 0
	if e.pos >= w {
		start = e.pos - w + 1
	}
	end := min(len(e.value), start+w)
	before := string(e.value[start:e.pos])
	at := " "
	after := ""
	if e.pos < len(e.value) {
		at = string(e.value[e.pos])
		if e.pos+1 < end {
			after = string(e.value[e.pos+1 : end])
		}
	}
	s := e.Prompt + clean(before) + cursor.Render(clean(at)) + clean(after)
	return strings.TrimRight(ansi.Truncate(s, w+ansi.StringWidth(e.Prompt)+1, ""), "")
}
