package filter

import (
	"regexp"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/internal/pyre"
)

// mitmproxy compiles every filter regex with Python's re module and
// searches with re.search (unanchored), so filters written for mitmproxy use
// Python's syntax and semantics. internal/pyre translates them for Go's RE2
// engine (see there for what cannot be translated and the differences that
// remain); this file runs the translations on the match path.

// reFlags are Python's regex flags (pyre.Flags), with the filter's display.
type reFlags pyre.Flags

const (
	flagI = reFlags(pyre.IgnoreCase)
	flagM = reFlags(pyre.Multiline)
	flagS = reFlags(pyre.DotAll)
)

// display renders the flags the way mitmproxy's regex_str does: i, m, s.
func (f reFlags) display() string {
	var sb strings.Builder
	if f&flagI != 0 {
		sb.WriteByte('i')
	}
	if f&flagM != 0 {
		sb.WriteByte('m')
	}
	if f&flagS != 0 {
		sb.WriteByte('s')
	}
	return sb.String()
}

// RegexError describes a Python regex that cannot be compiled, either
// because Python would reject it or because Go's RE2 engine cannot run it.
type RegexError = pyre.RegexError

// pyRegex is one compiled filter regex.
type pyRegex struct {
	src   string  // the pattern as written
	flags reFlags // effective flags: the operator's plus global inline ones
	goSrc string  // the Go translation
	re    *regexp.Regexp
	// latin1: the pattern addresses single bytes, so subjects are widened
	// byte-per-rune before matching (Python's bytes semantics).
	latin1 bool
	pf     *prefilter // nil when there is no literal to check first
}

// String is mitmproxy's regex_str: /pattern/flags.
func (r *pyRegex) String() string { return "/" + r.src + "/" + r.flags.display() }

// bufPool holds scratch buffers for subjects built on the match path, so
// matching does not allocate in the steady state.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { *b = (*b)[:0]; bufPool.Put(b) }

func (r *pyRegex) matchString(s string) bool {
	if r.pf != nil {
		if m, ok := r.pf.check(s); ok {
			return m
		}
	}
	if !r.latin1 {
		return r.re.MatchString(s)
	}
	bp := getBuf()
	defer putBuf(bp)
	*bp = pyre.AppendLatin1(*bp, s)
	return r.re.Match(*bp)
}

func (r *pyRegex) match(b []byte) bool {
	if r.pf != nil {
		if m, ok := r.pf.checkBytes(b); ok {
			return m
		}
	}
	if !r.latin1 {
		return r.re.Match(b)
	}
	bp := getBuf()
	defer putBuf(bp)
	*bp = pyre.AppendLatin1(*bp, b)
	return r.re.Match(*bp)
}

// compilePy compiles a Python pattern. bytesPat selects Python's bytes
// semantics (mitmproxy encodes the pattern as UTF-8 for the operators that
// search bytes); flags are the operator's flags.
func compilePy(src string, bytesPat bool, flags reFlags) (*pyRegex, error) {
	tr, err := pyre.Translate(src, pyre.Options{Flags: pyre.Flags(flags), Bytes: bytesPat, Search: true})
	if err != nil {
		return nil, err
	}
	re, err := tr.Compile()
	if err != nil {
		return nil, err
	}
	rx := &pyRegex{src: src, flags: reFlags(tr.Flags), goSrc: tr.Expr, re: re, latin1: tr.Latin1}
	if !tr.Latin1 {
		rx.pf = newPrefilter(tr.Expr)
	}
	return rx, nil
}
