package human

import "strings"

// Toggle is an optional on/off text attribute; Unset emits nothing.
type Toggle int8

// Toggle values.
const (
	Unset Toggle = iota
	On
	Off
)

// Style is a set of ANSI attributes, as the keyword arguments of click.style
// that mitmproxy uses. The zero Style means "no styling requested".
type Style struct {
	// Fg is a colour name: black, red, green, yellow, blue, magenta, cyan,
	// white, or bright_ plus one of those; "" leaves the colour alone.
	Fg    string
	Bold  Toggle
	Dim   Toggle
	Blink Toggle
	// Set marks a style that was requested even though every attribute is
	// unset (mitmproxy then still appends the reset code).
	Set bool
}

var ansiColors = map[string]string{
	"black": "30", "red": "31", "green": "32", "yellow": "33", "blue": "34",
	"magenta": "35", "cyan": "36", "white": "37", "reset": "39",
	"bright_black": "90", "bright_red": "91", "bright_green": "92", "bright_yellow": "93",
	"bright_blue": "94", "bright_magenta": "95", "bright_cyan": "96", "bright_white": "97",
}

// IsZero reports whether no styling was requested at all.
func (s Style) IsZero() bool { return s == Style{} }

// Apply wraps text in s's escape codes followed by a reset, byte for byte as
// click.style does (colour, then bold, dim, blink).
func (s Style) Apply(text string) string {
	if s.IsZero() {
		return text
	}
	var sb strings.Builder
	sb.Grow(len(text) + 16)
	if s.Fg != "" {
		sb.WriteString("\x1b[" + ansiColors[s.Fg] + "m")
	}
	toggle(&sb, s.Bold, "1", "22")
	toggle(&sb, s.Dim, "2", "22")
	toggle(&sb, s.Blink, "5", "25")
	sb.WriteString(text)
	sb.WriteString("\x1b[0m")
	return sb.String()
}

func toggle(sb *strings.Builder, t Toggle, on, off string) {
	switch t {
	case On:
		sb.WriteString("\x1b[" + on + "m")
	case Off:
		sb.WriteString("\x1b[" + off + "m")
	}
}

// Styler applies styles only when colour output is enabled, as mitmproxy
// only styles output that goes to a terminal.
type Styler bool

// Apply styles text when the Styler is enabled and st asks for something.
func (c Styler) Apply(text string, st Style) string {
	if !c {
		return text
	}
	return st.Apply(text)
}
