// Package filter implements mitmproxy's flow filter expressions: the `~`
// language of mitmdump's positional filter, --set view_filter,
// block_list, map_local and friends (mitmproxy/flowfilter.py).
//
//	~d example\.com & !~c 200     requests to example.com without a 200
//	~u /api ~m post               POSTs whose URL contains /api
//	~h "content-type: .*json"     a JSON header on either side
//
// Parse compiles an expression once; Filter.Match then tests flows
// (*flow.HTTPFlow or *flow.TCPFlow) without allocating in the common cases,
// so a filter can sit on the hot path of every request.
//
// The grammar, the operators and their semantics follow mitmproxy exactly,
// including its quirks: juxtaposition means "and" only at the top level, an
// operator must be followed by whitespace or the end (so "(~q)" is an error
// while "(~q )" is not), and regexes are Python regexes, searched anywhere
// in the subject and case-insensitive unless MITMPROXY_CASE_SENSITIVE_FILTERS=1.
// Python regexes are translated to Go's RE2 syntax (see RegexError for what
// cannot be).
package filter

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Filter is a compiled filter expression.
type Filter interface {
	// Match reports whether the flow matches. f is a *flow.HTTPFlow or a
	// *flow.TCPFlow; any other value matches only ~all (and negations).
	// Match is safe for concurrent use.
	Match(f any) bool
	// String describes the filter in words, as mitmproxy's str(filter):
	// "url matches /x/i and not has response".
	String() string
}

// Options control how Parse compiles an expression. The zero value is
// mitmproxy's default: case-insensitive regexes.
type Options struct {
	// CaseSensitive turns off the case-insensitive matching of regexes,
	// as mitmproxy's MITMPROXY_CASE_SENSITIVE_FILTERS=1 does.
	CaseSensitive bool
}

// CaseSensitiveEnv is the environment variable mitmproxy reads to make
// filter regexes case-sensitive (when it is "1").
const CaseSensitiveEnv = "MITMPROXY_CASE_SENSITIVE_FILTERS"

// OptionsFromEnv returns the Options mitmproxy would use given the process
// environment.
func OptionsFromEnv() Options {
	return Options{CaseSensitive: os.Getenv(CaseSensitiveEnv) == "1"}
}

// Parse compiles a filter expression with OptionsFromEnv. The error, a
// *SyntaxError, reads "Invalid filter expression: ..." and shows where the
// problem is.
func Parse(expr string) (Filter, error) {
	return ParseWith(expr, OptionsFromEnv())
}

// ParseWith compiles a filter expression with explicit options.
func ParseWith(expr string, opts Options) (Filter, error) {
	if expr == "" {
		return nil, &SyntaxError{Expr: expr, Offset: -1, Msg: "empty expression"}
	}
	p := &parser{src: expr, opts: opts}
	n, err := p.parse()
	if err != nil {
		return nil, err
	}
	return n, nil
}

// MustParse is Parse for expressions known to be valid (tests, constants);
// it panics on error.
func MustParse(expr string) Filter {
	f, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return f
}

// All returns the filter that matches every flow (mitmproxy's match_all,
// "~all").
func All() Filter { return &unaryNode{op: &ops[opAll]} }

// Match reports whether f matches flt; a nil filter matches everything, as
// mitmproxy's flowfilter.match(None, flow) does.
func Match(flt Filter, f any) bool {
	if flt == nil {
		return true
	}
	return flt.Match(f)
}

// SyntaxError is the error for an expression that does not compile.
type SyntaxError struct {
	// Expr is the whole expression.
	Expr string
	// Offset is the byte offset of the problem in Expr, or -1 when the
	// problem is the expression as a whole.
	Offset int
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error: a *RegexError for a bad regex.
	Err error
}

// Error renders "Invalid filter expression: <what> at column N" followed by
// the expression and a caret under the problem.
func (e *SyntaxError) Error() string {
	var sb strings.Builder
	sb.WriteString("Invalid filter expression: ")
	sb.WriteString(e.Msg)
	if e.Offset < 0 {
		return sb.String()
	}
	line, col, text := locate(e.Expr, e.Offset)
	if strings.ContainsAny(e.Expr, "\n") {
		fmt.Fprintf(&sb, " at line %d, column %d", line, col)
	} else {
		fmt.Fprintf(&sb, " at column %d", col)
	}
	shown, caret := caretLine(text, col)
	sb.WriteString("\n    ")
	sb.WriteString(shown)
	sb.WriteString("\n    ")
	sb.WriteString(caret)
	return sb.String()
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Column is the 1-based column (in characters) of the problem within its
// line, or 0 when there is no position.
func (e *SyntaxError) Column() int {
	if e.Offset < 0 {
		return 0
	}
	_, col, _ := locate(e.Expr, e.Offset)
	return col
}

// locate finds the line of s holding byte offset off: its 1-based number,
// the 1-based column of off in characters, and its text.
func locate(s string, off int) (line, col int, text string) {
	if off > len(s) {
		off = len(s)
	}
	start := strings.LastIndexByte(s[:off], '\n') + 1
	end := strings.IndexByte(s[start:], '\n')
	if end < 0 {
		end = len(s)
	} else {
		end += start
	}
	return strings.Count(s[:start], "\n") + 1, utf8.RuneCountInString(s[start:off]) + 1, s[start:end]
}

// caretLine renders a line for display, one column per character (control
// characters other than tab become '?'), windowed around col when long, and
// the line of spaces (tabs kept) with a caret under col.
func caretLine(text string, col int) (string, string) {
	runes := []rune(text)
	const width, context = 76, 36
	first, last := 0, len(runes)
	prefix, suffix := "", ""
	if len(runes) > width {
		first = max(0, col-1-context)
		last = min(len(runes), first+width)
		if last-first < width {
			first = max(0, last-width)
		}
		if first > 0 {
			prefix = "..."
		}
		if last < len(runes) {
			suffix = "..."
		}
	}
	var shown, caret strings.Builder
	shown.WriteString(prefix)
	caret.WriteString(strings.Repeat(" ", len(prefix)))
	for i := first; i < last; i++ {
		r := runes[i]
		if r != '\t' && (r < ' ' || r == 0x7f) {
			r = '?'
		}
		shown.WriteRune(r)
		if i < col-1 {
			if r == '\t' {
				caret.WriteByte('\t')
			} else {
				caret.WriteByte(' ')
			}
		}
	}
	shown.WriteString(suffix)
	caret.WriteByte('^')
	return shown.String(), caret.String()
}

// parser is a backtracking recursive-descent parser that accepts exactly
// what mitmproxy's pyparsing grammar accepts:
//
//	expr    = infix { infix }            juxtaposition: "and", top level only
//	infix   = and { "|" and }
//	and     = not { "&" not }
//	not     = "!" not | primary
//	primary = atom | "(" infix ")"
//	atom    = "~" op [arg] | regex       a bare regex is ~u
//	regex   = word | "..." | '...'
//
// An alternative that fails restores the position and lets the next one
// try, as pyparsing does; "a &" therefore parses as "a" and the word "&".
// A regex that does not compile ends the parse at once.
type parser struct {
	src  string
	pos  int
	opts Options
	// The farthest failure seen: the best guess at what the user got wrong.
	failPos int
	failMsg string
	depth   int // nesting of parentheses and "!"
}

func (p *parser) fail(pos int, msg string) {
	if p.failMsg == "" || pos > p.failPos {
		p.failPos, p.failMsg = pos, msg
	}
}

// isSpace is pyparsing's default whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWordByte reports whether c may be part of a bare regex word.
func isWordByte(c byte) bool {
	return !isSpace(c) && c != '(' && c != ')' && c != '~' && c != '\'' && c != '"'
}

// isPrintable is pyparsing's printables: what may not follow an operator.
func isPrintable(c byte) bool { return c >= 0x21 && c <= 0x7e }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) parse() (node, error) {
	var items []node
	for {
		save := p.pos
		n, ok, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pos = save
			break
		}
		items = append(items, n)
	}
	p.skipSpace()
	if len(items) > 0 && p.pos == len(p.src) {
		if len(items) == 1 {
			return items[0], nil
		}
		return &andNode{list: items}, nil
	}
	if p.failMsg == "" || p.pos > p.failPos {
		p.failPos, p.failMsg = p.pos, "unexpected "+describeAt(p.src, p.pos)
	}
	return nil, &SyntaxError{Expr: p.src, Offset: p.failPos, Msg: p.failMsg}
}

// describeAt names what is at pos, for error messages.
func describeAt(s string, pos int) string {
	if pos >= len(s) {
		return "the end of the expression"
	}
	r, _ := utf8.DecodeRuneInString(s[pos:])
	return strconv.QuoteRune(r)
}

// parseOr parses and-expressions joined by '|'.
func (p *parser) parseOr() (node, bool, error) {
	list, ok, err := p.parseJoined('|', p.parseAnd)
	if !ok || err != nil || len(list) == 1 {
		return first(list), ok, err
	}
	return &orNode{list: list}, true, nil
}

// parseAnd parses not-expressions joined by '&'.
func (p *parser) parseAnd() (node, bool, error) {
	list, ok, err := p.parseJoined('&', p.parseNot)
	if !ok || err != nil || len(list) == 1 {
		return first(list), ok, err
	}
	return &andNode{list: list}, true, nil
}

// parseJoined parses one or more operands (with next) joined by op. An op
// not followed by an operand is left unread.
func (p *parser) parseJoined(op byte, next func() (node, bool, error)) ([]node, bool, error) {
	n, ok, err := next()
	if !ok || err != nil {
		return nil, false, err
	}
	list := []node{n}
	for {
		save := p.pos
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != op {
			p.pos = save
			return list, true, nil
		}
		p.pos++
		n, ok, err := next()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			p.pos = save
			return list, true, nil
		}
		list = append(list, n)
	}
}

func first(list []node) node {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 1000

func (p *parser) parseNot() (node, bool, error) {
	save := p.pos
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '!' {
		if err := p.enter(); err != nil {
			return nil, false, err
		}
		p.pos++
		n, ok, err := p.parseNot()
		p.depth--
		if err != nil {
			return nil, false, err
		}
		if ok {
			return &notNode{n: n}, true, nil
		}
		// "!" not followed by an operand: pyparsing then reads it as the
		// start of a bare regex.
	}
	p.pos = save
	return p.parsePrimary()
}

// enter counts one level of nesting, failing beyond maxDepth.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return &SyntaxError{Expr: p.src, Offset: p.pos, Msg: "expression nested too deeply"}
	}
	return nil
}

func (p *parser) parsePrimary() (node, bool, error) {
	p.skipSpace()
	start := p.pos
	n, ok, err := p.parseAtom()
	if ok || err != nil {
		return n, ok, err
	}
	p.pos = start
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		if err := p.enter(); err != nil {
			return nil, false, err
		}
		defer func() { p.depth-- }()
		p.pos++
		inner, ok, err := p.parseOr()
		if err != nil {
			return nil, false, err
		}
		if ok {
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == ')' {
				p.pos++
				return inner, true, nil
			}
			if p.pos >= len(p.src) {
				p.fail(p.pos, fmt.Sprintf(`missing ")" (opened at column %d)`, utf8.RuneCountInString(p.src[:start])+1))
			} else {
				p.fail(p.pos, `expected "&", "|" or ")" (inside parentheses, filters must be joined with & or |)`)
			}
		}
		p.pos = start
		return nil, false, nil
	}
	p.fail(start, "unexpected "+describeAt(p.src, start))
	return nil, false, nil
}

// parseAtom parses an operator with its argument, or a bare regex.
func (p *parser) parseAtom() (node, bool, error) {
	p.skipSpace()
	start := p.pos
	if start >= len(p.src) {
		p.fail(start, "expected a filter, found the end of the expression")
		return nil, false, nil
	}
	if p.src[start] != '~' {
		tok, ok := p.regexToken("expected a filter")
		if !ok {
			return nil, false, nil
		}
		rx, err := p.compile(tok, &ops[opURL])
		if err != nil {
			return nil, false, err
		}
		return &rexNode{op: &ops[opURL], rx: rx}, true, nil
	}
	// An operator ends where printable ASCII ends (pyparsing's WordEnd).
	end := start + 1
	for end < len(p.src) && isPrintable(p.src[end]) {
		end++
	}
	code := p.src[start+1 : end]
	op := lookupOp(code)
	if op == nil {
		p.fail(start, unknownOpMessage(code))
		return nil, false, nil
	}
	p.pos = end
	switch op.arg {
	case argNone:
		return &unaryNode{op: op}, true, nil
	case argInt:
		p.skipSpace()
		ds := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if p.pos == ds {
			p.fail(ds, fmt.Sprintf("~%s expects a status code (digits), found %s", op.code, describeAt(p.src, ds)))
			p.pos = start
			return nil, false, nil
		}
		return newCodeNode(p.src[ds:p.pos]), true, nil
	}
	tok, ok := p.regexToken("~" + op.code + " expects a regex")
	if !ok {
		p.pos = start
		return nil, false, nil
	}
	rx, err := p.compile(tok, op)
	if err != nil {
		return nil, false, err
	}
	return &rexNode{op: op, rx: rx}, true, nil
}

func unknownOpMessage(code string) string {
	// "~q)" is the common case: a known operator run into punctuation.
	for i := len(code) - 1; i > 0; i-- {
		if lookupOp(code[:i]) != nil && !isASCIILetter(rune(code[i])) {
			return fmt.Sprintf(`"~%s" must be followed by whitespace or the end of the expression, not %s`, code[:i], strconv.QuoteRune(rune(code[i])))
		}
	}
	if code == "" {
		return `"~" must be followed by an operator name`
	}
	return fmt.Sprintf("unknown operator %s", strconv.Quote("~"+code))
}

// token is a regex argument as written: its text after unquoting, and the
// source offset of each byte of the text (for error positions).
type token struct {
	text  string
	start int   // offset of the token in the expression
	offs  []int // per byte of text; nil when text is the source itself
}

func (t token) srcOffset(i int) int {
	if t.offs == nil {
		return t.start + i
	}
	if i >= len(t.offs) {
		if len(t.offs) == 0 {
			return t.start + 1
		}
		return t.offs[len(t.offs)-1] + 1
	}
	return t.offs[i]
}

// regexToken reads a bare word or a quoted string at the position.
// what names the expected argument in the error for a missing one.
func (p *parser) regexToken(what string) (token, bool) {
	p.skipSpace()
	start := p.pos
	if start >= len(p.src) {
		p.fail(start, what+", found the end of the expression")
		return token{}, false
	}
	q := p.src[start]
	if q != '"' && q != '\'' {
		end := start
		for end < len(p.src) && isWordByte(p.src[end]) {
			end++
		}
		if end == start {
			msg := what + ", found " + describeAt(p.src, start)
			switch c := p.src[start]; {
			case c == ')' && !strings.HasPrefix(what, "~"):
				msg = "unexpected ')'"
			case c == '(' || c == ')':
				msg += " (quote a regex that contains parentheses or spaces)"
			}
			p.fail(start, msg)
			return token{}, false
		}
		p.pos = end
		return token{text: p.src[start:end], start: start}, true
	}
	// pyparsing's QuotedString with a backslash escape: \t \n \f \r are
	// whitespace, any other escaped character stands for itself, and the
	// string may not span lines.
	var buf []byte
	var offs []int
	i := start + 1
	for {
		if i >= len(p.src) {
			p.fail(start, "unterminated quoted string")
			return token{}, false
		}
		c := p.src[i]
		switch {
		case c == q:
			p.pos = i + 1
			return token{text: string(buf), start: start, offs: offs}, true
		case c == '\n' || c == '\r':
			p.fail(start, "unterminated quoted string (a quoted string cannot span lines; write \\n)")
			return token{}, false
		case c == '\\':
			if i+1 >= len(p.src) || p.src[i+1] == '\n' {
				p.fail(start, "unterminated quoted string")
				return token{}, false
			}
			e := p.src[i+1]
			switch e {
			case 't':
				buf, offs = append(buf, '\t'), append(offs, i)
				i += 2
				continue
			case 'n':
				buf, offs = append(buf, '\n'), append(offs, i)
				i += 2
				continue
			case 'f':
				buf, offs = append(buf, '\f'), append(offs, i)
				i += 2
				continue
			case 'r':
				buf, offs = append(buf, '\r'), append(offs, i)
				i += 2
				continue
			}
			_, size := utf8.DecodeRuneInString(p.src[i+1:])
			for k := 0; k < size; k++ {
				buf, offs = append(buf, p.src[i+1+k]), append(offs, i)
			}
			i += 1 + size
		default:
			buf, offs = append(buf, c), append(offs, i)
			i++
		}
	}
}

// compile compiles a regex argument for op.
func (p *parser) compile(tok token, op *opInfo) (*pyRegex, error) {
	flags := op.flags
	if !p.opts.CaseSensitive {
		flags |= flagI
	}
	rx, err := compilePy(tok.text, op.bytes, flags)
	if err != nil {
		re := err.(*RegexError)
		return nil, &SyntaxError{
			Expr:   p.src,
			Offset: tok.srcOffset(re.Offset),
			Msg:    fmt.Sprintf("%s in regex %s", re.Msg, strconv.Quote(tok.text)),
			Err:    err,
		}
	}
	return rx, nil
}

// Optional holds the filter of an option that may be unset. Flows read it
// while Configure replaces it, so it is swapped atomically.
type Optional struct{ p atomic.Pointer[Filter] }

// Set parses expr; "" unsets the filter. On an error the current filter
// stays.
func (o *Optional) Set(expr string) error {
	if expr == "" {
		o.p.Store(nil)
		return nil
	}
	f, err := Parse(expr)
	if err != nil {
		return err
	}
	o.p.Store(&f)
	return nil
}

// Get returns the filter, nil when unset (Match takes nil as matching
// every flow).
func (o *Optional) Get() Filter {
	if p := o.p.Load(); p != nil {
		return *p
	}
	return nil
}
