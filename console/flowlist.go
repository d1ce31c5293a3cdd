package console

import (
	"math"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
)

// flowList is mitmproxy's flow list: one or two lines per flow (the
// console_flowlist_layout: "list", "table", or "default", which is the
// list under 100 columns and the table from there), the focused flow
// marked with ">>". Only the visible window of the view is read.
type flowList struct {
	// top is the view position of the first flow shown.
	top int
	// height is the body height of the last render (page size).
	height int
	// lines maps the rows of the last render to flows (mouse clicks).
	lines []flow.Any
	// cache holds the rendered lines of the rows shown lately: a row is
	// replaced, not changed, when its flow changes, so its pointer is the
	// key. It is emptied when what rendering depends on changes.
	cache    map[rowKey][]string
	cacheFor cacheKey
}

type rowKey struct {
	r       *row
	focused bool
}

type cacheKey struct {
	width   int
	table   bool
	palette *Palette
	loc     *time.Location
}

func newFlowList() *flowList { return &flowList{} }

func (l *flowList) Title() string   { return "Flows" }
func (l *flowList) Context() string { return "flowlist" }

func (l *flowList) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	v := st.View
	if v == nil {
		return l, nil
	}
	h := l.height
	if h == 0 {
		// Not drawn yet: the window less the bars.
		h = st.Height - 4
	}
	page := max(h-1, 1)
	switch msg := msg.(type) {
	case NavMsg:
		_, i := v.Focus()
		switch msg.Kind {
		case NavUp:
			v.FocusPrev()
		case NavDown:
			v.FocusNext()
		case NavPageDown:
			v.FocusIndex(min(i+page, v.Len()-1))
		case NavPageUp:
			v.FocusIndex(max(i-page, 0))
		case NavStart:
			v.FocusIndex(0)
		case NavEnd:
			v.FocusIndex(-1)
		case NavSelect:
			if f := st.Focus(); f != nil {
				_, _ = st.Run("console.view.flow @focus")
			}
		}
	case tea.MouseMsg:
		if msg.Y >= 0 && msg.Y < len(l.lines) && l.lines[msg.Y] != nil {
			f := l.lines[msg.Y]
			if cur := st.Focus(); cur == f {
				_, _ = st.Run("console.view.flow @focus")
			} else {
				_ = v.SetFocus(f)
			}
		}
	}
	return l, nil
}

// tableMode says whether flows are rendered one per line.
func tableMode(st *State, width int) bool {
	switch st.opts.flowlistLayout.Get() {
	case "list":
		return false
	case "table":
		return true
	}
	return width >= 100
}

func (l *flowList) View(st *State, width, height int) string {
	l.height = height
	v := st.View
	if v == nil || height <= 0 {
		return ""
	}
	n := v.Len()
	table := tableMode(st, width)
	_, fi := v.Focus()
	heightOf := func(f flow.Any) int {
		if !table && f.Type() == "http" {
			return 2
		}
		return 1
	}
	// Keep the focus in sight: scroll up to it, or down until it is the
	// last flow that fits.
	l.top = min(l.top, max(n-1, 0))
	if fi >= 0 {
		if fi < l.top {
			l.top = fi
		} else {
			// Every flow takes a line at least: a focus further than a
			// screen away is out of sight without reading the flows
			// between (G with 100,000 flows).
			used := height + 1
			if fi-l.top < height {
				used = 0
				for _, f := range v.Window(l.top, fi-l.top+1) {
					used += heightOf(f)
				}
			}
			if used > height {
				// Walk back from the focus.
				back := v.Window(max(fi-height+1, 0), min(height, fi+1))
				used, first := 0, fi
				for k := len(back) - 1; k >= 0; k-- {
					h := heightOf(back[k])
					if used+h > height {
						break
					}
					used += h
					first = fi - (len(back) - 1 - k)
				}
				l.top = first
			}
		}
	}
	if ck := (cacheKey{width, table, st.palette, st.loc}); ck != l.cacheFor || len(l.cache) > 8*height+64 {
		l.cache, l.cacheFor = map[rowKey][]string{}, ck
	}
	win := v.Window(l.top, height)
	out := make([]string, 0, height)
	l.lines = l.lines[:0]
	for i, f := range win {
		if len(out) >= height {
			break
		}
		focused := l.top+i == fi
		r := st.rows.get(f.Base().ID)
		if r == nil {
			r = &row{kind: f.Type()}
		}
		lines, ok := l.cache[rowKey{r, focused}]
		if !ok {
			d := r.display()
			if table {
				lines = []string{renderTableRow(st, d, focused, width, st.loc)}
			} else {
				lines = renderListRow(st, d, focused, width)
			}
			for j := range lines {
				lines[j] = fit(lines[j], width)
			}
			l.cache[rowKey{r, focused}] = lines
		}
		for _, ln := range lines {
			if len(out) < height {
				out = append(out, ln)
				l.lines = append(l.lines, f)
			}
		}
	}
	return strings.Join(out, "\n")
}

const (
	symReplay     = "↺"
	symReturn     = "←"
	symMark       = "●"
	symEllipsis   = "…"
	symFromClient = "⇒"
	symToClient   = "⇐"
)

var methodStyles = map[string]string{
	"GET": "method_get", "POST": "method_post", "DELETE": "method_delete", "HEAD": "method_head", "PUT": "method_put",
}

var schemeStyles = map[string]string{
	"http": "scheme_http", "https": "scheme_https", "ws": "scheme_ws", "wss": "scheme_wss",
	"tcp": "scheme_tcp", "udp": "scheme_udp", "dns": "scheme_dns", "quic": "scheme_quic",
}

func codeStyle(code int) string {
	switch code / 100 {
	case 2:
		return "code_200"
	case 3:
		return "code_300"
	case 4:
		return "code_400"
	case 5:
		return "code_500"
	}
	return "code_other"
}

func methodStyle(m string) string {
	if s, ok := methodStyles[m]; ok {
		return s
	}
	return "method_other"
}

// contentTypeStyle is mitmproxy's format_http_content_type.
func contentTypeStyle(ct string) (string, string) {
	ct, _, _ = strings.Cut(ct, ";")
	switch {
	case strings.HasSuffix(ct, "/javascript"):
		return ct, "content_script"
	case strings.HasPrefix(ct, "text/"):
		return ct, "content_text"
	case strings.HasPrefix(ct, "image/"), strings.HasPrefix(ct, "video/"), strings.HasPrefix(ct, "font/"),
		strings.Contains(ct, "/x-font-"):
		return ct, "content_media"
	case strings.HasSuffix(ct, "/json"), strings.HasSuffix(ct, "/xml"):
		return ct, "content_data"
	case strings.HasPrefix(ct, "application/"):
		return ct, "content_raw"
	}
	return ct, "content_other"
}

// sizeStyle and durationStyle are mitmproxy's gradients: red for small and
// fast, through green, to blue for large and slow.
func sizeStyle(n int64) string {
	return gradient(99 - 100*math.Min(math.Log2(1+float64(n))/20, 0.99))
}

func durationStyle(d float64) string {
	return gradient(99 - 100*math.Min(math.Log2(math.Max(1, 1000*d))/12, 0.99))
}

func gradient(v float64) string {
	i := max(min(int(v), 99), 0)
	return "gradient_" + strconv.Itoa(i/10) + strconv.Itoa(i%10)
}

func fixlen(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s + strings.Repeat(" ", n-ansi.StringWidth(s))
	}
	return ansi.Truncate(s, n, symEllipsis)
}

func fixlenR(s string, n int) string {
	if w := ansi.StringWidth(s); w <= n {
		return strings.Repeat(" ", n-w) + s
	}
	return ansi.TruncateLeft(s, ansi.StringWidth(s)-n+1, symEllipsis)
}

func rightIndicators(st *State, r *row) string {
	s := " "
	if r.replay {
		s = st.paint("replay", symReplay)
	}
	if r.marked != "" {
		return s + st.paint("mark", renderMarker(r.marked)) + " "
	}
	return s + "  "
}

// renderMarker is the glyph of a marker: an emoji shortcode's character,
// or ●.
func renderMarker(m string) string {
	if g, ok := markerEmoji[m]; ok {
		return g
	}
	if r := []rune(m); len(r) == 1 {
		return m
	}
	return symMark
}

var markerEmoji = map[string]string{
	":default:": symMark, ":red_circle:": "🔴", ":orange_circle:": "🟠", ":yellow_circle:": "🟡",
	":green_circle:": "🟢", ":large_blue_circle:": "🔵", ":purple_circle:": "🟣", ":brown_circle:": "🟤",
	":star:": "⭐", ":heart:": "❤", ":fire:": "🔥", ":warning:": "⚠", ":x:": "❌", ":check_mark:": "✔",
}

func focusMark(st *State, focused bool) string {
	if focused {
		return st.paint("focus", ">>")
	}
	return "  "
}

// renderListRow is the list layout: the request line, and the response
// line under it for HTTP flows.
func renderListRow(st *State, r *row, focused bool, width int) []string {
	switch r.kind {
	case "http":
	case "dns":
		return []string{renderDNSRow(st, r, focused, width, false, nil)}
	default:
		return []string{renderMessageRow(st, r, focused, width, false, nil)}
	}
	s := func(name, text string) string { return st.paint(name, text) }
	method := r.method
	pre := focusMark(st, focused) + " " + s(methodStyle(method), method) + " "
	preLen := 2 + 1 + ansi.StringWidth(method)
	url := r.url
	if r.version != "" && r.version != "HTTP/1.0" && r.version != "HTTP/1.1" {
		url += " " + r.version
	}
	urlStyle := "title"
	switch {
	case r.intercepted && r.code == 0:
		urlStyle = "intercept"
	case r.code != 0 || r.err != "":
		urlStyle = "text"
	}
	urlW := max(width-preLen-1-3-1, 1)
	line1 := pre + s(urlStyle, fixlen(url, urlW)) + " " + rightIndicators(st, r)
	// The response line starts under the URL.
	line2 := strings.Repeat(" ", preLen+1)
	switch {
	case r.code != 0:
		style := ""
		if r.intercepted {
			style = "intercept"
		}
		pick := func(def string) string {
			if style != "" {
				return style
			}
			return def
		}
		parts := []string{s(pick(codeStyle(r.code)), symReturn), s(pick(codeStyle(r.code)), strconv.Itoa(r.code))}
		if r.ctype != "" {
			ct, cts := contentTypeStyle(r.ctype)
			parts = append(parts, s(pick(cts), ct))
		}
		switch {
		case r.clen > 0:
			parts = append(parts, s(pick(sizeStyle(r.clen)), human.PrettySize(r.clen)))
		case r.clen == 0:
			parts = append(parts, s(pick("text"), "[no content]"))
		default:
			parts = append(parts, s(pick("text"), "[content missing]"))
		}
		if r.duration > 0 {
			parts = append(parts, s(pick(durationStyle(r.duration)), human.PrettyDuration(r.duration)))
		}
		line2 += strings.Join(parts, " ")
	case r.err != "":
		line2 += s("error", symReturn) + " " + s("error", r.err)
	}
	return []string{line1, line2}
}

// leftIndicators are the table's focus mark and time of day.
func leftIndicators(st *State, focused, intercepted bool, ts float64, loc *time.Location) string {
	t := formatTimestamp(ts, loc)
	t = t[len(t)-8:]
	style := "text"
	if intercepted {
		style = "intercept"
	}
	return focusMark(st, focused) + st.paint(style, t)
}

// columns splits the width left by fixed columns between weighted ones.
func columns(rest int, weights ...float64) []int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	out := make([]int, len(weights))
	used := 0
	for i, w := range weights {
		out[i] = int(float64(rest) * w / total)
		used += out[i]
	}
	if len(out) > 0 {
		out[len(out)-1] += max(rest-used, 0)
	}
	return out
}

// renderTableRow is the table layout: one line per flow.
func renderTableRow(st *State, r *row, focused bool, width int, loc *time.Location) string {
	switch r.kind {
	case "http":
	case "dns":
		return renderDNSRow(st, r, focused, width, true, loc)
	default:
		return renderMessageRow(st, r, focused, width, true, loc)
	}
	s := func(name, text string) string { return st.paint(name, text) }
	reqStyle := ""
	if r.intercepted && r.code == 0 {
		reqStyle = "intercept"
	}
	or := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	scheme := s(or(reqStyle, or(schemeStyles[r.scheme], "scheme_other")), fixlen(strings.ToUpper(r.scheme), 5))
	mstyle := or(reqStyle, methodStyle(r.method))
	if r.push {
		mstyle = "method_http2_push"
	}
	method := s(mstyle, fixlen(r.method, 4))
	respStyle := ""
	if r.intercepted && r.code != 0 {
		respStyle = "intercept"
	}
	var status, statusStyle, content, contentStyle string
	switch {
	case r.code != 0:
		status, statusStyle = strconv.Itoa(r.code), or(respStyle, codeStyle(r.code))
		switch {
		case r.clen > 0 && r.ctype != "":
			content, contentStyle = contentTypeStyle(r.ctype)
			contentStyle = or(respStyle, contentStyle)
		case r.clen > 0:
			contentStyle = "content_none"
		case r.clen == 0:
			content, contentStyle = "[no content]", "content_none"
		default:
			content, contentStyle = "[content missing]", "content_none"
		}
	case r.err != "":
		status, statusStyle, content, contentStyle = "err", "error", r.err, "error"
	default:
		statusStyle = "text"
	}
	size := strings.Repeat(" ", 5)
	if r.clen > 0 {
		size = s(or(respStyle, sizeStyle(r.clen)), fixlenR(human.PrettySize(r.clen), 5))
	}
	dur := strings.Repeat(" ", 5)
	if r.duration > 0 {
		dur = s(or(respStyle, durationStyle(r.duration)), fixlenR(human.PrettyDuration(r.duration), 5))
	}
	// Fixed: 10 + 5 + 4 + 3 + 5 + 5 + 3, and 8 one-cell dividers.
	fixed := 10 + 5 + 4 + 3 + 5 + 5 + 3 + 8
	ws := columns(max(width-fixed, 3), 0.25, 1.0, 0.15)
	host := s("text", fixlenR(r.host, ws[0]))
	path := s("text", fixlen(r.path, ws[1]))
	ct := s(contentStyle, fixlenR(content, ws[2]))
	return strings.Join([]string{
		leftIndicators(st, focused, r.intercepted, r.ts, loc), scheme, method, host, path,
		s(statusStyle, fixlen(status, 3)), ct, size, dur, rightIndicators(st, r),
	}, " ")
}

// renderMessageRow is a TCP, UDP or QUIC flow: its connection, size and
// duration.
func renderMessageRow(st *State, r *row, focused bool, width int, table bool, loc *time.Location) string {
	s := func(name, text string) string { return st.paint(name, text) }
	var parts []string
	proto := strings.ToUpper(r.kind)
	style := schemeStyles[r.kind]
	if style == "" {
		style = "scheme_other"
	}
	if table {
		parts = append(parts, leftIndicators(st, focused, false, r.ts, loc), s(style, fixlen(proto, 5)))
	} else {
		parts = append(parts, focusMark(st, focused), s(style, proto))
	}
	conn := r.x().client + " <-> " + r.x().server
	size := strings.Repeat(" ", 5)
	if r.x().total > 0 {
		size = s(sizeStyle(r.x().total), fixlenR(human.PrettySize(r.x().total), 5))
	}
	dur := strings.Repeat(" ", 5)
	if r.duration > 0 {
		dur = s(durationStyle(r.duration), fixlenR(human.PrettyDuration(r.duration), 5))
	}
	used := 0
	for _, p := range parts {
		used += ansi.StringWidth(p) + 1
	}
	rest := max(width-used-5-1-5-1-3, 2)
	if r.err != "" {
		ws := columns(rest-1, 1, 1)
		parts = append(parts, s("text", fixlen(conn, ws[0])), s("error", fixlen(r.err, ws[1])))
	} else {
		parts = append(parts, s("text", fixlen(conn, rest)))
	}
	parts = append(parts, size, dur, rightIndicators(st, r))
	return strings.Join(parts, " ")
}

// renderDNSRow is a DNS flow: the question and its answer.
func renderDNSRow(st *State, r *row, focused bool, width int, table bool, loc *time.Location) string {
	s := func(name, text string) string { return st.paint(name, text) }
	var parts []string
	if table {
		parts = append(parts, leftIndicators(st, focused, r.intercepted, r.ts, loc))
	} else {
		parts = append(parts, focusMark(st, focused))
	}
	t := "DNS " + r.x().opcode
	if table {
		t = fixlen(t, 10)
	}
	style := "scheme_dns"
	if r.intercepted {
		style = "intercept"
	}
	parts = append(parts, s(style, t))
	used := 0
	for _, p := range parts {
		used += ansi.StringWidth(p) + 1
	}
	qt := "(" + r.x().qtype + ") ="
	rest := max(width-used-len(qt)-1-9-1-5-1-3-2, 4)
	ws := columns(rest, 0.5, 1)
	answer := "..."
	if r.x().answered {
		answer = r.x().answer
		if answer == "" {
			answer = "?"
		}
	}
	ans := s("text", fixlen(answer, ws[1]))
	if r.err != "" {
		ans = s("error", fixlen(r.err, ws[1]))
	}
	cs := codeStyle(r.x().rcodeHTTP)
	if r.intercepted {
		cs = "intercept"
	}
	dur := strings.Repeat(" ", 5)
	if r.duration > 0 {
		dur = s(durationStyle(r.duration), fixlenR(human.PrettyDuration(r.duration), 5))
	}
	parts = append(parts, s("text", fixlenR(r.x().domain, ws[0])), s("text", qt), ans, s(cs, fixlen(r.x().rcode, 9)), dur, rightIndicators(st, r))
	return strings.Join(parts, " ")
}
