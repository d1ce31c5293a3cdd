// Package dumper is mitmdump's flow printer (mitmproxy's addons/dumper.py):
// one line per request and response at flow_detail 1, headers at 2, bodies
// through content views at 3 (cut after content_view_lines_cutoff lines) and
// 4, plus WebSocket and TCP messages. Output is byte for byte mitmproxy's,
// with colours only when writing to a terminal.
//
// A flow is printed once, when it completes (the response or error hook),
// in a single write, so concurrent flows never interleave.
package dumper

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
	"github.com/mitmgo/mitmgo/internal/tty"
)

// Compile-time checks that the Dumper implements the hooks it relies on.
var (
	_ addon.LoadHook             = (*Dumper)(nil)
	_ addon.ConfigureHook        = (*Dumper)(nil)
	_ addon.ResponseHook         = (*Dumper)(nil)
	_ addon.ErrorHook            = (*Dumper)(nil)
	_ addon.HTTPConnectErrorHook = (*Dumper)(nil)
	_ addon.WebSocketMessageHook = (*Dumper)(nil)
	_ addon.WebSocketEndHook     = (*Dumper)(nil)
	_ addon.TCPMessageHook       = (*Dumper)(nil)
	_ addon.TCPErrorHook         = (*Dumper)(nil)
)

// DefaultLinesCutoff is mitmproxy's content_view_lines_cutoff default.
const DefaultLinesCutoff = 512

// Matcher is a compiled flow filter expression (package filter's Filter).
type Matcher interface{ Match(f any) bool }

// ParseFunc compiles a filter expression for dumper_filter.
type ParseFunc func(expr string) (Matcher, error)

// config is a snapshot of the options the dumper reads, swapped atomically
// so hooks on many goroutines never see a half-applied change.
type config struct {
	detail   int
	view     string
	showhost bool
	cutoff   int
	filter   Matcher
}

// Dumper prints flows. Create it with New; it is safe for concurrent use.
type Dumper struct {
	mu    sync.Mutex // serialises writes
	w     io.Writer
	style human.Styler
	width atomic.Pointer[func() int]
	parse atomic.Pointer[ParseFunc]
	ctx   *addon.Context
	cfg   atomic.Pointer[config]
	views atomic.Pointer[func() []contentview.View]
	opts  dumperOpts // declared in Load
}

// dumperOpts are the handles on the options the dumper reads.
type dumperOpts struct {
	detail, cutoff addon.Opt[int]
	view           addon.Opt[string]
	filter         addon.Opt[*string]
	showhost       addon.Opt[bool]
}

// New returns a dumper writing to w. isTTY says whether w is a terminal:
// only then are colours used and long URLs cut to the terminal's width at
// flow_detail 1.
func New(w io.Writer, isTTY bool) *Dumper {
	d := &Dumper{w: w, style: human.Styler(isTTY)}
	d.cfg.Store(&config{detail: 1, view: "auto", cutoff: DefaultLinesCutoff})
	if isTTY {
		fn := tty.Width(w)
		d.width.Store(&fn)
	}
	return d
}

// SetTerminalWidth sets how wide the terminal is, for cutting URLs at
// flow_detail 1 (mitmproxy cuts them to the width minus 25, at least 50
// characters). nil turns cutting off.
func (d *Dumper) SetTerminalWidth(width func() int) {
	if width == nil {
		d.width.Store(nil)
		return
	}
	d.width.Store(&width)
}

// SetContentViews sets where the dumper finds more content views than its
// own (those scripts add: the script host's ContentViews).
func (d *Dumper) SetContentViews(fn func() []contentview.View) { d.views.Store(&fn) }

// SetFilterParser sets the parser for dumper_filter expressions.
func (d *Dumper) SetFilterParser(p ParseFunc) { d.parse.Store(&p) }

// Load declares the dumper's options (and showhost and
// content_view_lines_cutoff, unless another addon has).
func (d *Dumper) Load(l *addon.Loader) {
	d.ctx = l.Context()
	d.opts.detail = addon.Declare(l, "flow_detail", 1, strings.Join([]string{
		"The display detail level for flows in mitmdump: 0 (quiet) to 4 (very verbose).",
		"  0: no output",
		"  1: shortened request URL with response status code",
		"  2: full request URL with response status code and HTTP headers",
		"  3: 2 + truncated response content, content of WebSocket and TCP messages (content_view_lines_cutoff: " + strconv.Itoa(DefaultLinesCutoff) + ")",
		"  4: 3 + nothing is truncated",
	}, "\n"))
	d.opts.view = addon.Declare(l, "dumper_default_contentview", "auto",
		"The default content view mode.", contentview.Names()...)
	d.opts.filter = addon.Declare[*string](l, "dumper_filter", nil, "Limit which flows are dumped.")
	// Declare gives a handle on showhost and content_view_lines_cutoff
	// when another addon has declared them already.
	d.opts.showhost = addon.Declare(l, "showhost", false, "Use the Host header to construct URLs for display.")
	d.opts.cutoff = addon.Declare(l, "content_view_lines_cutoff", DefaultLinesCutoff,
		"Flow content view lines limit. Limit is enabled by default to speedup flows browsing.")
}

// Configure reads the options; a bad filter expression or cutoff is
// rejected.
func (d *Dumper) Configure(updated map[string]bool) error {
	if d.ctx == nil {
		return nil
	}
	opts := &d.opts
	old := d.cfg.Load()
	c := &config{
		detail:   opts.detail.Get(),
		view:     opts.view.Get(),
		showhost: opts.showhost.Get(),
		cutoff:   opts.cutoff.Get(),
		filter:   old.filter,
	}
	if c.view == "" {
		c.view = "auto"
	}
	if c.cutoff <= 0 {
		return fmt.Errorf("content_view_lines_cutoff must be a positive number of lines, not %d", c.cutoff)
	}
	if opts.filter.Changed(updated) {
		c.filter = nil
		if p := opts.filter.Get(); p != nil && *p != "" {
			expr := *p
			parse := d.filterParser()
			m, err := parse(expr)
			if err != nil {
				return fmt.Errorf("dumper_filter: %w", err)
			}
			c.filter = m
		}
	}
	if opts.view.Changed(updated) && !contentview.Supported(c.view) && d.ctx.Log != nil {
		d.ctx.Log.Warn(fmt.Sprintf("Content view %q is not supported yet, selecting the best match instead.", c.view))
	}
	d.cfg.Store(c)
	return nil
}

func (d *Dumper) filterParser() ParseFunc {
	if p := d.parse.Load(); p != nil && *p != nil {
		return *p
	}
	return defaultParser
}

// match reports whether the flow is printed at all.
func (d *Dumper) match(c *config, f any) bool {
	if c.detail == 0 {
		return false
	}
	return c.filter == nil || c.filter.Match(f)
}

func (d *Dumper) write(s string) {
	if s == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// A terminal that went away is no reason to disturb the proxy; mitmproxy
	// also carries on when printing a flow fails.
	_, _ = io.WriteString(d.w, s)
}

// Response prints a completed flow.
func (d *Dumper) Response(f *flow.HTTPFlow) { d.dumpHTTP(f) }

// Error prints a flow that failed.
func (d *Dumper) Error(f *flow.HTTPFlow) { d.dumpHTTP(f) }

// HTTPConnectError prints a CONNECT that failed (mitmproxy >= 10.4 prints
// it in this hook; 8.1.1 did in response): the request line and the
// proxy's answer, such as "<< 502 Bad Gateway 180b".
func (d *Dumper) HTTPConnectError(f *flow.HTTPFlow) { d.dumpHTTP(f) }

func (d *Dumper) dumpHTTP(f *flow.HTTPFlow) {
	c := d.cfg.Load()
	if !d.match(c, f) {
		return
	}
	p := d.printer(c)
	p.flow(f)
	d.write(p.String())
}

// WebSocketMessage prints the newest WebSocket message.
func (d *Dumper) WebSocketMessage(f *flow.HTTPFlow) {
	c := d.cfg.Load()
	if f.WebSocket == nil || len(f.WebSocket.Messages) == 0 || !d.match(c, f) {
		return
	}
	m := f.WebSocket.Messages[len(f.WebSocket.Messages)-1]
	p := d.printer(c)
	dir := direction(m.FromClient)
	path := ""
	if f.Request != nil {
		path = f.Request.Path
	}
	p.echo(fmt.Sprintf("%s %s WebSocket %s message %s %s%s",
		clientAddress(&f.Flow), dir, webSocketType(m.Type), dir, serverAddress(&f.Flow), path), 0, human.Style{})
	if c.detail >= 3 {
		p.message(contentview.ForData(m.Content))
	}
	d.write(p.String())
}

// WebSocketEnd prints how a WebSocket connection ended.
func (d *Dumper) WebSocketEnd(f *flow.HTTPFlow) {
	c := d.cfg.Load()
	if f.WebSocket == nil || !d.match(c, f) {
		return
	}
	ws := f.WebSocket
	p := d.printer(c)
	switch ws.CloseCode {
	case 1000, 1001, 1005:
		by := "server"
		if ws.ClosedByClient != nil && *ws.ClosedByClient {
			by = "client"
		}
		p.echo(fmt.Sprintf("WebSocket connection closed by %s: %d %s", by, ws.CloseCode, ws.CloseReason), 0, human.Style{})
	default:
		p.echo(fmt.Sprintf("Error in WebSocket connection to %s: WebSocket Error: %s",
			serverAddress(&f.Flow), closeReason(ws)), 0, human.Style{Fg: "red"})
	}
	d.write(p.String())
}

// TCPMessage prints the newest TCP message.
func (d *Dumper) TCPMessage(f *flow.TCPFlow) { d.streamMessage(f) }

// TCPError prints why a TCP connection failed.
func (d *Dumper) TCPError(f *flow.TCPFlow) { d.streamError(f, "TCP") }

// streamMessage prints the newest message of a TCP or UDP flow: a line for
// its direction, and its content from detail 3.
func (d *Dumper) streamMessage(f flow.Any) {
	var proto string
	var fromClient bool
	var content []byte
	switch f := f.(type) {
	case *flow.TCPFlow:
		if len(f.Messages) == 0 {
			return
		}
		m := f.Messages[len(f.Messages)-1]
		proto, fromClient, content = "tcp", m.FromClient, m.Content
	case *flow.UDPFlow:
		if len(f.Messages) == 0 {
			return
		}
		m := f.Messages[len(f.Messages)-1]
		proto, fromClient, content = "udp", m.FromClient, m.Content
	}
	c := d.cfg.Load()
	if !d.match(c, f) {
		return
	}
	p := d.printer(c)
	dir := direction(fromClient)
	p.echo(fmt.Sprintf("%s %s %s %s %s", clientAddress(f.Base()), dir, proto, dir, serverAddress(f.Base())), 0, human.Style{})
	if c.detail >= 3 {
		p.message(contentview.ForData(content))
	}
	d.write(p.String())
}

// streamError prints why a TCP or UDP flow failed (proto is "TCP" or "UDP").
func (d *Dumper) streamError(f flow.Any, proto string) {
	c := d.cfg.Load()
	if !d.match(c, f) {
		return
	}
	msg := ""
	if e := f.Base().Error; e != nil {
		msg = e.Msg
	}
	p := d.printer(c)
	p.echo(fmt.Sprintf("Error in %s connection to %s: %s", proto, serverAddress(f.Base()), msg), 0, human.Style{Fg: "red"})
	d.write(p.String())
}

func direction(fromClient bool) string {
	if fromClient {
		return "->"
	}
	return "<-"
}

func webSocketType(t int) string {
	switch t {
	case flow.WebSocketText:
		return "text"
	case flow.WebSocketBinary:
		return "binary"
	}
	return "opcode " + strconv.Itoa(t)
}

// closeReasons are the names wsproto gives close codes.
var closeReasons = map[int]string{
	1000: "NORMAL_CLOSURE", 1001: "GOING_AWAY", 1002: "PROTOCOL_ERROR", 1003: "UNSUPPORTED_DATA",
	1005: "NO_STATUS_RCVD", 1006: "ABNORMAL_CLOSURE", 1007: "INVALID_FRAME_PAYLOAD_DATA",
	1008: "POLICY_VIOLATION", 1009: "MESSAGE_TOO_BIG", 1010: "MANDATORY_EXT", 1011: "INTERNAL_ERROR",
	1012: "SERVICE_RESTART", 1013: "TRY_AGAIN_LATER", 1015: "TLS_HANDSHAKE_FAILED",
}

func closeReason(ws *flow.WebSocketData) string {
	s, ok := closeReasons[ws.CloseCode]
	if !ok {
		s = "UNKNOWN_ERROR=" + strconv.Itoa(ws.CloseCode)
	}
	if ws.CloseReason != "" {
		s += " (reason: " + ws.CloseReason + ")"
	}
	return s
}

func clientAddress(f *flow.Flow) string {
	if f.ClientConn == nil {
		return human.FormatAddress(flow.Address{})
	}
	return human.FormatAddress(f.ClientConn.Peername)
}

func serverAddress(f *flow.Flow) string {
	if f.ServerConn == nil {
		return human.FormatAddress(flow.Address{})
	}
	return human.FormatAddress(f.ServerConn.Address)
}

func (d *Dumper) printer(c *config) *printer {
	p := &printer{cfg: c, style: d.style}
	if fn := d.views.Load(); fn != nil {
		p.views = (*fn)()
	}
	if fn := d.width.Load(); fn != nil && *fn != nil {
		p.width = (*fn)()
	}
	return p
}

// printer renders one flow's output.
type printer struct {
	strings.Builder
	cfg   *config
	style human.Styler
	// width is the terminal width for cutting URLs; 0 means no cutting.
	width int
	// views are the content views besides the dumper's own.
	views []contentview.View
}

// echo writes one output line: indented by ident spaces (mitmproxy strips
// the text first), then styled.
func (p *printer) echo(text string, ident int, st human.Style) {
	if ident > 0 {
		text = human.Indent(ident, text)
	}
	p.WriteString(p.style.Apply(text, st))
	p.WriteByte('\n')
}

func (p *printer) headers(h flow.Headers) {
	for _, f := range h {
		k := p.style.Apply(human.BytesToEscapedStr(f.Name, false), human.Style{Fg: "blue"})
		p.echo(k+": "+human.BytesToEscapedStr(f.Value, false), 4, human.Style{})
	}
}

func (p *printer) trailers(h flow.Headers) {
	if len(h) == 0 {
		return
	}
	p.echo("--- HTTP Trailers", 4, human.Style{Fg: "magenta"})
	p.headers(h)
}

// contentStyles colour highlighted body text.
var contentStyles = map[contentview.Tag]human.Style{
	"name":    {Fg: "yellow"},
	"string":  {Fg: "green"},
	"number":  {Fg: "blue"},
	"boolean": {Fg: "magenta"},
	"comment": {Dim: human.On},
	"error":   {Fg: "red"},
}

// message prints a body or message content through the content views.
func (p *printer) message(in contentview.Input) {
	res := contentview.PrettifyWith(in, p.cfg.view, p.views)
	text := res.Text
	if p.cfg.detail == 3 {
		text = cutAfterLines(text, p.cfg.cutoff)
	}
	if text != "" {
		p.echo("", 0, human.Style{})
		if p.style {
			p.highlighted(text, res.Syntax)
		} else {
			p.echo(text, 4, human.Style{})
		}
	}
	if len(text) < len(res.Text) {
		p.echo("(cut off)", 4, human.Style{Dim: human.On})
	}
	if p.cfg.detail >= 2 {
		p.echo("", 0, human.Style{})
	}
}

// highlighted writes text indented by four like echo, colouring each piece
// on its own so escape codes never span the indentation.
func (p *printer) highlighted(text string, syntax contentview.Syntax) {
	text = human.PyStrip(text)
	p.WriteString("    ")
	for _, c := range contentview.Highlight(text, syntax) {
		for _, piece := range human.SplitLines(c.Text, true) {
			body := strings.TrimRight(piece, "\r\n\v\f\x1c\x1d\x1e\u0085\u2028\u2029")
			if body != "" {
				p.WriteString(p.style.Apply(body, contentStyles[c.Tag]))
			}
			if body != piece {
				p.WriteString("\n    ")
			}
		}
	}
	p.WriteByte('\n')
}

// cutAfterLines keeps the first n lines of text (with their newlines), as
// mitmproxy's cut_after_n_lines.
func cutAfterLines(text string, n int) string {
	pos := strings.IndexByte(text, '\n')
	for pos >= 0 && n > 1 {
		next := strings.IndexByte(text[pos+1:], '\n')
		if next < 0 {
			pos = -1
			break
		}
		pos += next + 1
		n--
	}
	if pos >= 0 {
		return text[:pos+1]
	}
	return text
}

func (p *printer) flow(f *flow.HTTPFlow) {
	c := p.cfg
	if req := f.Request; req != nil {
		p.requestLine(f)
		if c.detail >= 2 {
			p.headers(req.Headers)
		}
		if c.detail >= 3 {
			p.message(contentview.ForHTTP(&req.Message, req))
		}
		if c.detail >= 2 {
			p.trailers(req.Trailers)
		}
	}
	if resp := f.Response; resp != nil {
		p.responseLine(f)
		if c.detail >= 2 {
			p.headers(resp.Headers)
		}
		if c.detail >= 3 {
			p.message(contentview.ForHTTP(&resp.Message, nil))
		}
		if c.detail >= 2 {
			p.trailers(resp.Trailers)
		}
	}
	if f.Error != nil {
		p.echo(" << "+human.EscapeControl(f.Error.Msg, true), 0, human.Style{Fg: "red", Bold: human.On})
	}
}

func (p *printer) client(f *flow.Flow) string {
	switch {
	case f.IsReplay == "request":
		return p.style.Apply("[replay]", human.Style{Fg: "yellow", Bold: human.On})
	case f.ClientConn != nil && !f.ClientConn.Peername.IsZero():
		return human.EscapeControl(human.FormatAddress(f.ClientConn.Peername), true)
	}
	return ""
}

func isHTTP1(version string) bool { return version == "HTTP/1.0" || version == "HTTP/1.1" }

func (p *printer) requestLine(f *flow.HTTPFlow) {
	req := f.Request
	method := req.Method
	if _, pushed := f.Metadata.Get("h2-pushed-stream"); pushed {
		method += " PUSH_PROMISE"
	}
	color := "magenta"
	switch strings.ToUpper(method) {
	case "GET":
		color = "green"
	case "DELETE":
		color = "red"
	}
	method = p.style.Apply(human.EscapeControl(method, true), human.Style{Fg: color, Bold: human.On})

	url := req.URL()
	if p.cfg.showhost {
		url = req.PrettyURL()
	}
	if p.cfg.detail == 1 && p.width > 0 {
		limit := max(p.width-25, 50)
		if utf8.RuneCountInString(url) > limit {
			url = string([]rune(url)[:limit]) + "…"
		}
	}
	url = p.style.Apply(human.EscapeControl(url, true), human.Style{Bold: human.On})

	respVersion := "HTTP/1.1"
	if f.Response != nil {
		respVersion = f.Response.HTTPVersion
	}
	version := ""
	if !isHTTP1(req.HTTPVersion) || req.HTTPVersion != respVersion {
		version = " " + req.HTTPVersion
	}
	p.echo(p.client(&f.Flow)+": "+method+" "+url+version, 0, human.Style{})
}

func (p *printer) responseLine(f *flow.HTTPFlow) {
	resp := f.Response
	replayStr, replay := "", ""
	if f.IsReplay == "response" {
		replayStr = "[replay]"
		replay = p.style.Apply(replayStr, human.Style{Fg: "yellow", Bold: human.On})
	}
	color := ""
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		color = "green"
	case code >= 300 && code < 400:
		color = "magenta"
	case code >= 400 && code < 600:
		color = "red"
	}
	blink := human.Off
	if resp.StatusCode == 418 {
		blink = human.On
	}
	code := p.style.Apply(strconv.Itoa(resp.StatusCode), human.Style{Fg: color, Bold: human.On, Blink: blink})

	reason := resp.Reason
	if resp.HTTPVersion == "HTTP/2.0" || resp.HTTPVersion == "HTTP/3" {
		reason = flow.ReasonPhrase(resp.StatusCode)
	}
	reason = p.style.Apply(human.EscapeControl(reason, true), human.Style{Fg: color, Bold: human.On})

	size := "(content missing)"
	if resp.RawContent != nil {
		size = human.PrettySize(int64(len(resp.RawContent)))
	}
	size = p.style.Apply(size, human.Style{Bold: human.On})

	version := ""
	if !isHTTP1(resp.HTTPVersion) || f.Request == nil || f.Request.HTTPVersion != resp.HTTPVersion {
		version = resp.HTTPVersion + " "
	}

	arrows := p.style.Apply(" <<", human.Style{Bold: human.On})
	if p.cfg.detail == 1 {
		// Line "<<" up under the method, as mitmproxy does.
		pad := utf8.RuneCountInString(clientAddress(&f.Flow)) - (2 + len(version) + len(replayStr))
		arrows = strings.Repeat(" ", max(0, pad)) + arrows
	}
	p.echo(replay+arrows+" "+version+code+" "+reason+" "+size, 0, human.Style{})
}

// KeepsFlows is false: it prints each flow before its hook returns (see addon.FlowKeeper).
func (d *Dumper) KeepsFlows() bool { return false }
