package filter

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/flow"
)

type opKind uint8

// The operators, in the order of mitmproxy's help table sections.
const (
	opAsset opKind = iota
	opErr
	opHTTP
	opMarked
	opReplay
	opReplayQ
	opReplayS
	opReq
	opResp
	opTCP
	opUDP
	opDNS
	opWebSocket
	opAll

	opBody
	opBodyReq
	opBodyResp
	opCT
	opCTReq
	opCTResp
	opDomain
	opDst
	opHead
	opHeadReq
	opHeadResp
	opMethod
	opSrc
	opURL
	opMeta
	opMarker
	opComment

	opCode

	numOps
)

type argKind uint8

const (
	argNone argKind = iota
	argRegex
	argInt
)

// opInfo describes one operator.
type opInfo struct {
	kind opKind
	code string // without the "~"
	arg  argKind
	// bytes: mitmproxy compiles the pattern as bytes (UTF-8) and searches
	// bytes; otherwise as str.
	bytes bool
	flags reFlags // besides IGNORECASE
	help  string  // mitmproxy's help text
	desc  string  // str(): the phrase, or the prefix before the regex
}

var ops = [numOps]opInfo{
	opAsset:     {code: "a", help: "Match asset in response: CSS, JavaScript, images, fonts.", desc: "is asset"},
	opErr:       {code: "e", help: "Match error", desc: "has error"},
	opHTTP:      {code: "http", help: "Match HTTP flows", desc: "is an HTTP Flow"},
	opMarked:    {code: "marked", help: "Match marked flows", desc: "is marked"},
	opReplay:    {code: "replay", help: "Match replayed flows", desc: "flow has been replayed"},
	opReplayQ:   {code: "replayq", help: "Match replayed client request", desc: "request has been replayed"},
	opReplayS:   {code: "replays", help: "Match replayed server response", desc: "response has been replayed"},
	opReq:       {code: "q", help: "Match request with no response", desc: "has no response"},
	opResp:      {code: "s", help: "Match response", desc: "has response"},
	opTCP:       {code: "tcp", help: "Match TCP flows", desc: "is a TCP Flow"},
	opUDP:       {code: "udp", help: "Match UDP flows", desc: "is a UDP Flow"},
	opDNS:       {code: "dns", help: "Match DNS flows", desc: "is a DNS Flow"},
	opWebSocket: {code: "websocket", help: "Match WebSocket flows", desc: "is a Websocket Flow"},
	opAll:       {code: "all", help: "Match all flows", desc: "all flows"},

	opBody:     {code: "b", arg: argRegex, bytes: true, flags: flagS, help: "Body", desc: "body matches"},
	opBodyReq:  {code: "bq", arg: argRegex, bytes: true, flags: flagS, help: "Request body", desc: "req. body matches"},
	opBodyResp: {code: "bs", arg: argRegex, bytes: true, flags: flagS, help: "Response body", desc: "resp. body matches"},
	opCT:       {code: "t", arg: argRegex, bytes: true, help: "Content-type header", desc: "content type matches"},
	opCTReq:    {code: "tq", arg: argRegex, bytes: true, help: "Request Content-Type header", desc: "req. content type matches"},
	opCTResp:   {code: "ts", arg: argRegex, bytes: true, help: "Response Content-Type header", desc: "resp. content type matches"},
	opDomain:   {code: "d", arg: argRegex, help: "Domain", desc: "domain matches"},
	opDst:      {code: "dst", arg: argRegex, help: "Match destination address", desc: "destination address matches"},
	opHead:     {code: "h", arg: argRegex, bytes: true, flags: flagM, help: "Header", desc: "header matches"},
	opHeadReq:  {code: "hq", arg: argRegex, bytes: true, flags: flagM, help: "Request header", desc: "req. header matches"},
	opHeadResp: {code: "hs", arg: argRegex, bytes: true, flags: flagM, help: "Response header", desc: "resp. header matches"},
	opMethod:   {code: "m", arg: argRegex, bytes: true, help: "Method", desc: "method matches"},
	opSrc:      {code: "src", arg: argRegex, help: "Match source address", desc: "source address matches"},
	opURL:      {code: "u", arg: argRegex, help: "URL", desc: "url matches"},
	opMeta:     {code: "meta", arg: argRegex, flags: flagM, help: "Flow metadata", desc: "metadata matches"},
	opMarker:   {code: "marker", arg: argRegex, help: "Match marked flows with specified marker", desc: "marker matches"},
	opComment:  {code: "comment", arg: argRegex, flags: flagM, help: "Flow comment", desc: "comment matches"},

	opCode: {code: "c", arg: argInt, help: "HTTP response code", desc: "resp. code is"},
}

func init() {
	for i := range ops {
		ops[i].kind = opKind(i)
	}
}

// lookupOp finds an operator by its code (without "~").
func lookupOp(code string) *opInfo {
	for i := range ops {
		if ops[i].code == code {
			return &ops[i]
		}
	}
	return nil
}

// HelpEntry is one row of the filter help: the syntax and what it matches.
type HelpEntry struct {
	Expr string // e.g. "~h regex"
	Help string
}

// Help returns mitmproxy's filter help table, sorted as mitmproxy sorts it,
// followed by the operators.
func Help() []HelpEntry {
	var out []HelpEntry
	for i := range ops {
		op := &ops[i]
		e := HelpEntry{Expr: "~" + op.code, Help: op.help}
		switch op.arg {
		case argRegex:
			e.Expr += " regex"
		case argInt:
			e.Expr += " int"
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b HelpEntry) int {
		return cmp.Or(cmp.Compare(a.Expr, b.Expr), cmp.Compare(a.Help, b.Help))
	})
	return append(out,
		HelpEntry{"!", "unary not"},
		HelpEntry{"&", "and"},
		HelpEntry{"|", "or"},
		HelpEntry{"(...)", "grouping"},
	)
}

// node is a filter tree node.
type node interface {
	Filter
	dump(sb *strings.Builder, indent int)
}

// baseFlow returns the common part of the flow types this package knows.
func baseFlow(f any) *flow.Flow {
	switch x := f.(type) {
	case *flow.HTTPFlow:
		if x != nil {
			return &x.Flow
		}
	case *flow.TCPFlow:
		if x != nil {
			return &x.Flow
		}
	case *flow.DNSFlow:
		if x != nil {
			return &x.Flow
		}
	case *flow.UDPFlow:
		if x != nil {
			return &x.Flow
		}
	}
	return nil
}

// flowAs is f when it is a (non-nil) *T, else nil.
func flowAs[T any](f any) *T {
	if x, ok := f.(*T); ok && x != nil {
		return x
	}
	return nil
}

func dnsFlow(f any) *flow.DNSFlow   { return flowAs[flow.DNSFlow](f) }
func udpFlow(f any) *flow.UDPFlow   { return flowAs[flow.UDPFlow](f) }
func httpFlow(f any) *flow.HTTPFlow { return flowAs[flow.HTTPFlow](f) }
func tcpFlow(f any) *flow.TCPFlow   { return flowAs[flow.TCPFlow](f) }

// unaryNode is an operator without an argument.
type unaryNode struct{ op *opInfo }

func (n *unaryNode) String() string { return n.op.desc }

func (n *unaryNode) Match(f any) bool {
	switch n.op.kind {
	case opAll:
		return true
	case opHTTP:
		return httpFlow(f) != nil
	case opTCP:
		return tcpFlow(f) != nil
	case opUDP:
		return udpFlow(f) != nil
	case opDNS:
		return dnsFlow(f) != nil
	case opWebSocket:
		h := httpFlow(f)
		return h != nil && h.WebSocket != nil
	case opReq:
		if d := dnsFlow(f); d != nil {
			return d.Response == nil
		}
		h := httpFlow(f)
		return h != nil && h.Response == nil
	case opResp:
		if d := dnsFlow(f); d != nil {
			return d.Response != nil
		}
		h := httpFlow(f)
		return h != nil && h.Response != nil
	case opAsset:
		h := httpFlow(f)
		return h != nil && h.Response != nil && isAsset(h.Response.Headers)
	}
	b := baseFlow(f)
	if b == nil {
		return false
	}
	switch n.op.kind {
	case opErr:
		return b.Error != nil
	case opMarked:
		return b.Marked() != ""
	case opReplay:
		return b.IsReplay != ""
	case opReplayQ:
		return b.IsReplay == "request"
	case opReplayS:
		return b.IsReplay == "response"
	}
	return false
}

// assetTypes are mitmproxy's asset Content-Types. They are searched
// case-sensitively and unanchored; each pattern is a literal prefix plus
// ".*", so a substring test is equivalent.
var assetTypes = [...]string{
	"text/javascript",
	"application/x-javascript",
	"application/javascript",
	"text/css",
	"image/",
	"font/",
	"application/font",
}

func isAsset(h flow.Headers) bool {
	for _, f := range h {
		if !isContentType(f.Name) {
			continue
		}
		for _, t := range assetTypes {
			if strings.Contains(f.Value, t) {
				return true
			}
		}
	}
	return false
}

// isContentType compares a header name as mitmproxy does: ASCII lowercase.
func isContentType(name string) bool {
	const ct = "content-type"
	if len(name) != len(ct) {
		return false
	}
	for i := 0; i < len(ct); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != ct[i] {
			return false
		}
	}
	return true
}

// rexNode is an operator with a regex argument.
type rexNode struct {
	op *opInfo
	rx *pyRegex
}

func (n *rexNode) String() string { return n.op.desc + " " + n.rx.String() }

func (n *rexNode) Match(f any) bool {
	rx := n.rx
	switch n.op.kind {
	case opBody, opBodyReq, opBodyResp:
		return n.matchBody(f)
	case opCT, opCTReq, opCTResp:
		h := httpFlow(f)
		if h == nil {
			return false
		}
		if n.op.kind != opCTResp && h.Request != nil && matchContentType(rx, h.Request.Headers) {
			return true
		}
		return n.op.kind != opCTReq && h.Response != nil && matchContentType(rx, h.Response.Headers)
	case opHead, opHeadReq, opHeadResp:
		h := httpFlow(f)
		if h == nil {
			return false
		}
		if n.op.kind != opHeadResp && h.Request != nil && matchHeaders(rx, h.Request.Headers) {
			return true
		}
		return n.op.kind != opHeadReq && h.Response != nil && matchHeaders(rx, h.Response.Headers)
	case opMethod:
		h := httpFlow(f)
		return h != nil && h.Request != nil && rx.matchString(h.Request.Method)
	case opDomain:
		h := httpFlow(f)
		return h != nil && h.Request != nil && matchDomain(rx, h.Request)
	case opURL:
		if d := dnsFlow(f); d != nil {
			// A DNS flow's "URL" is its first question's name.
			return d.Request != nil && len(d.Request.Questions) > 0 && rx.matchString(d.Request.Questions[0].Name)
		}
		h := httpFlow(f)
		return h != nil && h.Request != nil && matchURL(rx, h.Request)
	}
	b := baseFlow(f)
	if b == nil {
		return false
	}
	switch n.op.kind {
	case opSrc:
		return b.ClientConn != nil && matchAddress(rx, b.ClientConn.Peername)
	case opDst:
		return b.ServerConn != nil && matchAddress(rx, b.ServerConn.Address)
	case opMarker:
		return rx.matchString(b.Marked())
	case opComment:
		return rx.matchString(b.Comment())
	case opMeta:
		return matchMetadata(rx, &b.Metadata)
	}
	return false
}

// matchBody implements ~b, ~bq and ~bs: decoded message bodies (raw when
// they do not decode), then WebSocket or TCP messages from the right side.
func (n *rexNode) matchBody(f any) bool {
	wantReq := n.op.kind != opBodyResp
	wantResp := n.op.kind != opBodyReq
	if h := httpFlow(f); h != nil {
		if wantReq && h.Request != nil && h.Request.RawContent != nil && n.rx.match(h.Request.ContentOrRaw()) {
			return true
		}
		if wantResp && h.Response != nil && h.Response.RawContent != nil && n.rx.match(h.Response.ContentOrRaw()) {
			return true
		}
		if h.WebSocket != nil {
			for _, m := range h.WebSocket.Messages {
				if m != nil && (m.FromClient && wantReq || !m.FromClient && wantResp) && n.rx.match(m.Content) {
					return true
				}
			}
		}
		return false
	}
	if t := tcpFlow(f); t != nil {
		for _, m := range t.Messages {
			if m != nil && (m.FromClient && wantReq || !m.FromClient && wantResp) && n.rx.match(m.Content) {
				return true
			}
		}
	}
	if u := udpFlow(f); u != nil {
		for _, m := range u.Messages {
			if m != nil && (m.FromClient && wantReq || !m.FromClient && wantResp) && n.rx.match(m.Content) {
				return true
			}
		}
	}
	if d := dnsFlow(f); d != nil {
		// mitmproxy searches str(message): the question names and the
		// records' data, one a line.
		if wantReq && d.Request != nil && n.rx.match([]byte(d.Request.String())) {
			return true
		}
		if wantResp && d.Response != nil && n.rx.match([]byte(d.Response.String())) {
			return true
		}
	}
	return false
}

func matchContentType(rx *pyRegex, h flow.Headers) bool {
	for _, f := range h {
		if isContentType(f.Name) && rx.matchString(f.Value) {
			return true
		}
	}
	return false
}

// matchHeaders searches the "name: value\r\n" block of h, rendered into a
// pooled buffer.
func matchHeaders(rx *pyRegex, h flow.Headers) bool {
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	for _, f := range h {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	*bp = b
	return rx.match(b)
}

// matchDomain searches request.host, then request.pretty_host. The Host
// header is usually identical to the host or a plain name, which is checked
// without building pretty_host.
func matchDomain(rx *pyRegex, r *flow.Request) bool {
	if rx.matchString(r.Host) {
		return true
	}
	auth := r.HostHeader()
	if auth == "" || auth == r.Host {
		return false // pretty_host is the host
	}
	if !strings.ContainsAny(auth, ":[]") {
		return rx.matchString(auth) // pretty_host is the header as it is
	}
	ph := r.PrettyHost()
	return ph != r.Host && rx.matchString(ph)
}

// matchURL searches request.pretty_url, built in a pooled buffer.
func matchURL(rx *pyRegex, r *flow.Request) bool {
	if r.Method == "CONNECT" {
		return rx.matchString(r.Authority)
	}
	bp := getBuf()
	defer putBuf(bp)
	b, ok := appendPrettyURL(*bp, r)
	*bp = b
	if !ok {
		return rx.matchString(r.PrettyURL())
	}
	return rx.match(b)
}

// appendPrettyURL appends what r.PrettyURL() returns for a request that is
// not a CONNECT, for the common forms of the Host header (none, "name" and
// "name:port"). For anything else ok is false and the caller falls back to
// PrettyURL.
func appendPrettyURL(dst []byte, r *flow.Request) ([]byte, bool) {
	host, port := r.Host, r.Port
	if auth := r.HostHeader(); auth != "" {
		if strings.ContainsAny(auth, "[]") {
			return dst, false
		}
		h, p, found := strings.Cut(auth, ":")
		host, port = h, defaultPort(r.Scheme)
		if found {
			if strings.IndexByte(p, ':') >= 0 || len(p) > 5 {
				return dst, false
			}
			if p != "" {
				n := 0
				for i := 0; i < len(p); i++ {
					if p[i] < '0' || p[i] > '9' {
						return dst, false
					}
					n = n*10 + int(p[i]-'0')
				}
				port = n
			}
		}
	}
	dst = append(dst, r.Scheme...)
	dst = append(dst, "://"...)
	bracket := strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[")
	if bracket {
		dst = append(dst, '[')
	}
	dst = append(dst, host...)
	if bracket {
		dst = append(dst, ']')
	}
	if port != defaultPort(r.Scheme) {
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(port), 10)
	}
	return append(dst, r.Path...), true
}

func defaultPort(scheme string) int {
	if scheme == "https" || scheme == "wss" {
		return 443
	}
	return 80
}

// matchAddress searches "host:port", as mitmproxy formats an address tuple
// (IPv6 hosts are not bracketed).
func matchAddress(rx *pyRegex, a flow.Address) bool {
	if a.IsZero() {
		return false
	}
	bp := getBuf()
	defer putBuf(bp)
	b := append(*bp, a.Host...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(a.Port), 10)
	*bp = b
	return rx.match(b)
}

// matchMetadata searches the metadata as "key: value" lines, values
// rendered with Python's str().
func matchMetadata(rx *pyRegex, m *flow.Metadata) bool {
	var sb strings.Builder
	n := 0
	line := func(k string, v any) {
		if n > 0 {
			sb.WriteByte('\n')
		}
		n++
		sb.WriteString(k)
		sb.WriteString(": ")
		writePyValueStr(&sb, v)
	}
	seen := 0
	for _, k := range m.Keys {
		if v, ok := m.Values[k]; ok {
			line(k, v)
			seen++
		}
	}
	if seen < len(m.Values) {
		// Values set without Set (so missing from Keys) come last, sorted.
		var extra []string
		for k := range m.Values {
			found := false
			for _, kk := range m.Keys {
				if kk == k {
					found = true
					break
				}
			}
			if !found {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		for _, k := range extra {
			line(k, m.Values[k])
		}
	}
	return rx.matchString(sb.String())
}

// codeNode is ~c.
type codeNode struct {
	code   int
	digits string // as displayed: Python's int() without leading zeros
	valid  bool   // false when the number cannot be a status code
}

func newCodeNode(digits string) *codeNode {
	d := strings.TrimLeft(digits, "0")
	if d == "" {
		d = "0"
	}
	n, err := strconv.Atoi(d)
	return &codeNode{code: n, digits: d, valid: err == nil}
}

func (n *codeNode) String() string { return ops[opCode].desc + " " + n.digits }

func (n *codeNode) Match(f any) bool {
	h := httpFlow(f)
	return n.valid && h != nil && h.Response != nil && h.Response.StatusCode == n.code
}

type andNode struct{ list []node }

func (n *andNode) Match(f any) bool {
	for _, c := range n.list {
		if !c.Match(f) {
			return false
		}
	}
	return true
}

func (n *andNode) String() string { return joinNodes(n.list, " and ") }

type orNode struct{ list []node }

func (n *orNode) Match(f any) bool {
	for _, c := range n.list {
		if c.Match(f) {
			return true
		}
	}
	return false
}

func (n *orNode) String() string { return joinNodes(n.list, " or ") }

type notNode struct{ n node }

func (n *notNode) Match(f any) bool { return !n.n.Match(f) }

func (n *notNode) String() string { return "not " + parenthesize(n.n) }

func joinNodes(list []node, sep string) string {
	parts := make([]string, len(list))
	for i, c := range list {
		parts[i] = parenthesize(c)
	}
	return strings.Join(parts, sep)
}

func parenthesize(n node) string {
	switch n.(type) {
	case *andNode, *orNode:
		return "(" + n.String() + ")"
	}
	return n.String()
}

// Tree dumps, for golden tests and debugging: one node per line, children
// indented, regex nodes with their Go translation.

func dump(n node) string {
	var sb strings.Builder
	n.dump(&sb, 0)
	return sb.String()
}

func writeIndent(sb *strings.Builder, indent int) {
	for i := 0; i < indent; i++ {
		sb.WriteString("  ")
	}
}

func (n *unaryNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("~" + n.op.code + "\n")
}

func (n *rexNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("~" + n.op.code + " " + strconv.Quote(n.rx.src) + " flags=" + n.rx.flags.display())
	if n.rx.latin1 {
		sb.WriteString(" bytewise")
	}
	sb.WriteString(" go=" + strconv.Quote(n.rx.goSrc))
	if pf := n.rx.pf; pf != nil {
		if pf.asciiOnly {
			sb.WriteString(" ascii")
		}
		if pf.whole {
			sb.WriteString(" literal")
		} else {
			sb.WriteString(" needs")
			for _, r := range pf.runs {
				sb.WriteString(" " + strconv.Quote(string(r.b)))
			}
		}
	}
	sb.WriteByte('\n')
}

func (n *codeNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("~c " + n.digits)
	if !n.valid {
		sb.WriteString(" (never matches)")
	}
	sb.WriteByte('\n')
}

func (n *andNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("and\n")
	for _, c := range n.list {
		c.dump(sb, indent+1)
	}
}

func (n *orNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("or\n")
	for _, c := range n.list {
		c.dump(sb, indent+1)
	}
}

func (n *notNode) dump(sb *strings.Builder, indent int) {
	writeIndent(sb, indent)
	sb.WriteString("not\n")
	n.n.dump(sb, indent+1)
}
