package console

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Palettes are the values of console_palette. Each names, for every element
// of the UI, a foreground and a background in urwid's colour names (as
// mitmproxy's palettes do): the 16 standard colours, "default", "hNNN" for
// a 256-colour index, "gNN" for a grey level in percent and "#rgb" for
// true colour; ",bold" makes it bold. A palette starts from a low-colour
// base (16 colours) and overrides some entries for richer terminals.
var Palettes = []string{"dark", "light", "lowdark", "lowlight", "solarized_dark", "solarized_light"}

type colourPair struct{ fg, bg string }

// lowDark is the 16-colour palette for dark backgrounds.
var lowDark = map[string]colourPair{
	"background": {"white", "black"}, "title": {"white,bold", "default"},
	"heading": {"white", "dark blue"}, "heading_key": {"light cyan", "dark blue"},
	"heading_inactive": {"dark gray", "light gray"},
	"key":              {"light cyan", "default"}, "head": {"white,bold", "default"}, "text": {"light gray", "default"},
	"option_selected": {"black", "light gray"}, "option_selected_key": {"light cyan", "light gray"},
	"option_active": {"light red", "default"}, "option_active_selected": {"light red", "light gray"},
	"method_get": {"light green", "default"}, "method_post": {"brown", "default"},
	"method_delete": {"light red", "default"}, "method_head": {"dark cyan", "default"},
	"method_put": {"dark red", "default"}, "method_other": {"dark magenta", "default"},
	"method_http2_push": {"dark gray", "default"},
	"scheme_http":       {"dark cyan", "default"}, "scheme_https": {"dark green", "default"},
	"scheme_ws": {"brown", "default"}, "scheme_wss": {"dark magenta", "default"},
	"scheme_tcp": {"dark magenta", "default"}, "scheme_udp": {"dark magenta", "default"},
	"scheme_dns": {"dark blue", "default"}, "scheme_quic": {"brown", "default"},
	"scheme_other":    {"dark magenta", "default"},
	"url_punctuation": {"light gray", "default"}, "url_domain": {"white", "default"},
	"url_filename": {"dark cyan", "default"}, "url_extension": {"light gray", "default"},
	"url_query_key": {"white", "default"}, "url_query_value": {"light gray", "default"},
	"content_none": {"dark gray", "default"}, "content_text": {"light gray", "default"},
	"content_script": {"dark green", "default"}, "content_media": {"light blue", "default"},
	"content_data": {"brown", "default"}, "content_raw": {"dark red", "default"},
	"content_other": {"dark magenta", "default"},
	"focus":         {"yellow", "default"},
	"code_200":      {"dark green", "default"}, "code_300": {"light blue", "default"},
	"code_400": {"light red", "default"}, "code_500": {"light red", "default"},
	"code_other": {"dark red", "default"},
	"alert":      {"light magenta", "default"}, "warn": {"brown", "default"}, "error": {"light red", "default"},
	"header": {"dark cyan", "default"}, "highlight": {"white,bold", "default"},
	"intercept": {"brown", "default"}, "replay": {"light green", "default"}, "mark": {"light red", "default"},
	"name": {"dark green", "default"}, "string": {"dark blue", "default"}, "number": {"light magenta", "default"},
	"boolean": {"dark magenta", "default"}, "comment": {"dark gray", "default"},
	"from_client": {"light blue", "default"}, "to_client": {"light red", "default"},
	"focusfield": {"black", "light gray"}, "focusfield_error": {"dark red", "light gray"},
	"field_error": {"dark red", "default"}, "editfield": {"white", "default"},
	"commander_command": {"white,bold", "default"}, "commander_invalid": {"light red", "default"},
	"commander_hint": {"dark gray", "default"},
}

// lowLight is the 16-colour palette for light backgrounds.
var lowLight = map[string]colourPair{
	"background": {"black", "white"}, "title": {"dark magenta", "default"},
	"heading": {"white", "black"}, "heading_key": {"dark blue", "black"},
	"heading_inactive": {"black", "light gray"},
	"key":              {"dark blue", "default"}, "head": {"black", "default"}, "text": {"dark gray", "default"},
	"option_selected": {"black", "light gray"}, "option_selected_key": {"dark blue", "light gray"},
	"option_active": {"light red", "default"}, "option_active_selected": {"light red", "light gray"},
	"method_get": {"dark green", "default"}, "method_post": {"brown", "default"},
	"method_head": {"dark cyan", "default"}, "method_put": {"light red", "default"},
	"method_delete": {"dark red", "default"}, "method_other": {"light magenta", "default"},
	"method_http2_push": {"light gray", "default"},
	"scheme_http":       {"dark cyan", "default"}, "scheme_https": {"light green", "default"},
	"scheme_ws": {"brown", "default"}, "scheme_wss": {"light magenta", "default"},
	"scheme_tcp": {"light magenta", "default"}, "scheme_udp": {"light magenta", "default"},
	"scheme_dns": {"light blue", "default"}, "scheme_quic": {"brown", "default"},
	"scheme_other":    {"light magenta", "default"},
	"url_punctuation": {"dark gray", "default"}, "url_domain": {"dark gray", "default"},
	"url_filename": {"black", "default"}, "url_extension": {"dark gray", "default"},
	"url_query_key": {"light blue", "default"}, "url_query_value": {"dark blue", "default"},
	"content_none": {"black", "default"}, "content_text": {"dark gray", "default"},
	"content_script": {"light green", "default"}, "content_media": {"light blue", "default"},
	"content_data": {"brown", "default"}, "content_raw": {"light red", "default"},
	"content_other": {"light magenta", "default"},
	"focus":         {"black", "default"},
	"code_200":      {"dark green", "default"}, "code_300": {"light blue", "default"},
	"code_400": {"dark red", "default"}, "code_500": {"dark red", "default"},
	"code_other": {"light red", "default"},
	"error":      {"light red", "default"}, "warn": {"brown", "default"}, "alert": {"light magenta", "default"},
	"header": {"dark blue", "default"}, "highlight": {"black,bold", "default"},
	"intercept": {"brown", "default"}, "replay": {"dark green", "default"}, "mark": {"dark red", "default"},
	"name": {"dark green", "default"}, "string": {"dark blue", "default"}, "number": {"light magenta", "default"},
	"boolean": {"dark magenta", "default"}, "comment": {"dark gray", "default"},
	"from_client": {"dark blue", "default"}, "to_client": {"dark red", "default"},
	"focusfield": {"black", "light gray"}, "focusfield_error": {"dark red", "light gray"},
	"field_error": {"dark red", "black"}, "editfield": {"black", "default"},
	"commander_command": {"dark magenta", "default"}, "commander_invalid": {"light red", "default"},
	"commander_hint": {"light gray", "default"},
}

// Solarized colours as 256-colour indexes.
const (
	solBase03, solBase02, solBase01, solBase00 = "h234", "h235", "h240", "h241"
	solBase0, solBase1, solBase2, solBase3     = "h244", "h245", "h254", "h230"
	solYellow, solOrange, solRed, solMagenta   = "h136", "h166", "h160", "h125"
	solViolet, solBlue, solCyan, solGreen      = "h61", "h33", "h37", "h64"
)

// highOverrides are each palette's base and its entries for 256-colour
// terminals.
var palettes = map[string]struct {
	low  map[string]colourPair
	high map[string]colourPair
}{
	"lowdark":  {lowDark, nil},
	"lowlight": {lowLight, nil},
	"dark": {lowDark, map[string]colourPair{
		"heading_inactive": {"g58", "g11"}, "intercept": {"#f60", "default"},
		"option_selected": {"g85", "g45"}, "option_selected_key": {"light cyan", "g50"},
		"option_active_selected": {"light red", "g50"},
	}},
	"light": {lowLight, map[string]colourPair{
		"background": {"black", "g100"}, "heading": {"g99", "#08f"}, "heading_key": {"#0ff,bold", "#08f"},
		"heading_inactive": {"g35", "g85"}, "replay": {"#0a0,bold", "default"},
		"option_selected": {"black", "g85"}, "option_selected_key": {"dark blue", "g85"},
		"option_active_selected": {"light red", "g85"},
	}},
	"solarized_dark": {lowDark, map[string]colourPair{
		"background": {solBase2, solBase03}, "title": {solBlue, "default"}, "text": {solBase1, "default"},
		"heading": {solBase2, solBase01}, "heading_key": {solBlue + ",bold", solBase01},
		"heading_inactive": {solBase1, solBase02}, "key": {solBlue, "default"}, "head": {solBase2, "default"},
		"option_selected": {solBase03, solBase00}, "option_selected_key": {solBlue, solBase00},
		"option_active": {solOrange, "default"}, "option_active_selected": {solOrange, solBase00},
		"focus": {solBase1, "default"}, "method_get": {solGreen, "default"}, "method_post": {solOrange, "default"},
		"method_delete": {solRed, "default"}, "method_head": {solCyan, "default"}, "method_put": {solRed, "default"},
		"method_other": {solMagenta, "default"}, "method_http2_push": {solBase01, "default"},
		"url_punctuation": {"h242", "default"}, "url_domain": {"h252", "default"}, "url_filename": {"h132", "default"},
		"url_extension": {"h96", "default"}, "url_query_key": {"h37", "default"}, "url_query_value": {"h30", "default"},
		"content_none": {solBase01, "default"}, "content_text": {solBase1, "default"}, "content_media": {solBlue, "default"},
		"code_200": {solGreen, "default"}, "code_300": {solBlue, "default"}, "code_400": {solOrange, "default"},
		"code_500": {solRed, "default"}, "code_other": {solMagenta, "default"},
		"error": {solRed, "default"}, "warn": {solOrange, "default"}, "alert": {solMagenta, "default"},
		"header": {solBlue, "default"}, "highlight": {solBase01, "default"}, "intercept": {solRed, "default"},
		"replay": {solGreen, "default"}, "mark": {solBase01, "default"},
		"name": {solGreen, "default"}, "string": {solCyan, "default"}, "number": {solBlue, "default"},
		"boolean": {solMagenta, "default"}, "comment": {solBase00, "default"},
		"from_client": {solBlue, "default"}, "to_client": {solRed, "default"},
		"focusfield": {solBase0, solBase02}, "focusfield_error": {solRed, solBase02},
		"field_error": {solRed, "default"}, "editfield": {solBase1, "default"},
		"commander_command": {solBlue, "default"}, "commander_invalid": {solOrange, "default"},
		"commander_hint": {solBase00, "default"},
	}},
	"solarized_light": {lowLight, map[string]colourPair{
		"background": {solBase00, solBase3}, "title": {solCyan, "default"}, "text": {solBase00, "default"},
		"heading": {solBase2, solBase02}, "heading_key": {solBlue, solBase03}, "heading_inactive": {solBase03, solBase1},
		"key": {solBlue, "default"}, "head": {solBase00, "default"},
		"option_selected": {solBase03, solBase2}, "option_selected_key": {solBlue, solBase2},
		"option_active": {solOrange, "default"}, "option_active_selected": {solOrange, solBase2},
		"method_get": {solGreen, "default"}, "method_post": {solOrange, "default"}, "method_head": {solCyan, "default"},
		"method_put": {solRed, "default"}, "method_delete": {solRed, "default"}, "method_other": {solMagenta, "default"},
		"scheme_ws": {solOrange, "default"}, "scheme_quic": {solOrange, "default"}, "url_query_key": {solBlue, "default"},
		"focus": {solBase01, "default"}, "code_200": {solGreen, "default"}, "code_300": {solBlue, "default"},
		"code_400": {solOrange, "default"}, "code_500": {solRed, "default"}, "code_other": {solMagenta, "default"},
		"error": {solRed, "default"}, "warn": {solOrange, "default"}, "alert": {solMagenta, "default"},
		"header": {solBlue, "default"}, "highlight": {solBase01, "default"}, "intercept": {solRed, "default"},
		"replay": {solGreen, "default"}, "mark": {solBase01, "default"},
		"name": {solGreen, "default"}, "string": {solCyan, "default"}, "number": {solBlue, "default"},
		"boolean": {solMagenta, "default"}, "comment": {solBase1, "default"},
		"from_client": {solBlue, "default"}, "to_client": {solRed, "default"},
		"focusfield": {solBase00, solBase2}, "focusfield_error": {solRed, solBase2},
		"field_error": {solRed, "default"}, "editfield": {solBase01, "default"},
		"commander_command": {solCyan, "default"}, "commander_invalid": {solOrange, "default"},
		"commander_hint": {solBase1, "default"},
	}},
}

// Palette is one console_palette rendered as Lip Gloss styles.
type Palette struct {
	name   string
	styles map[string]lipgloss.Style
	plain  lipgloss.Style
	// affixes are the escape sequences each style puts around a line of
	// text, where rendering a line is just that (checked when the
	// palette is built): Paint then costs a concatenation, not a Lip
	// Gloss render, which matters in the flow list's rows.
	affixes map[string]affix
}

// affix is what a style writes before and after a line of text.
type affix struct{ pre, post string }

// NewPalette builds the named palette for a renderer (whose colour profile
// says whether the 256-colour entries apply). transparent keeps the
// terminal's background (console_palette_transparent); otherwise the
// palette's background fills the entries without one.
func NewPalette(name string, transparent bool, r *lipgloss.Renderer) *Palette {
	p, ok := palettes[name]
	if !ok {
		p = palettes["solarized_dark"]
	}
	high := r.ColorProfile() == termenv.ANSI256 || r.ColorProfile() == termenv.TrueColor
	pick := func(k string) colourPair {
		if high {
			if c, ok := p.high[k]; ok {
				return c
			}
		}
		return p.low[k]
	}
	bg := pick("background").bg
	pal := &Palette{name: name, styles: map[string]lipgloss.Style{}, plain: r.NewStyle()}
	for k := range p.low {
		c := pick(k)
		if !transparent && c.bg == "default" {
			c.bg = bg
		}
		if transparent && k == "background" {
			c = colourPair{"default", "default"}
		}
		pal.styles[k] = styleFor(r, c)
	}
	// The gradient of sizes and durations: red, yellow, green, cyan, blue.
	grad := []string{"light red", "yellow", "light green", "dark green", "dark cyan", "dark blue"}
	for i := range 100 {
		c := colourPair{grad[i*len(grad)/100], "default"}
		if !transparent {
			c.bg = bg
		}
		pal.styles[fmt.Sprintf("gradient_%02d", i)] = styleFor(r, c)
	}
	pal.affixes = make(map[string]affix, len(pal.styles))
	for k, st := range pal.styles {
		if a, ok := affixOf(st); ok {
			pal.affixes[k] = a
		}
	}
	return pal
}

// affixOf finds what st writes around a line, if rendering any line is
// that: probes with and without spaces and the empty line must all agree.
func affixOf(st lipgloss.Style) (affix, bool) {
	const mark = "\x01"
	out := st.Render(mark)
	pre, post, ok := strings.Cut(out, mark)
	if !ok {
		return affix{}, false
	}
	a := affix{pre, post}
	for _, probe := range []string{"", "a", "a b", " x ", "ünï ⇒ 🔴"} {
		if st.Render(probe) != a.pre+probe+a.post {
			return affix{}, false
		}
	}
	return a, true
}

// Paint renders one line of text (no tab or newline) in a palette entry,
// as Style(name).Render(text) does, without Lip Gloss where the entry's
// affixes are known.
func (p *Palette) Paint(name, text string) string {
	if p == nil {
		return lipgloss.NewStyle().Render(text)
	}
	a, ok := p.affixes[name]
	if !ok || strings.ContainsAny(text, "\t\n\r") {
		return p.Style(name).Render(text)
	}
	if a.pre == "" && a.post == "" {
		return text
	}
	return a.pre + text + a.post
}

// Style returns the style of a palette entry; an unknown name is unstyled.
func (p *Palette) Style(name string) lipgloss.Style {
	if p == nil {
		return lipgloss.NewStyle()
	}
	if s, ok := p.styles[name]; ok {
		return s
	}
	return p.plain
}

func styleFor(r *lipgloss.Renderer, c colourPair) lipgloss.Style {
	s := r.NewStyle()
	fg, bold := strings.CutSuffix(c.fg, ",bold")
	if bold {
		s = s.Bold(true)
	}
	if col, ok := urwidColour(fg); ok {
		s = s.Foreground(col)
	}
	if col, ok := urwidColour(c.bg); ok {
		s = s.Background(col)
	}
	return s
}

var standardColours = map[string]int{
	"black": 0, "dark red": 1, "dark green": 2, "brown": 3, "dark blue": 4, "dark magenta": 5,
	"dark cyan": 6, "light gray": 7, "dark gray": 8, "light red": 9, "light green": 10,
	"yellow": 11, "light blue": 12, "light magenta": 13, "light cyan": 14, "white": 15,
}

// urwidColour converts an urwid colour name to a Lip Gloss colour; ok is
// false for "default".
func urwidColour(name string) (lipgloss.TerminalColor, bool) {
	switch {
	case name == "" || name == "default":
		return nil, false
	case strings.HasPrefix(name, "#"):
		hex := name[1:]
		if len(hex) == 3 {
			hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
		}
		return lipgloss.Color("#" + hex), true
	case strings.HasPrefix(name, "h"):
		return lipgloss.Color(name[1:]), true
	case strings.HasPrefix(name, "g"):
		pct, err := strconv.Atoi(name[1:])
		if err != nil {
			return nil, false
		}
		switch {
		case pct <= 0:
			return lipgloss.Color("16"), true
		case pct >= 100:
			return lipgloss.Color("231"), true
		}
		return lipgloss.Color(strconv.Itoa(232 + pct*23/100)), true
	}
	if n, ok := standardColours[name]; ok {
		return lipgloss.Color(strconv.Itoa(n)), true
	}
	return nil, false
}
