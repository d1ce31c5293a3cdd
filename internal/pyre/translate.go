package pyre

import (
	"cmp"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// This file translates Python `re` patterns into Go RE2 patterns. Where the
// two engines agree the pattern is passed through; where they differ in
// spelling or meaning it is rewritten; and the constructs RE2 cannot express
// (lookarounds, backreferences, conditionals, atomic groups, possessive
// quantifiers) are rejected with a clear error.
//
// Known differences that remain, all at the edges:
//   - \b and \B use ASCII word characters, also in str patterns, where Python
//     uses Unicode ones.
//   - $ without MULTILINE matches at the very end only, or, for a pattern
//     that is only searched (Options.Search), is rewritten to (?:\n?\z),
//     which matches Python's "end, or before a final newline" but consumes
//     that newline.
//   - Bytes patterns run on UTF-8 text, so '.' and negated classes consume a
//     whole UTF-8 character where Python consumes one byte. A bytes pattern
//     that names single high bytes (\x80 and up, or non-ASCII characters
//     inside [...]) is instead translated for byte-per-rune subjects
//     (Translation.Latin1, AppendLatin1), exactly as Python matches it.

// Flags are Python's regex flags (re.I, re.M, ...), as passed to re.compile
// or written inline ((?i)).
type Flags uint8

// Python's flags.
const (
	IgnoreCase Flags = 1 << iota // re.IGNORECASE
	Multiline                    // re.MULTILINE
	DotAll                       // re.DOTALL
	Verbose                      // re.VERBOSE
	ASCII                        // re.ASCII
	Unicode                      // re.UNICODE
	Locale                       // re.LOCALE

	typeFlags = ASCII | Unicode | Locale
)

var flagLetters = map[rune]Flags{'i': IgnoreCase, 'm': Multiline, 's': DotAll, 'x': Verbose, 'a': ASCII, 'u': Unicode, 'L': Locale}

// RegexError describes a Python regex that cannot be compiled, either
// because Python would reject it or because Go's RE2 engine cannot run it.
type RegexError struct {
	// Pattern is the regex as written.
	Pattern string
	// Offset is the byte offset of the problem in Pattern.
	Offset int
	// Msg is Python's description of the problem, or what is unsupported.
	Msg string
}

func (e *RegexError) Error() string {
	return fmt.Sprintf("%s at position %d in regex %s", e.Msg, e.Offset, strconv.Quote(e.Pattern))
}

// Options say how a pattern is compiled.
type Options struct {
	// Flags are the flags given to re.compile.
	Flags Flags
	// Bytes selects Python's bytes-pattern semantics (mitmproxy encodes the
	// pattern as UTF-8 for the filter operators that search bytes): ASCII
	// classes and case folding, no \u, \U, \N escapes, single-byte codes.
	Bytes bool
	// Search says the match is only tested, never used for its span or
	// groups: $ may then consume the final newline it matches before, and
	// groups are emitted unnamed.
	Search bool
}

// Translation is a Python pattern rewritten in Go's syntax.
type Translation struct {
	// Pattern is the Python pattern as written.
	Pattern string
	// Expr is the Go (RE2) pattern. Groups keep their number and, unless
	// Options.Search, their name as GroupName spells it for Go.
	Expr string
	// Flags are the flags in effect: those given plus the global inline
	// ones ((?i) at the start).
	Flags Flags
	// Latin1 says the pattern addresses single bytes: subjects must be
	// widened byte per rune (AppendLatin1) before matching.
	Latin1 bool
}

// Translate rewrites a Python pattern in Go's syntax. Its error is a
// *RegexError with Python's message, or one that says what Go cannot run.
func Translate(pattern string, opts Options) (Translation, error) {
	t := newTranslator(pattern, opts, false)
	expr, err := t.translate()
	if err == nil && t.needLatin1 {
		t = newTranslator(pattern, opts, true)
		expr, err = t.translate()
	}
	if err != nil {
		return Translation{}, err
	}
	return Translation{Pattern: pattern, Expr: expr, Flags: opts.Flags | t.global, Latin1: t.latin1}, nil
}

// Compile compiles the translation with Go's regexp package; a pattern
// that hits one of RE2's limits fails with a *RegexError.
func (tr Translation) Compile() (*regexp.Regexp, error) {
	re, err := regexp.Compile(tr.Expr)
	if err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = string(se.Code)
		}
		return nil, &RegexError{Pattern: tr.Pattern, Offset: 0, Msg: "cannot be run by Go's regexp engine: " + msg}
	}
	return re, nil
}

// GroupName is the name a Python group name has in the Go pattern: itself
// when Go accepts it (ASCII letters, digits and '_'), else "0" and the hex
// of its UTF-8 bytes, which no Python identifier can be, as none starts
// with a digit.
func GroupName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Sprintf("0%x", name)
		}
	}
	return name
}

// AppendLatin1 appends each byte of s as the UTF-8 encoding of the rune with
// that value, so that rune-based matching sees one rune per byte: the
// subject a Latin1 translation must be matched against.
func AppendLatin1[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return dst
}

// translator converts one Python pattern. It is a recursive-descent parser
// over Python's grammar (mirroring sre_parse) that writes Go syntax as it
// goes; both syntaxes are postfix, so a quantifier is appended after the item
// it repeats.
type translator struct {
	src   string
	chars []rune // the pattern as Python's parser sees it
	offs  []int  // byte offset in src of each char
	pos   int

	bytesPat bool // a bytes pattern: no \u, \U, \N; ASCII-only folding and classes
	latin1   bool // chars are bytes (and so are subjects)
	search   bool // Options.Search: $ may consume a final newline

	out        strings.Builder
	goI        bool // whether Go's i flag is currently on
	global     Flags
	names      map[string]bool
	groups     int
	depth      int // group nesting
	needLatin1 bool
	initial    Flags
}

func newTranslator(src string, opts Options, latin1 bool) *translator {
	t := &translator{src: src, bytesPat: opts.Bytes, latin1: latin1, search: opts.Search, initial: opts.Flags}
	if latin1 {
		for i := 0; i < len(src); i++ {
			t.chars = append(t.chars, rune(src[i]))
			t.offs = append(t.offs, i)
		}
	} else {
		for i, r := range src {
			t.chars = append(t.chars, r)
			t.offs = append(t.offs, i)
		}
	}
	t.offs = append(t.offs, len(src))
	return t
}

func (t *translator) errAt(pos int, format string, args ...any) error {
	if pos > len(t.chars) {
		pos = len(t.chars)
	}
	if pos < 0 {
		pos = 0
	}
	return &RegexError{Pattern: t.src, Offset: t.offs[pos], Msg: fmt.Sprintf(format, args...)}
}

func (t *translator) peek() (rune, bool) {
	if t.pos < len(t.chars) {
		return t.chars[t.pos], true
	}
	return 0, false
}

func (t *translator) peekIs(r rune) bool {
	c, ok := t.peek()
	return ok && c == r
}

// asciiMode reports whether classes and case folding are ASCII-only.
func (t *translator) asciiMode(fl Flags) bool {
	return t.bytesPat || fl&ASCII != 0
}

// goFold reports whether Go's i flag should be on under Python flags fl:
// Unicode case folding is left to Go; ASCII-only folding is spelled out.
func (t *translator) goFold(fl Flags) bool {
	return fl&IgnoreCase != 0 && !t.asciiMode(fl)
}

func (t *translator) translate() (string, error) {
	fl := t.initial
	var head strings.Builder
	t.goI = t.goFold(fl)
	if err := t.parseAlt(&fl, 0); err != nil {
		return "", err
	}
	if t.pos < len(t.chars) {
		// Only an unmatched ')' stops the top level early.
		return "", t.errAt(t.pos, "unbalanced parenthesis")
	}
	// Go flags for the start of the pattern.
	var gf string
	if t.goFold(t.initial) {
		gf += "i"
	}
	if t.initial&Multiline != 0 {
		gf += "m"
	}
	if t.initial&DotAll != 0 {
		gf += "s"
	}
	if gf != "" {
		head.WriteString("(?" + gf + ")")
	}
	return head.String() + t.out.String(), nil
}

// parseAlt parses branches separated by '|' up to ')' or the end. fl is the
// flag state; at the top level, global flags found in the first branch carry
// over to later ones.
func (t *translator) parseAlt(fl *Flags, depth int) error {
	first := depth == 0
	for {
		local := *fl
		if err := t.parseSeq(&local, first); err != nil {
			return err
		}
		if depth == 0 {
			// Global flags apply to the whole pattern.
			*fl |= t.global
			if t.global&typeFlags != 0 {
				*fl = *fl&^typeFlags | t.global&typeFlags
			}
		}
		first = false
		if t.peekIs('|') {
			t.pos++
			t.out.WriteByte('|')
			continue
		}
		return nil
	}
}

type itemKind int

const (
	itemNone   itemKind = iota // nothing yet: a quantifier has nothing to repeat
	itemAt                     // an anchor (^ $ \A \Z \b \B): not repeatable
	itemRepeat                 // a quantified item: another quantifier is an error
	itemPlain
)

const pyWhitespace = " \t\n\r\v\f"

// parseSeq parses one branch.
func (t *translator) parseSeq(fl *Flags, first bool) error {
	last := itemNone
	items := 0 // items so far, for the "global flags at the start" rule
	for t.pos < len(t.chars) {
		c := t.chars[t.pos]
		if c == '|' || c == ')' {
			return nil
		}
		start := t.pos
		if *fl&Verbose != 0 {
			if strings.ContainsRune(pyWhitespace, c) {
				t.pos++
				continue
			}
			if c == '#' {
				for t.pos < len(t.chars) && t.chars[t.pos] != '\n' {
					t.pos++
				}
				continue
			}
		}
		switch c {
		case '*', '+', '?', '{':
			q, ok, err := t.parseQuantifier()
			if err != nil {
				return err
			}
			if !ok {
				// A '{' that does not start a valid repeat is a literal.
				t.pos++
				t.emitLiteral('{', *fl)
				last = itemPlain
				items++
				continue
			}
			switch last {
			case itemNone, itemAt:
				return t.errAt(start, "nothing to repeat")
			case itemRepeat:
				return t.errAt(start, "multiple repeat")
			}
			t.out.WriteString(q)
			if t.peekIs('?') {
				t.pos++
				t.out.WriteByte('?')
			} else if t.peekIs('+') {
				return t.errAt(start, "possessive quantifiers (%s+) are not supported by Go's RE2 engine", string(t.chars[start:t.pos]))
			}
			last = itemRepeat
			continue
		case '.':
			t.pos++
			t.out.WriteByte('.')
			last = itemPlain
		case '^':
			t.pos++
			t.out.WriteByte('^')
			last = itemAt
		case '$':
			t.pos++
			switch {
			case *fl&Multiline != 0:
				t.out.WriteByte('$')
			case t.search:
				// Python's $ also matches before a newline at the end.
				t.out.WriteString(`(?:\n?\z)`)
			default:
				// RE2 has no lookahead to match before the newline without
				// taking it, which would change what re.sub replaces.
				t.out.WriteString(`\z`)
			}
			last = itemAt
		case '[':
			if err := t.parseClass(*fl); err != nil {
				return err
			}
			last = itemPlain
		case '(':
			kind, err := t.parseGroup(fl, first && items == 0)
			if err != nil {
				return err
			}
			switch kind {
			case groupNone:
				continue // comment or global flags: no item
			default:
				last = itemPlain
			}
		case '\\':
			k, err := t.parseEscape(*fl)
			if err != nil {
				return err
			}
			last = k
		default:
			t.pos++
			t.emitLiteral(c, *fl)
			last = itemPlain
		}
		items++
	}
	return nil
}

// parseQuantifier reads *, +, ?, or a {m,n} repeat at t.pos. ok is false for
// a '{' that is a literal; then t.pos is unchanged.
func (t *translator) parseQuantifier() (string, bool, error) {
	c := t.chars[t.pos]
	switch c {
	case '*', '+', '?':
		t.pos++
		return string(c), true, nil
	}
	start := t.pos
	p := t.pos + 1
	if p < len(t.chars) && t.chars[p] == '}' {
		return "", false, nil
	}
	digits := func() string {
		s := p
		for p < len(t.chars) && t.chars[p] >= '0' && t.chars[p] <= '9' {
			p++
		}
		return string(t.chars[s:p])
	}
	lo := digits()
	hi := lo
	comma := false
	if p < len(t.chars) && t.chars[p] == ',' {
		p++
		comma = true
		hi = digits()
	}
	if p >= len(t.chars) || t.chars[p] != '}' {
		return "", false, nil
	}
	p++
	t.pos = p
	const goMax = 1000 // RE2's repeat limit
	parse := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n > goMax {
			return 0, t.errAt(start, "repeat count %s is above %d, the limit of Go's RE2 engine", s, goMax)
		}
		return n, nil
	}
	min, max := 0, -1
	var err error
	if lo != "" {
		if min, err = parse(lo); err != nil {
			return "", false, err
		}
	}
	if hi != "" {
		if max, err = parse(hi); err != nil {
			return "", false, err
		}
		if max < min {
			return "", false, t.errAt(start, "min repeat greater than max repeat")
		}
	}
	switch {
	case !comma:
		return "{" + strconv.Itoa(min) + "}", true, nil
	case max < 0:
		return "{" + strconv.Itoa(min) + ",}", true, nil
	}
	return "{" + strconv.Itoa(min) + "," + strconv.Itoa(max) + "}", true, nil
}

type groupKind int

const (
	groupNone groupKind = iota
	groupItem
)

// parseGroup handles everything that starts with '('.
func (t *translator) parseGroup(fl *Flags, atStart bool) (groupKind, error) {
	start := t.pos
	t.pos++ // (
	if !t.peekIs('?') {
		t.groups++
		t.out.WriteByte('(')
		return groupItem, t.parseGroupBody(*fl, start)
	}
	t.pos++ // ?
	c, ok := t.peek()
	if !ok {
		return 0, t.errAt(t.pos, "unexpected end of pattern")
	}
	switch {
	case c == ':':
		t.pos++
		t.out.WriteString("(?:")
		return groupItem, t.parseGroupBody(*fl, start)
	case c == 'P':
		t.pos++
		c2, ok := t.peek()
		if !ok {
			return 0, t.errAt(t.pos, "unexpected end of pattern")
		}
		switch c2 {
		case '<':
			t.pos++
			name, err := t.groupName('>', "missing >, unterminated name")
			if err != nil {
				return 0, err
			}
			if t.names[name] {
				return 0, t.errAt(start, "redefinition of group name %s", pyrepr.Str(name))
			}
			if t.names == nil {
				t.names = map[string]bool{}
			}
			t.names[name] = true
			t.groups++
			if t.search {
				t.out.WriteByte('(')
			} else {
				// Go's naming rules are narrower than Python's: GroupName
				// spells the name so that re.sub templates still find it.
				t.out.WriteString("(?P<" + GroupName(name) + ">")
			}
			return groupItem, t.parseGroupBody(*fl, start)
		case '=':
			t.pos++
			name, err := t.groupName(')', "missing ), unterminated name")
			if err != nil {
				return 0, err
			}
			return 0, t.errAt(start, "backreferences such as (?P=%s) are not supported by Go's RE2 engine", name)
		}
		return 0, t.errAt(t.pos, "unknown extension ?P%c", c2)
	case c == '#':
		for {
			if t.pos >= len(t.chars) {
				return 0, t.errAt(start, "missing ), unterminated comment")
			}
			ch := t.chars[t.pos]
			t.pos++
			if ch == '\\' && t.pos < len(t.chars) {
				t.pos++
				continue
			}
			if ch == ')' {
				return groupNone, nil
			}
		}
	case c == '=' || c == '!':
		return 0, t.errAt(start, "lookahead assertions (?%c...) are not supported by Go's RE2 engine", c)
	case c == '<':
		t.pos++
		c2, ok := t.peek()
		if !ok {
			return 0, t.errAt(t.pos, "unexpected end of pattern")
		}
		if c2 == '=' || c2 == '!' {
			return 0, t.errAt(start, "lookbehind assertions (?<%c...) are not supported by Go's RE2 engine", c2)
		}
		return 0, t.errAt(t.pos, "unknown extension ?<%c", c2)
	case c == '(':
		return 0, t.errAt(start, "conditional groups (?(...)...) are not supported by Go's RE2 engine")
	case c == '>':
		return 0, t.errAt(start, "atomic groups (?>...) are not supported by Go's RE2 engine")
	case c == '-' || flagLetters[c] != 0:
		return t.parseFlags(fl, start, atStart)
	}
	return 0, t.errAt(t.pos, "unknown extension ?%c", c)
}

// groupName reads a group name up to end and validates it as Python does.
func (t *translator) groupName(end rune, unterminated string) (string, error) {
	s := t.pos
	for t.pos < len(t.chars) && t.chars[t.pos] != end {
		t.pos++
	}
	if t.pos >= len(t.chars) {
		return "", t.errAt(s, "%s", unterminated)
	}
	name := string(t.chars[s:t.pos])
	t.pos++
	if name == "" {
		return "", t.errAt(s, "missing group name")
	}
	if !isIdentifier(name) || (t.bytesPat && !isASCII(name)) {
		return "", t.errAt(s, "bad character in group name %s", pyrepr.Str(name))
	}
	return name, nil
}

func isIdentifier(s string) bool {
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r))) {
			continue
		}
		return false
	}
	return s != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseFlags handles (?aiLmsux) (global) and (?aiLmsux-imsx:...) (scoped).
func (t *translator) parseFlags(fl *Flags, start int, atStart bool) (groupKind, error) {
	var add, del Flags
	c := t.chars[t.pos]
	next := func() (rune, bool) {
		t.pos++
		return t.peek()
	}
	if c != '-' {
		for {
			f := flagLetters[c]
			if !t.bytesPat && c == 'L' {
				return 0, t.errAt(t.pos, "bad inline flag: cannot use 'L' flag with a str pattern")
			}
			if t.bytesPat && c == 'u' {
				return 0, t.errAt(t.pos, "bad inline flag: cannot use 'u' flag with a bytes pattern")
			}
			add |= f
			if f&typeFlags != 0 && add&typeFlags != f {
				return 0, t.errAt(t.pos, "bad inline flag: flags 'a', 'u' and 'L' are incompatible")
			}
			var ok bool
			if c, ok = next(); !ok {
				return 0, t.errAt(t.pos, "missing -, : or )")
			}
			if c == ')' || c == '-' || c == ':' {
				break
			}
			if flagLetters[c] == 0 {
				if unicode.IsLetter(c) {
					return 0, t.errAt(t.pos, "unknown flag")
				}
				return 0, t.errAt(t.pos, "missing -, : or )")
			}
		}
	}
	if c == ')' {
		t.pos++
		if !atStart {
			return 0, t.errAt(start, "global flags not at the start of the expression")
		}
		t.global |= add
		nf := *fl | add
		if add&typeFlags != 0 {
			nf = *fl&^typeFlags | add
		}
		*fl = nf
		// Go's flag group applies to the rest of the enclosing group, as
		// the global flag does here (it can only appear at the start).
		if g := t.goFold(nf); g != t.goI {
			if g {
				t.out.WriteString("(?i)")
			} else {
				t.out.WriteString("(?-i)")
			}
			t.goI = g
		}
		var gf string
		if add&Multiline != 0 {
			gf += "m"
		}
		if add&DotAll != 0 {
			gf += "s"
		}
		if gf != "" {
			t.out.WriteString("(?" + gf + ")")
		}
		return groupNone, nil
	}
	if c == '-' {
		var ok bool
		if c, ok = next(); !ok {
			return 0, t.errAt(t.pos, "missing flag")
		}
		if flagLetters[c] == 0 {
			if unicode.IsLetter(c) {
				return 0, t.errAt(t.pos, "unknown flag")
			}
			return 0, t.errAt(t.pos, "missing flag")
		}
		for {
			f := flagLetters[c]
			if f&typeFlags != 0 {
				return 0, t.errAt(t.pos, "bad inline flag: cannot turn off flags 'a', 'u' and 'L'")
			}
			del |= f
			if c, ok = next(); !ok {
				return 0, t.errAt(t.pos, "missing :")
			}
			if c == ':' {
				break
			}
			if flagLetters[c] == 0 {
				if unicode.IsLetter(c) {
					return 0, t.errAt(t.pos, "unknown flag")
				}
				return 0, t.errAt(t.pos, "missing :")
			}
		}
	}
	// c == ':'
	if add&del != 0 {
		return 0, t.errAt(t.pos, "bad inline flag: flag turned on and off")
	}
	t.pos++
	nf := *fl
	if add&typeFlags != 0 {
		nf &^= typeFlags
	}
	nf = (nf | add) &^ del
	// Emit Go's scoped flags for what changes in Go's view.
	var on, off string
	oldI, newI := t.goI, t.goFold(nf)
	if newI && !oldI {
		on += "i"
	} else if !newI && oldI {
		off += "i"
	}
	if nf&Multiline != 0 && *fl&Multiline == 0 {
		on += "m"
	} else if nf&Multiline == 0 && *fl&Multiline != 0 {
		off += "m"
	}
	if nf&DotAll != 0 && *fl&DotAll == 0 {
		on += "s"
	} else if nf&DotAll == 0 && *fl&DotAll != 0 {
		off += "s"
	}
	if on == "" && off == "" {
		t.out.WriteString("(?:")
	} else {
		t.out.WriteString("(?" + on)
		if off != "" {
			t.out.WriteString("-" + off)
		}
		t.out.WriteByte(':')
	}
	t.goI = newI
	err := t.parseGroupBody(nf, start)
	t.goI = oldI
	return groupItem, err
}

// maxGroupDepth is RE2's nesting limit; it also bounds the recursion here.
const maxGroupDepth = 1000

// parseGroupBody parses a group's branches and its closing ')'.
func (t *translator) parseGroupBody(fl Flags, start int) error {
	t.depth++
	defer func() { t.depth-- }()
	if t.depth > maxGroupDepth {
		return t.errAt(start, "groups nested more than %d deep are not supported by Go's RE2 engine", maxGroupDepth)
	}
	saveI := t.goI
	if err := t.parseAlt(&fl, 1); err != nil {
		return err
	}
	t.goI = saveI
	if !t.peekIs(')') {
		return t.errAt(start, "missing ), unterminated subpattern")
	}
	t.pos++
	t.out.WriteByte(')')
	return nil
}

// Character classes.

// runeRange is an inclusive range of runes.
type runeRange struct{ lo, hi rune }

// classItem is one element of a Python character class.
type classItem struct {
	r   runeRange
	cat rune // 0 for a literal/range; else the category letter d, D, s, S, w, W
}

// parseClass translates [...] at t.pos.
func (t *translator) parseClass(fl Flags) error {
	start := t.pos
	t.pos++ // [
	negate := false
	if t.peekIs('^') {
		negate = true
		t.pos++
	}
	var items []classItem
	for {
		if t.pos >= len(t.chars) {
			return t.errAt(start, "unterminated character set")
		}
		thisStart := t.pos
		c := t.chars[t.pos]
		t.pos++
		if c == ']' && len(items) > 0 {
			break
		}
		var it classItem
		if c == '\\' {
			var err error
			if it, err = t.classEscape(thisStart); err != nil {
				return err
			}
		} else {
			it = classItem{r: runeRange{c, c}}
		}
		if t.peekIs('-') {
			t.pos++
			if t.pos >= len(t.chars) {
				return t.errAt(start, "unterminated character set")
			}
			thatStart := t.pos
			c2 := t.chars[t.pos]
			t.pos++
			if c2 == ']' {
				items = append(items, it, classItem{r: runeRange{'-', '-'}})
				break
			}
			var it2 classItem
			if c2 == '\\' {
				var err error
				if it2, err = t.classEscape(thatStart); err != nil {
					return err
				}
			} else {
				it2 = classItem{r: runeRange{c2, c2}}
			}
			text := string(t.chars[thisStart:t.pos])
			if it.cat != 0 || it2.cat != 0 || it2.r.lo < it.r.lo {
				return t.errAt(thisStart, "bad character range %s", text)
			}
			items = append(items, classItem{r: runeRange{it.r.lo, it2.r.lo}})
			continue
		}
		items = append(items, it)
	}
	ascii := t.asciiMode(fl)
	if t.bytesPat && !t.latin1 {
		for _, it := range items {
			if it.cat == 0 && it.r.hi >= utf8.RuneSelf {
				// Python compares single bytes here; match byte-wise.
				t.needLatin1 = true
			}
		}
	}
	// A class that is just one category is written the short way.
	if len(items) == 1 && items[0].cat != 0 && !negate {
		t.out.WriteString(categoryOutside(items[0].cat, ascii))
		return nil
	}
	var ranges []runeRange
	var frags []string
	for _, it := range items {
		if it.cat == 0 {
			ranges = append(ranges, it.r)
			continue
		}
		if f, ok := categoryInClass(it.cat, ascii); ok {
			frags = append(frags, f)
		} else {
			// A negated Unicode category has no in-class spelling in Go;
			// spell out its ranges.
			ranges = append(ranges, categoryRanges(it.cat, ascii)...)
		}
	}
	if fl&IgnoreCase != 0 && ascii {
		ranges = foldASCII(ranges)
	}
	if t.goFold(fl) {
		for _, r := range ranges {
			if r.lo <= 'I' && r.hi >= 'I' || r.lo <= 'i' && r.hi >= 'i' || r.lo <= 0x131 && r.hi >= 0x130 {
				ranges = append(ranges, runeRange{'I', 'I'}, runeRange{'i', 'i'}, runeRange{0x130, 0x131})
				break
			}
		}
	}
	ranges = normalize(ranges)
	t.out.WriteByte('[')
	if negate {
		t.out.WriteByte('^')
	}
	for _, r := range ranges {
		writeClassRune(&t.out, r.lo)
		if r.hi != r.lo {
			if r.hi > r.lo+1 {
				t.out.WriteByte('-')
			}
			writeClassRune(&t.out, r.hi)
		}
	}
	for _, f := range frags {
		t.out.WriteString(f)
	}
	if len(ranges) == 0 && len(frags) == 0 {
		// Cannot happen for a Python class, which is never empty, but keep
		// the Go syntax valid regardless.
		t.out.WriteString(`\x{10FFFF}`)
	}
	t.out.WriteByte(']')
	return nil
}

// classEscape reads an escape inside a class; t.pos is just past the '\'.
func (t *translator) classEscape(start int) (classItem, error) {
	if t.pos >= len(t.chars) {
		return classItem{}, t.errAt(start, "bad escape (end of pattern)")
	}
	c := t.chars[t.pos]
	t.pos++
	switch c {
	case 'a':
		return lit(7), nil
	case 'b':
		return lit(8), nil
	case 'f':
		return lit('\f'), nil
	case 'n':
		return lit('\n'), nil
	case 'r':
		return lit('\r'), nil
	case 't':
		return lit('\t'), nil
	case 'v':
		return lit('\v'), nil
	case '\\':
		return lit('\\'), nil
	case 'd', 'D', 's', 'S', 'w', 'W':
		return classItem{cat: c}, nil
	case 'x', 'u', 'U', 'N':
		r, err := t.codeEscape(c, start)
		return lit(r), err
	}
	if c >= '0' && c <= '7' {
		v := c - '0'
		for i := 0; i < 2 && t.pos < len(t.chars) && t.chars[t.pos] >= '0' && t.chars[t.pos] <= '7'; i++ {
			v = v*8 + t.chars[t.pos] - '0'
			t.pos++
		}
		if v > 0o377 {
			return classItem{}, t.errAt(start, "octal escape value %s outside of range 0-0o377", string(t.chars[start:t.pos]))
		}
		return lit(v), nil
	}
	if c < utf8.RuneSelf && (isASCIILetter(c) || (c >= '0' && c <= '9')) {
		return classItem{}, t.errAt(start, "bad escape %s", string(t.chars[start:t.pos]))
	}
	return lit(c), nil
}

func lit(r rune) classItem { return classItem{r: runeRange{r, r}} }

// codeEscape reads \xhh, \uhhhh, \Uhhhhhhhh or \N{name} after the letter.
func (t *translator) codeEscape(c rune, start int) (rune, error) {
	n := 0
	switch c {
	case 'x':
		n = 2
	case 'u', 'U', 'N':
		if t.bytesPat {
			return 0, t.errAt(start, "bad escape \\%c", c)
		}
		if c == 'N' {
			return 0, t.errAt(start, "named Unicode escapes (\\N{...}) are not supported")
		}
		n = 4
		if c == 'U' {
			n = 8
		}
	}
	s := t.pos
	for t.pos < len(t.chars) && t.pos-s < n && isHex(t.chars[t.pos]) {
		t.pos++
	}
	text := string(t.chars[start:t.pos])
	if t.pos-s != n {
		return 0, t.errAt(start, "incomplete escape %s", text)
	}
	v, _ := strconv.ParseUint(string(t.chars[s:t.pos]), 16, 32)
	if v > unicode.MaxRune {
		return 0, t.errAt(start, "bad escape %s", text)
	}
	return rune(v), nil
}

func isHex(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// parseEscape translates an escape outside a class; t.pos is at the '\'.
func (t *translator) parseEscape(fl Flags) (itemKind, error) {
	start := t.pos
	t.pos++
	if t.pos >= len(t.chars) {
		return 0, t.errAt(start, "bad escape (end of pattern)")
	}
	c := t.chars[t.pos]
	t.pos++
	ascii := t.asciiMode(fl)
	switch c {
	case 'A':
		t.out.WriteString(`\A`)
		return itemAt, nil
	case 'Z', 'z':
		// Python's \Z is the end of the string: Go's \z. Python 3.14 also
		// accepts \z for it.
		t.out.WriteString(`\z`)
		return itemAt, nil
	case 'b':
		t.out.WriteString(`\b`)
		return itemAt, nil
	case 'B':
		t.out.WriteString(`\B`)
		return itemAt, nil
	case 'd', 'D', 's', 'S', 'w', 'W':
		t.out.WriteString(categoryOutside(c, ascii))
		return itemPlain, nil
	case 'a':
		t.emitLiteral(7, fl)
	case 'f':
		t.emitLiteral('\f', fl)
	case 'n':
		t.emitLiteral('\n', fl)
	case 'r':
		t.emitLiteral('\r', fl)
	case 't':
		t.emitLiteral('\t', fl)
	case 'v':
		t.emitLiteral('\v', fl)
	case '\\':
		t.emitLiteral('\\', fl)
	case 'x', 'u', 'U', 'N':
		r, err := t.codeEscape(c, start)
		if err != nil {
			return 0, err
		}
		t.emitCode(r, fl)
	case '0':
		v := rune(0)
		for i := 0; i < 2 && t.pos < len(t.chars) && t.chars[t.pos] >= '0' && t.chars[t.pos] <= '7'; i++ {
			v = v*8 + t.chars[t.pos] - '0'
			t.pos++
		}
		t.emitCode(v, fl)
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// An octal escape (three octal digits) or a group reference.
		if t.pos+1 < len(t.chars) && c <= '7' && isOct(t.chars[t.pos]) && isOct(t.chars[t.pos+1]) {
			v := (c-'0')*64 + (t.chars[t.pos]-'0')*8 + t.chars[t.pos+1] - '0'
			t.pos += 2
			if v > 0o377 {
				return 0, t.errAt(start, "octal escape value %s outside of range 0-0o377", string(t.chars[start:t.pos]))
			}
			t.emitCode(v, fl)
			return itemPlain, nil
		}
		if t.pos < len(t.chars) && t.chars[t.pos] >= '0' && t.chars[t.pos] <= '9' {
			t.pos++
		}
		ref := string(t.chars[start+1 : t.pos])
		n, _ := strconv.Atoi(ref)
		if n > t.groups {
			return 0, t.errAt(start+1, "invalid group reference %d", n)
		}
		return 0, t.errAt(start, "backreferences such as \\%s are not supported by Go's RE2 engine", ref)
	default:
		if c < utf8.RuneSelf && isASCIILetter(c) {
			return 0, t.errAt(start, "bad escape \\%c", c)
		}
		t.emitLiteral(c, fl)
	}
	return itemPlain, nil
}

func isOct(r rune) bool { return r >= '0' && r <= '7' }

// emitCode emits a character given by its code (\x, \u, octal). In a bytes
// pattern a code of 0x80 or more is a single byte.
func (t *translator) emitCode(r rune, fl Flags) {
	if t.bytesPat && !t.latin1 && r >= utf8.RuneSelf {
		t.needLatin1 = true
	}
	t.emitLiteral(r, fl)
}

// emitLiteral writes one literal character, folding ASCII letters by hand
// where Python folds only ASCII (bytes patterns and the ASCII flag).
func (t *translator) emitLiteral(r rune, fl Flags) {
	if fl&IgnoreCase != 0 && t.asciiMode(fl) && isASCIILetter(r) {
		lower, upper := unicode.ToLower(r), unicode.ToUpper(r)
		t.out.WriteByte('[')
		t.out.WriteRune(lower)
		t.out.WriteRune(upper)
		t.out.WriteByte(']')
		return
	}
	if t.goFold(fl) && isTurkicI(r) {
		t.out.WriteString(turkicIClass)
		return
	}
	if t.latin1 && r >= utf8.RuneSelf {
		fmt.Fprintf(&t.out, `\x{%x}`, r) // a byte: show it as one
		return
	}
	writeLiteralRune(&t.out, r)
}

// Python's case-insensitive matching treats i, I, İ (U+0130) and ı (U+0131)
// as one letter; Go's case folding keeps the Turkic dotted and dotless i
// apart, so the set is spelled out.
const turkicIClass = `[Iiİı]`

func isTurkicI(r rune) bool { return r == 'i' || r == 'I' || r == 0x130 || r == 0x131 }

func writeLiteralRune(sb *strings.Builder, r rune) {
	switch {
	case r < utf8.RuneSelf && strings.ContainsRune(`\.+*?()|[]{}^$`, r):
		sb.WriteByte('\\')
		sb.WriteRune(r)
	case r >= ' ' && r < 0x7f:
		sb.WriteRune(r)
	case r >= 0xA0 && r != utf8.RuneError && unicode.IsPrint(r):
		sb.WriteRune(r)
	default:
		fmt.Fprintf(sb, `\x{%x}`, r)
	}
}

func writeClassRune(sb *strings.Builder, r rune) {
	if r < utf8.RuneSelf && (isASCIILetter(r) || r >= '0' && r <= '9') {
		sb.WriteRune(r)
		return
	}
	fmt.Fprintf(sb, `\x{%x}`, r)
}

// Categories (\d \s \w and their negations).

// Python's Unicode \s: ASCII whitespace including \v and \x1c-\x1f, \x85 and
// the Unicode separators (Zs, Zl, Zp).
const (
	uniSpaceInClass   = `\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}`
	uniWordInClass    = `\p{L}\p{N}_`
	asciiSpaceInClass = `\t\n\v\f\r `
	asciiWordInClass  = `0-9A-Za-z_`
)

// categoryOutside spells a category as a standalone Go item.
func categoryOutside(cat rune, ascii bool) string {
	if ascii {
		switch cat {
		case 'd':
			return `[0-9]`
		case 'D':
			return `[^0-9]`
		case 's':
			return `[` + asciiSpaceInClass + `]`
		case 'S':
			return `[^` + asciiSpaceInClass + `]`
		case 'w':
			return `[` + asciiWordInClass + `]`
		case 'W':
			return `[^` + asciiWordInClass + `]`
		}
	}
	switch cat {
	case 'd':
		return `\p{Nd}`
	case 'D':
		return `\P{Nd}`
	case 's':
		return `[` + uniSpaceInClass + `]`
	case 'S':
		return `[^` + uniSpaceInClass + `]`
	case 'w':
		return `[` + uniWordInClass + `]`
	case 'W':
		return `[^` + uniWordInClass + `]`
	}
	panic("pyre: unknown category " + string(cat))
}

// categoryInClass spells a category inside a Go class, if it can be.
func categoryInClass(cat rune, ascii bool) (string, bool) {
	if ascii {
		switch cat {
		case 'd':
			return `0-9`, true
		case 's':
			return asciiSpaceInClass, true
		case 'w':
			return asciiWordInClass, true
		}
		return "", false
	}
	switch cat {
	case 'd':
		return `\p{Nd}`, true
	case 'D':
		return `\P{Nd}`, true
	case 's':
		return uniSpaceInClass, true
	case 'w':
		return uniWordInClass, true
	}
	return "", false
}

// categoryTables holds the rune ranges of the negated categories, which Go
// cannot name inside a class. Computed once from Go's own tables.
var categoryTables = sync.OnceValue(func() map[string][]runeRange {
	ranges := func(class string) []runeRange {
		re, err := syntax.Parse(class, syntax.Perl)
		if err != nil || re.Op != syntax.OpCharClass {
			panic("pyre: bad category class " + class)
		}
		var out []runeRange
		for i := 0; i+1 < len(re.Rune); i += 2 {
			out = append(out, runeRange{re.Rune[i], re.Rune[i+1]})
		}
		return out
	}
	return map[string][]runeRange{
		"uW": ranges(`[^` + uniWordInClass + `]`),
		"uS": ranges(`[^` + uniSpaceInClass + `]`),
		"aD": ranges(`[^0-9]`),
		"aW": ranges(`[^` + asciiWordInClass + `]`),
		"aS": ranges(`[^` + asciiSpaceInClass + `]`),
	}
})

func categoryRanges(cat rune, ascii bool) []runeRange {
	key := "u" + string(cat)
	if ascii {
		key = "a" + string(cat)
	}
	return categoryTables()[key]
}

// foldASCII adds the other case of every ASCII letter in ranges.
func foldASCII(ranges []runeRange) []runeRange {
	out := ranges
	for _, r := range ranges {
		for _, span := range [2]struct{ lo, hi, delta rune }{{'a', 'z', 'A' - 'a'}, {'A', 'Z', 'a' - 'A'}} {
			lo, hi := max(r.lo, span.lo), min(r.hi, span.hi)
			if lo <= hi {
				out = append(out, runeRange{lo + span.delta, hi + span.delta})
			}
		}
	}
	return out
}

// normalize sorts and merges ranges.
func normalize(ranges []runeRange) []runeRange {
	if len(ranges) < 2 {
		return ranges
	}
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b runeRange) int { return cmp.Compare(a.lo, b.lo) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			if r.hi > last.hi {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
