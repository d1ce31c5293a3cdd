package console

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
)

// contentCutoff is how many lines of a body are shown until the flow's
// "fullcontents" setting is toggled (f).
const contentCutoff = 512

// flowView is mitmproxy's flow view: the focused flow's summary, its tabs
// (Request, Response, WebSocket Messages / TCP Stream / UDP Stream, Detail)
// and the selected tab's content, scrolled. "/" searches the content; n and
// N go from match to match.
type flowView struct {
	tab    int
	scroll int
	height int

	// The rendered lines of the current tab, and what they were rendered
	// from (cache key).
	lines []string
	key   viewKey

	search  string
	matches []int
	match   int
}

type viewKey struct {
	id    string
	row   *row
	tab   int
	mode  string
	full  bool
	width int
	plain bool
}

func newFlowView() *flowView { return &flowView{} }

// Leave stops the copies of the flow taken at its hooks: only the flow view
// reads them (a flow view still shown asks again as it is drawn).
func (v *flowView) Leave(st *State) { st.snaps.watch("") }

func (v *flowView) Title() string   { return "Flow Details" }
func (v *flowView) Context() string { return "flowview" }

// tabNames are the tabs of a flow of kind k.
// (from its row: the flow itself may be in flight).
func tabNames(r *row) []string {
	switch r.kind {
	case "http":
		if r.ws {
			return []string{"Request", "Response", "WebSocket Messages", "Detail"}
		}
		return []string{"Request", "Response", "Detail"}
	case "tcp":
		return []string{"TCP Stream", "Detail"}
	case "udp", "quic":
		return []string{"UDP Stream", "Detail"}
	case "dns":
		return []string{"Request", "Response", "Detail"}
	}
	return []string{"Detail"}
}

func (st *State) rowOf(f flow.Any) *row {
	if r := st.rows.get(f.Base().ID); r != nil {
		return r
	}
	return &row{kind: f.Type()}
}

func (v *flowView) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	f := st.Focus()
	if f == nil {
		return v, nil
	}
	ntabs := len(tabNames(st.rowOf(f)))
	page := max(v.height-1, 1)
	switch msg := msg.(type) {
	case NavMsg:
		switch msg.Kind {
		case NavUp:
			v.scroll--
		case NavDown:
			v.scroll++
		case NavPageUp:
			v.scroll -= page
		case NavPageDown:
			v.scroll += page
		case NavStart:
			v.scroll = 0
		case NavEnd:
			v.scroll = len(v.lines)
		case NavRight, NavNext:
			v.setTab((v.tab + 1) % ntabs)
		case NavLeft:
			v.setTab((v.tab + ntabs - 1) % ntabs)
		}
		v.scroll = max(v.scroll, 0)
	case tea.KeyMsg:
		if msg.Type == tea.KeyShiftTab {
			v.setTab((v.tab + ntabs - 1) % ntabs)
		}
	case ActionMsg:
		switch msg.Name {
		case "search":
			v.search = strings.Join(msg.Args, " ")
			v.key = viewKey{} // recompute the matches
			v.match = -1
			v.findMatches()
			v.next(st, 1)
		case "search.next":
			v.next(st, 1)
		case "search.prev":
			v.next(st, -1)
		}
	}
	return v, nil
}

func (v *flowView) setTab(t int) {
	if t != v.tab {
		v.tab, v.scroll, v.key = t, 0, viewKey{}
	}
}

// next moves to the next (dir 1) or previous (-1) match.
func (v *flowView) next(st *State, dir int) {
	if v.search == "" {
		st.Error(fmt.Errorf("no search term (press / to search)"))
		return
	}
	if len(v.matches) == 0 {
		st.Message("Not found: " + v.search)
		return
	}
	if v.match < 0 {
		// The first match from where the view is.
		v.match = 0
		for i, l := range v.matches {
			if l >= v.scroll {
				v.match = i
				break
			}
		}
	} else {
		v.match = (v.match + dir + len(v.matches)) % len(v.matches)
	}
	v.scroll = max(v.matches[v.match]-2, 0)
	st.Message(fmt.Sprintf("Match %d of %d: %s", v.match+1, len(v.matches), v.search))
}

// highlightMatch shows the first match of needle in a line (case
// insensitive) in the selection's colours.
func highlightMatch(st *State, line, needle string) string {
	i := strings.Index(strings.ToLower(line), strings.ToLower(needle))
	if i < 0 || len(strings.ToLower(line)) != len(line) {
		return st.Style("option_selected").Render(line)
	}
	j := i + len(needle)
	return st.Style("text").Render(line[:i]) + st.Style("option_selected").Render(line[i:j]) + st.Style("text").Render(line[j:])
}

func (v *flowView) findMatches() {
	v.matches = v.matches[:0]
	if v.search == "" {
		return
	}
	needle := strings.ToLower(v.search)
	for i, l := range v.lines {
		if strings.Contains(strings.ToLower(ansi.Strip(l)), needle) {
			v.matches = append(v.matches, i)
		}
	}
}

func (v *flowView) View(st *State, width, height int) string {
	f := st.Focus()
	if f == nil {
		return st.Style("text").Render("No flow selected.")
	}
	st.snaps.watch(f.Base().ID)
	raw := st.rowOf(f)
	r := raw.display()
	tabs := tabNames(r)
	v.tab = min(v.tab, len(tabs)-1)
	titles := slices.Clone(tabs)
	if r.kind == "http" {
		// mitmproxy's tab titles say what is intercepted.
		switch {
		case r.intercepted && r.code == 0:
			titles[0] = "Request intercepted"
		case r.intercepted && !r.ws:
			titles[1] = "Response intercepted"
		}
	}
	var head []string
	head = append(head, detailHeader(st, r, width, st.loc)...)
	// The tab bar.
	var tb strings.Builder
	for i, t := range titles {
		style := st.Style("heading_inactive")
		if i == v.tab {
			style = st.Style("heading")
		}
		tb.WriteString(style.Render(" " + t + " "))
		tb.WriteString(" ")
	}
	head = append(head, fit(tb.String(), width))
	body := max(height-len(head), 1)
	v.height = body

	if id := f.Base().ID; id != v.key.id && v.key.id != "" {
		// Another flow (space, p): from its top.
		v.scroll, v.match = 0, -1
	}
	mode := st.View.Setting(f, fmt.Sprintf("flowview_mode_%d", v.tab), st.opts.defaultContentview.Get())
	full := st.View.Setting(f, "fullcontents", "false") == "true"
	key := viewKey{id: f.Base().ID, row: raw, tab: v.tab, mode: mode, full: full, width: width}
	if key != v.key {
		v.lines = v.render(st, f, tabs[v.tab], mode, full, width)
		v.key = key
		v.findMatches()
	}
	v.scroll = min(v.scroll, max(len(v.lines)-body, 0))
	out := head
	for i := v.scroll; i < len(v.lines) && len(out) < height; i++ {
		l := v.lines[i]
		if v.search != "" && v.match >= 0 && v.match < len(v.matches) && v.matches[v.match] == i {
			l = highlightMatch(st, ansi.Strip(l), v.search)
		}
		out = append(out, fit(l, width))
	}
	return strings.Join(out, "\n")
}

// detailHeader is the flow's summary at the top of the flow view
// (mitmproxy's DETAILVIEW rendering).
func detailHeader(st *State, r *row, width int, loc *time.Location) []string {
	s := func(name, text string) string { return st.Style(name).Render(text) }
	switch r.kind {
	case "http":
	case "dns":
		return []string{renderDNSRow(st, r, false, width, true, loc)}
	default:
		return []string{renderMessageRow(st, r, false, width, true, loc)}
	}
	urlStyle := "title"
	if r.intercepted && r.code == 0 {
		urlStyle = "intercept"
	} else if r.code != 0 || r.err != "" {
		urlStyle = "text"
	}
	l1 := s("highlight", formatTimestamp(r.ts, loc)) + " " + s(methodStyle(r.method), r.method) + " " + s(urlStyle, r.url)
	var l2 string
	pre := strings.Repeat(" ", 20+len(r.method)+1)
	switch {
	case r.code != 0:
		cs := codeStyle(r.code)
		if r.intercepted {
			cs = "intercept"
		}
		parts := []string{s(cs, symReturn), s(cs, strconv.Itoa(r.code))}
		if r.reason != "" {
			parts = append(parts, s(cs, r.reason))
		}
		if r.ctype != "" {
			ct, style := contentTypeStyle(r.ctype)
			parts = append(parts, s(style, ct))
		}
		if r.clen >= 0 {
			parts = append(parts, s(sizeStyle(r.clen), human.PrettySize(r.clen)))
		}
		if r.duration > 0 {
			parts = append(parts, s(durationStyle(r.duration), human.PrettyDuration(r.duration)))
		}
		l2 = pre + strings.Join(parts, " ")
	case r.err != "":
		l2 = pre + s("error", symReturn+" "+r.err)
	default:
		return []string{fit(l1, width)}
	}
	return []string{fit(l1, width), fit(l2, width)}
}

// render renders a tab of a flow that may be read (or its copy).
func (v *flowView) render(st *State, f flow.Any, tab, mode string, full bool, width int) []string {
	var out []string
	read := func(fn func(f flow.Any)) {
		// A copy is taken under the view's lock and rendered after it:
		// rendering a large body (seconds for megabytes of JSON) under
		// the lock held up every flow's hooks, and checking then reading
		// in two holds let a command resume the flow in between.
		var cp flow.Any
		if st.View.IfReadable(f, func() { cp = flow.CopyAny(f) }) && cp != nil {
			fn(cp)
			return
		}
		if cp := st.snapshotOf(f); cp != nil {
			fn(cp)
			return
		}
		out = append(out, st.Style("warn").Render("Flow is in progress: it shows once it is over or intercepted."))
	}
	read(func(f flow.Any) { out = append(out, renderTab(st, f, tab, mode, full, width)...) })
	return out
}

// renderTab renders one tab of a flow.
func renderTab(st *State, f flow.Any, tab, mode string, full bool, width int) []string {
	switch tab {
	case "Detail":
		return renderDetail(st, f)
	case "Request", "Response":
		switch f := f.(type) {
		case *flow.HTTPFlow:
			if tab == "Request" {
				if f.Request == nil {
					return nil
				}
				return renderMessage(st, &f.Request.Message, f.Request, mode, full, "request", width)
			}
			if f.Response == nil {
				return []string{"", st.Style("highlight").Render("No response. Press ") + st.Style("key").Render("e") +
					st.Style("highlight").Render(" and edit any aspect to add one.")}
			}
			return renderMessage(st, &f.Response.Message, nil, mode, full, "response", width)
		case *flow.DNSFlow:
			m := f.Request
			if tab == "Response" {
				m = f.Response
			}
			if m == nil {
				return []string{st.Style("text").Render("No response yet.")}
			}
			return renderDNS(st, m)
		}
	case "WebSocket Messages", "TCP Stream", "UDP Stream":
		return renderMessages(st, f, mode, full)
	}
	return nil
}

// formatKeyvals renders key/value lines with the keys aligned (mitmproxy's
// format_keyvals).
func formatKeyvals(st *State, kv [][2]string, keyStyle string) []string {
	w := 0
	for _, p := range kv {
		w = max(w, min(ansi.StringWidth(p[0]), 30))
	}
	out := make([]string, 0, len(kv))
	for _, p := range kv {
		out = append(out, st.Style(keyStyle).Render(fixlen(clean(p[0]), w))+"  "+st.Style("text").Render(clean(p[1])))
	}
	return out
}

// renderMessage renders an HTTP message: its headers, then the content
// view's bar and its body (mitmproxy's conn_text).
func renderMessage(st *State, m *flow.Message, req *flow.Request, mode string, full bool, what string, width int) []string {
	var kv [][2]string
	for _, h := range m.Headers {
		kv = append(kv, [2]string{clean(h.Name) + ":", clean(h.Value)})
	}
	out := formatKeyvals(st, kv, "header")
	if m.RawContent == nil {
		return append(out, contentBar(st, "", mode, width), st.Style("error").Render("[content missing]"))
	}
	if len(m.RawContent) == 0 && (req == nil || !strings.Contains(req.Path, "?")) {
		msg := "No content"
		if req != nil {
			msg = "No request content"
		}
		return append(out, contentBar(st, "", mode, width), st.Style("text").Render(msg))
	}
	res := contentview.Prettify(contentview.ForHTTP(m, req), mode)
	lines := renderContent(st, res, full, st.linesCutoff())
	return append(append(out, contentBar(st, strings.TrimSpace(res.ViewName+" "+res.Description), mode, width)), lines...)
}

// contentBar is the content view's bar: what rendered the body, and the
// view mode (m changes it).
func contentBar(st *State, desc, mode string, width int) string {
	h, k := st.Style("heading"), st.Style("heading_key")
	right := h.Render("[") + k.Render("m") + h.Render(":"+mode+"]")
	rw := ansi.StringWidth(right)
	return fit(h.Render(fit(desc, max(width-rw, 0))), max(width-rw, 0)) + right
}

// linesCutoff is content_view_lines_cutoff (512 when it is not declared).
func (st *State) linesCutoff() int {
	if n := st.fopts.linesCutoff.Get(); n > 0 {
		return n
	}
	return contentCutoff
}

// renderContent renders a content view's text, highlighted, cut after
// cutoff lines unless full.
func renderContent(st *State, res contentview.Result, full bool, cutoff int) []string {
	// CRLF line ends are line breaks, as Python's splitlines sees them.
	text := strings.TrimRight(strings.ReplaceAll(res.Text, "\r\n", "\n"), "\n")
	var lines []string
	var cur strings.Builder
	for _, ch := range contentview.Highlight(text, res.Syntax) {
		style := "text"
		if ch.Tag != "" {
			style = string(ch.Tag)
		}
		parts := strings.Split(ch.Text, "\n")
		for i, p := range parts {
			if i > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			if p != "" {
				cur.WriteString(st.Style(style).Render(clean(p)))
			}
		}
	}
	lines = append(lines, cur.String())
	if !full && len(lines) > cutoff {
		lines = append(lines[:cutoff], stoppedAt(st, cutoff))
	}
	return lines
}

func stoppedAt(st *State, n int) string {
	return st.Style("highlight").Render(fmt.Sprintf("Stopped displaying data after %d lines. Press ", n)) +
		st.Style("key").Render("f") + st.Style("highlight").Render(" to load all data.")
}

// renderMessages renders the messages of a WebSocket, TCP or UDP flow.
func renderMessages(st *State, f flow.Any, mode string, full bool) []string {
	type msg struct {
		content    []byte
		fromClient bool
		ts         float64
	}
	var msgs []msg
	switch f := f.(type) {
	case *flow.HTTPFlow:
		if f.WebSocket != nil {
			for _, m := range f.WebSocket.Messages {
				msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
			}
		}
	case *flow.TCPFlow:
		for _, m := range f.Messages {
			msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
		}
	case *flow.UDPFlow:
		for _, m := range f.Messages {
			msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
		}
	}
	if len(msgs) == 0 {
		return []string{st.Style("highlight").Render("No messages.")}
	}
	var out []string
	for _, m := range msgs {
		res := contentview.Prettify(contentview.ForData(m.content), mode)
		sym, style := symToClient, "to_client"
		if m.fromClient {
			sym, style = symFromClient, "from_client"
		}
		for i, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(res.Text, "\r\n", "\n"), "\n"), "\n") {
			prefix := "  "
			if i == 0 {
				prefix = sym + " "
			}
			out = append(out, st.Style(style).Render(prefix+clean(l)))
		}
		if cut := st.linesCutoff(); !full && len(out) > cut {
			out = append(out[:cut], stoppedAt(st, cut))
			break
		}
	}
	return out
}

// certInfo describes a certificate as mitmproxy's detail view does.
func certInfo(der []byte) [][2]string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return [][2]string{{"Error", err.Error()}}
	}
	typ := c.PublicKeyAlgorithm.String()
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		typ = fmt.Sprintf("RSA, %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		typ = fmt.Sprintf("EC (%s), %d bits", k.Curve.Params().Name, k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		typ = "Ed25519, 256 bits"
	}
	sum := sha256.Sum256(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	kv := [][2]string{
		{"Type", typ},
		{"SHA256 digest", strings.Join(hexes, " ")},
		{"Valid from", c.NotBefore.UTC().Format("2006-01-02 15:04:05+00:00")},
		{"Valid to", c.NotAfter.UTC().Format("2006-01-02 15:04:05+00:00")},
		{"Serial", c.SerialNumber.String()},
		{"Subject", c.Subject.String()},
		{"Issuer", c.Issuer.String()},
	}
	var alt []string
	alt = append(alt, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		alt = append(alt, ip.String())
	}
	if len(alt) > 0 {
		kv = append(kv, [2]string{"Alt names", strings.Join(alt, ", ")})
	}
	return kv
}

// renderDetail is the Detail tab: the connections, TLS and timing.
func renderDetail(st *State, f flow.Any) []string {
	b := f.Base()
	var out []string
	section := func(title string, kv [][2]string) {
		if len(kv) == 0 {
			return
		}
		out = append(out, st.Style("head").Render(title+":"), "")
		for _, l := range formatKeyvals(st, kv, "key") {
			out = append(out, "  "+l)
		}
		out = append(out, "")
	}
	ts := func(t float64) string {
		if t == 0 {
			return ""
		}
		return time.UnixMilli(int64(math.Round(t * 1000))).UTC().Format("2006-01-02 15:04:05.000")
	}
	add := func(kv *[][2]string, k, v string) {
		if v != "" {
			*kv = append(*kv, [2]string{k, v})
		}
	}
	if c := b.ClientConn; c != nil {
		var kv [][2]string
		add(&kv, "Address", human.FormatAddress(c.Peername))
		add(&kv, "TLS Version", c.TLSVersion)
		add(&kv, "Server Name Indication", c.SNI)
		add(&kv, "Cipher Name", c.Cipher)
		if len(c.ALPN) > 0 {
			add(&kv, "ALPN", string(c.ALPN))
		}
		add(&kv, "Proxy Mode", c.ProxyMode)
		section("Client Connection", kv)
	}
	if s := b.ServerConn; s != nil {
		var kv [][2]string
		add(&kv, "Address", human.FormatAddress(s.Address))
		if !s.Peername.IsZero() {
			add(&kv, "Resolved Address", human.FormatAddress(s.Peername))
		}
		add(&kv, "TLS Version", s.TLSVersion)
		add(&kv, "Server Name Indication", s.SNI)
		add(&kv, "Cipher Name", s.Cipher)
		if len(s.ALPN) > 0 {
			add(&kv, "ALPN", string(s.ALPN))
		}
		section("Server Connection", kv)
		if len(s.CertificateList) > 0 {
			section("Server Certificate", certInfo(s.CertificateList[0]))
		}
	}
	var kv [][2]string
	if c := b.ClientConn; c != nil {
		add(&kv, "Client conn. established", ts(c.TimestampStart))
		add(&kv, "Client conn. TLS handshake", ts(c.TimestampTLSSetup))
	}
	if s := b.ServerConn; s != nil {
		add(&kv, "Server conn. initiated", ts(s.TimestampStart))
		add(&kv, "Server conn. TCP handshake", ts(s.TimestampTCPSetup))
		add(&kv, "Server conn. TLS handshake", ts(s.TimestampTLSSetup))
	}
	if hf, ok := f.(*flow.HTTPFlow); ok {
		if q := hf.Request; q != nil {
			add(&kv, "First request byte", ts(q.TimestampStart))
			add(&kv, "Request complete", ts(q.TimestampEnd))
		}
		if r := hf.Response; r != nil {
			add(&kv, "First response byte", ts(r.TimestampStart))
			add(&kv, "Response complete", ts(r.TimestampEnd))
		}
	}
	section("Timing", kv)
	var meta [][2]string
	if b.Comment() != "" {
		meta = append(meta, [2]string{"Comment", b.Comment()})
	}
	if b.Marked() != "" {
		meta = append(meta, [2]string{"Marked", b.Marked()})
	}
	if b.IsReplay != "" {
		meta = append(meta, [2]string{"Replay", b.IsReplay})
	}
	if b.Error != nil {
		meta = append(meta, [2]string{"Error", b.Error.Msg})
	}
	section("Flow", meta)
	return out
}

// renderDNS renders a DNS message: its header fields, questions and
// records, as tables.
func renderDNS(st *State, m *flow.DNSMessage) []string {
	var out []string
	kv := [][2]string{
		{"ID", strconv.Itoa(m.ID)},
		{"Op Code", flow.DNSOpCodeString(m.OpCode)},
		{"Recursion Desired", strconv.FormatBool(m.RecursionDesired)},
	}
	if !m.Query {
		kv = append(kv, [2]string{"Response Code", flow.DNSResponseCodeString(m.ResponseCode)},
			[2]string{"Authoritative Answer", strconv.FormatBool(m.AuthoritativeAnswer)},
			[2]string{"Recursion Available", strconv.FormatBool(m.RecursionAvailable)},
			[2]string{"Truncation", strconv.FormatBool(m.Truncation)})
	}
	out = append(out, formatKeyvals(st, kv, "key")...)
	table := func(title string, head []string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		out = append(out, "", st.Style("head").Render(title+":"))
		w := make([]int, len(head))
		for i, h := range head {
			w[i] = len(h)
		}
		for _, r := range rows {
			for i, c := range r {
				w[i] = max(w[i], ansi.StringWidth(c))
			}
		}
		line := func(cells []string, style string) string {
			parts := make([]string, len(cells))
			for i, c := range cells {
				parts[i] = fixlen(c, w[i])
			}
			return "  " + st.Style(style).Render(strings.TrimRight(strings.Join(parts, "  "), " "))
		}
		out = append(out, line(head, "header"))
		for _, r := range rows {
			out = append(out, line(r, "text"))
		}
	}
	var qs [][]string
	for _, q := range m.Questions {
		qs = append(qs, []string{clean(q.Name), flow.DNSTypeString(q.Type), flow.DNSClassString(q.Class)})
	}
	table("Questions", []string{"Name", "Type", "Class"}, qs)
	records := func(title string, rs []flow.DNSResourceRecord) {
		var rows [][]string
		for i := range rs {
			r := &rs[i]
			rows = append(rows, []string{clean(r.Name), flow.DNSTypeString(r.Type), flow.DNSClassString(r.Class), strconv.Itoa(r.TTL), clean(r.String())})
		}
		table(title, []string{"Name", "Type", "Class", "TTL", "Data"}, rows)
	}
	records("Answers", m.Answers)
	records("Authorities", m.Authorities)
	records("Additionals", m.Additionals)
	return out
}
