package filter

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Go's regexp cannot skip ahead to a literal prefix when a pattern is
// case-insensitive, and filter regexes are case-insensitive by default, so
// a search runs its automaton at every offset of the subject. A prefilter
// first checks the literal runs that every match must contain, with a
// plain byte scan; most subjects that do not match are rejected there. A
// pattern that is nothing but one literal needs no regex at all.

// litRun is a literal that a match must contain.
type litRun struct {
	b    []byte // lower-cased where fold is set
	fold []bool // compare this byte ASCII-case-insensitively
	// anyFold is false for an exact literal (searched with bytes.Contains).
	anyFold bool
}

type prefilter struct {
	runs []litRun
	// whole: the pattern is exactly runs[0]; finding it is matching.
	whole bool
	// asciiOnly: some letters fold beyond ASCII (k to the Kelvin sign, s
	// to the long s, i to the Turkic i's), so the runs are exact only for
	// ASCII subjects; other subjects go straight to the regex.
	asciiOnly bool
}

// maxRuns bounds the literals checked per search.
const maxRuns = 3

// newPrefilter analyses a translated pattern. It returns nil when there is
// nothing useful to check.
func newPrefilter(goSrc string) *prefilter {
	re, err := syntax.Parse(goSrc, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	pf := &prefilter{whole: true}
	var cur litRun
	flush := func() {
		if len(cur.b) > 0 {
			pf.runs = append(pf.runs, cur)
		}
		cur = litRun{}
	}
	add := func(r rune, fold bool) {
		if fold {
			cur.b = append(cur.b, byte(toLowerASCII(r)))
			cur.fold = append(cur.fold, true)
			cur.anyFold = true
			return
		}
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		for _, c := range buf[:n] {
			cur.b = append(cur.b, c)
			cur.fold = append(cur.fold, false)
		}
	}
	for _, p := range parts {
		switch {
		case p.Op == syntax.OpLiteral:
			fold := p.Flags&syntax.FoldCase != 0
			for _, r := range p.Rune {
				switch {
				case r == utf8.RuneError:
					// Matches any invalid byte too: not a literal.
					flush()
					pf.whole = false
				case !fold || r < utf8.RuneSelf && !isASCIILetter(r):
					add(r, false)
				case r < utf8.RuneSelf:
					if !safeFold(r) {
						pf.asciiOnly = true
					}
					add(r, true)
				default:
					// A non-ASCII letter folded: not checked.
					flush()
					pf.whole = false
				}
			}
		case isASCIICasePair(p):
			add(p.Rune[2], true)
		case isTurkicIClass(p):
			add('i', true)
			pf.asciiOnly = true
		default:
			flush()
			pf.whole = false
		}
	}
	flush()
	if len(pf.runs) == 0 {
		return nil
	}
	if len(pf.runs) > 1 {
		pf.whole = false
	}
	// Check the longest runs first: they reject the most.
	for i := 1; i < len(pf.runs); i++ {
		for j := i; j > 0 && len(pf.runs[j].b) > len(pf.runs[j-1].b); j-- {
			pf.runs[j], pf.runs[j-1] = pf.runs[j-1], pf.runs[j]
		}
	}
	if len(pf.runs) > maxRuns {
		pf.runs = pf.runs[:maxRuns]
	}
	return pf
}

// safeFold reports whether an ASCII letter folds only to ASCII in Go.
func safeFold(r rune) bool {
	switch r {
	case 'k', 'K', 's', 'S':
		return false
	}
	return true
}

// isTurkicIClass matches turkicIClass as Go parses it under (?i).
func isTurkicIClass(re *syntax.Regexp) bool {
	return re.Op == syntax.OpCharClass && slices.Equal(re.Rune, []rune{'I', 'I', 'i', 'i', 0x130, 0x131})
}

// isASCIICasePair matches the class [xX] of one ASCII letter (how ASCII-only
// folding is spelled for k and s, which Go will not turn into a literal).
func isASCIICasePair(re *syntax.Regexp) bool {
	if re.Op != syntax.OpCharClass || len(re.Rune) != 4 {
		return false
	}
	lo, hi := re.Rune[0], re.Rune[2]
	return re.Rune[1] == lo && re.Rune[3] == hi && lo >= 'A' && lo <= 'Z' && hi == lo+('a'-'A')
}

func toLowerASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// check decides a search when it can: decided with the result, or not
// decided when the regex must run.
func (pf *prefilter) check(s string) (match, decided bool) {
	if pf.asciiOnly && !isASCIIString(s) {
		return false, false
	}
	for i := range pf.runs {
		if !runIn(&pf.runs[i], s) {
			return false, true
		}
	}
	return pf.whole, pf.whole
}

func (pf *prefilter) checkBytes(b []byte) (match, decided bool) {
	if pf.asciiOnly && !isASCIIBytes(b) {
		return false, false
	}
	for i := range pf.runs {
		if !runIn(&pf.runs[i], b) {
			return false, true
		}
	}
	return pf.whole, pf.whole
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func runIn[T string | []byte](l *litRun, s T) bool {
	if !l.anyFold {
		switch v := any(s).(type) {
		case string:
			return strings.Contains(v, string(l.b))
		case []byte:
			return bytes.Contains(v, l.b)
		}
	}
	n := len(l.b)
	first, firstFold := l.b[0], l.fold[0]
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if firstFold {
			c |= 0x20 // ASCII letters only reach here: l.b holds lower case
		}
		if c != first {
			continue
		}
		j := 1
		for ; j < n; j++ {
			c := s[i+j]
			if l.fold[j] && c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != l.b[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
