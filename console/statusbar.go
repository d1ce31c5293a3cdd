package console

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/addon"
)

// footer is the status bar (one line, mitmproxy's StatusBar info line) and
// the action bar below it: the prompt, a message, or the quick help.
func (a *App) footer(w int) []string {
	st := a.c.st
	lines := []string{a.statusLine(w)}
	switch msg, isErr := st.StatusMessage(); {
	case st.prompt != nil:
		lines = append(lines, st.prompt.view(st, w))
		if st.opts.quickhelp.Get() {
			lines = append(lines, strings.Repeat(" ", w))
		}
	case msg != "":
		style := st.Style("text")
		if isErr {
			style = st.Style("error")
		}
		lines = append(lines, fit(style.Render(shortenMessage(msg, w)), w))
		if st.opts.quickhelp.Get() {
			lines = append(lines, strings.Repeat(" ", w))
		}
	case st.opts.quickhelp.Get():
		lines = append(lines, a.quickHelp(w)...)
	}
	return lines
}

// shortenMessage keeps the first line of a message, saying when there is
// more (mitmproxy's shorten_message).
func shortenMessage(msg string, w int) string {
	first, rest, more := strings.Cut(msg, "\n")
	first = clean(first)
	if !more && ansi.StringWidth(first) <= w {
		return first
	}
	const tail = "(more in eventlog)"
	if more {
		_ = rest
		if ansi.StringWidth(first)+len(tail)+1 <= w {
			return first + " " + tail
		}
	}
	return ansi.Truncate(first, max(w-len(tail)-4, 0), "...") + " " + tail
}

// statusLine is mitmproxy's status bar: the position in the list, the
// settings that change what the proxy does, and the listen address.
func (a *App) statusLine(w int) string {
	st := a.c.st
	n, pos := 0, 0
	reversed, marked := false, false
	if st.View != nil {
		n = st.View.Len()
		if _, i := st.View.Focus(); i >= 0 {
			pos = i + 1
		}
		reversed, marked = st.View.Reversed(), st.View.ShowMarked()
	}
	arrow := "⇩"
	if reversed {
		arrow = "⇧"
	}
	m := " "
	if marked {
		m = "M"
	}
	var b strings.Builder
	b.WriteString(st.paint("heading", fmt.Sprintf("%-11s", fmt.Sprintf("%s %s [%d/%d]", arrow, m, pos, n))))
	plain := func(s string) { b.WriteString(st.paint("heading", s)) }
	keyed := func(k, rest string) {
		plain("[")
		b.WriteString(st.paint("heading_key", k))
		plain(rest + "]")
	}
	o := st.fopts
	if len(o.modifyHeaders.Get()) > 0 {
		keyed("H", "eaders")
	}
	if l := len(o.modifyBody.Get()); l > 0 {
		plain(fmt.Sprintf("[%d body modifications]", l))
	}
	if st.Commands != nil {
		if v, err := st.Commands.Call("replay.client.count"); err == nil {
			if c, _ := v.(int); c > 0 {
				keyed("cplayback", fmt.Sprintf(":%d", c))
			}
		}
		if v, err := st.Commands.Call("replay.server.count"); err == nil {
			if c, _ := v.(int); c > 0 {
				keyed("splayback", fmt.Sprintf(":%d", c))
			}
		}
	}
	if l := len(o.ignoreHosts.Get()); l > 0 {
		keyed("I", fmt.Sprintf("gnore:%d", l))
	} else if l := len(o.allowHosts.Get()); l > 0 {
		keyed("A", fmt.Sprintf("llow:%d", l))
	}
	if l := len(o.tcpHosts.Get()); l > 0 {
		keyed("T", fmt.Sprintf("CP:%d", l))
	}
	if i := clean(str(o.intercept)); i != "" {
		plain("[")
		if !o.interceptActive.Get() {
			plain("X")
		}
		b.WriteString(st.paint("heading_key", "i"))
		plain(":" + i + "]")
	}
	if f := clean(str(o.viewFilter)); f != "" {
		keyed("f", ":"+f)
	}
	if s := clean(str(o.stickyCookie)); s != "" {
		keyed("t", ":"+s)
	}
	if s := clean(str(o.stickyAuth)); s != "" {
		keyed("u", ":"+s)
	}
	if cv := st.opts.defaultContentview.Get(); cv != "" && cv != "auto" {
		plain("[contentview:" + cv + "]")
	}
	if declared(o.viewOrder) && st.Options.HasChanged(o.viewOrder.Name()) {
		keyed("o", ":"+o.viewOrder.Get())
	}
	var opts []string
	for _, h := range []addon.Opt[bool]{o.anticache, o.anticomp, o.showhost} {
		if h.Get() {
			opts = append(opts, h.Name())
		}
	}
	if declared(o.replayRefresh) && !o.replayRefresh.Get() {
		opts = append(opts, "norefresh")
	}
	if declared(o.upstreamCert) && !o.upstreamCert.Get() {
		opts = append(opts, "no-upstream-cert")
	}
	if st.opts.focusFollow.Get() {
		opts = append(opts, "following")
	}
	if s := clean(str(o.streamLarge)); s != "" {
		opts = append(opts, s)
	}
	if len(opts) > 0 {
		plain("[" + strings.Join(opts, ":") + "]")
	}
	if modes := o.mode.Get(); len(modes) == 1 && modes[0] != "regular" {
		plain("[" + clean(modes[0]) + "]")
	} else if len(modes) > 1 {
		plain(fmt.Sprintf("[modes:%d]", len(modes)))
	}
	if l := len(o.scripts.Get()); l > 0 {
		plain(fmt.Sprintf("[scripts:%d]", l))
	}
	if s := clean(str(o.saveStream)); s != "" {
		plain("[W:" + s + "]")
	}
	left := b.String()
	right := ""
	if st.Listen != "" {
		right = "[" + st.Listen + "]"
	}
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+rw+1 > w {
		return fit(left, w)
	}
	return left + st.paint("heading", strings.Repeat(" ", w-lw-rw)+right)
}

// quickHelp is mitmproxy's quick help: two rows of keys for what can be
// done here.
func (a *App) quickHelp(w int) []string {
	st := a.c.st
	top := a.Top()
	f := st.Focus()
	type item struct{ short, help string }
	var topLabel string
	var topItems []item
	ctx := contextOf(top)
	switch ctx {
	case "flowlist", "flowview":
		topLabel = "Flow:"
		if f != nil {
			if ctx == "flowlist" {
				topItems = append(topItems, item{"Select", "Select"})
			} else {
				topItems = append(topItems, item{"Edit", "Edit a flow component"})
			}
			topItems = append(topItems, item{"Duplicate", "Duplicate flow"}, item{"Replay", "Replay this flow"},
				item{"Export", "Export this flow to file"}, item{"Delete", "Delete flow from view"})
			r := st.rows.get(f.Base().ID)
			if ctx == "flowlist" {
				if r != nil && r.marked != "" {
					topItems = append(topItems, item{"Unmark", "Toggle mark on this flow"})
				} else {
					topItems = append(topItems, item{"Mark", "Toggle mark on this flow"})
				}
				topItems = append(topItems, item{"Edit", "Edit a flow component"})
			}
			if r != nil && r.intercepted {
				topItems = append(topItems, item{"Resume", "Resume this intercepted flow"})
			}
			if r != nil && r.code != 0 {
				topItems = append(topItems, item{"Save body", "Save response body to file"})
			}
			if ctx == "flowview" {
				topItems = append(topItems, item{"Next flow", "Go to next flow"}, item{"Prev flow", "Go to previous flow"})
			}
		} else {
			topItems = append(topItems, item{"Load flows", "Load flows from file"}, item{"Create new", "Create a new flow"})
		}
	case "keybindings":
		topLabel = "Keybindings:"
		topItems = []item{{"Add", "Add a key binding"}, {"Edit", "Edit the currently focused key binding"},
			{"Delete", "Unbind the currently focused key binding"}, {"Execute", "Execute the currently focused key binding"}}
	case "options":
		topLabel = "Options:"
		topItems = []item{{"Edit", "⏎"}, {"Reset", "Reset this option"}, {"Reset all", "Reset all options"},
			{"Load file", "Load from file"}, {"Save file", "Save to file"}}
	case "help":
		topLabel = "Help:"
		topItems = []item{{"Scroll down", "↓"}, {"Scroll up", "↑"}, {"Exit help", "Exit help"}, {"Next tab", "tab"}}
	case "eventlog":
		topLabel = "Events:"
		topItems = []item{{"Scroll down", "↓"}, {"Scroll up", "↑"}, {"Clear", "Clear"}}
	}
	bottomLabel := "Proxy:"
	bottom := []item{{"Help", "View help"}}
	if a.Depth() == 1 {
		bottom = append(bottom, item{"Quit", "Exit the current view"})
	} else {
		bottom = append(bottom, item{"Back", "Exit the current view"})
	}
	bottom = append(bottom, item{"Events", "View event log"}, item{"Options", "View options"},
		item{"Intercept", "Set intercept"}, item{"Filter", "Set view filter"})
	if f != nil {
		bottom = append(bottom, item{"Save flows", "Save listed flows to file"}, item{"Clear list", "Clear flow list"})
	}
	bottom = append(bottom, item{"Layout", "Cycle to next layout"}, item{"Switch", "Focus next layout pane"},
		item{"Follow new", "Set focus follow"})
	labelLen := max(len(topLabel), len(bottomLabel), 8) + 1
	// The rows are drawn again only when what they show changes: the
	// items, the width, the palette or the key bindings.
	hc := &a.helpCache
	if hc.pal != st.palette || hc.km != st.Keymap || hc.gen != st.Keymap.Gen() || hc.width != w || len(hc.rows) > 64 {
		*hc = helpCache{pal: st.palette, km: st.Keymap, gen: st.Keymap.Gen(), width: w, rows: map[string]string{}}
	}
	row := func(label string, items []item) string {
		var key strings.Builder
		key.WriteString(label)
		for _, it := range items {
			key.WriteString("\x00" + it.short + "\x00" + it.help)
		}
		if s, ok := hc.rows[key.String()]; ok {
			return s
		}
		var b strings.Builder
		b.WriteString(fit(label, labelLen))
		for _, it := range items {
			k := it.help
			if !basicHelpKeys[k] {
				bd := st.Keymap.ForHelp(it.help)
				if bd == nil {
					continue
				}
				k = bd.KeyShort()
			}
			b.WriteString(fit(st.paint("heading_inactive", k)+" "+it.short, 14))
		}
		s := fit(b.String(), w)
		hc.rows[key.String()] = s
		return s
	}
	return []string{row(topLabel, topItems), row(bottomLabel, bottom)}
}

// basicHelpKeys are quick help items named by their key, not by a
// binding's help.
var basicHelpKeys = map[string]bool{"⏎": true, "↓": true, "↑": true, "tab": true}

// helpCache keeps the quick help's rows drawn for one width, palette and
// state of the key bindings, by what they list.
type helpCache struct {
	pal   *Palette
	km    *Keymap
	gen   uint64
	width int
	rows  map[string]string
}
