// Package pyre runs Python regular expressions on Go's regexp engine: the
// filter language's regexes and the ones mitmproxy's options contain
// (map_remote, map_local, modify_body, ignore_hosts).
//
// Translate rewrites a Python `re` pattern in Go's RE2 syntax, with
// Python's error messages for what Python rejects and a clear error for
// what RE2 cannot run (backreferences, lookaround, conditionals, atomic
// groups, possessive quantifiers). Go's engine runs in linear time, which
// matters for patterns applied to every flow.
//
// Compile is the translation for the options, with Python's replacement
// templates for re.sub (ParseTemplate, Sub): \1, \g<1>, \g<name>, \g<0>,
// and the escapes \n \t \\ and octal. It compiles as Python does with
// re.ASCII, and so:
//
//   - \d, \w, \s, \b and case folding are ASCII-only (what Python does for
//     modify_body's bytes patterns; a str pattern may ask for Unicode with
//     (?u));
//   - $ matches only at the very end (Python also matches before a final
//     newline, which RE2 cannot do without taking the newline);
//   - an empty match right after a non-empty one is skipped, as in Python
//     before 3.7 (re.sub("x*", "-", "abxd") gives "-a-b-d-", not "-a-b--d-").
package pyre

import (
	"fmt"
	"regexp"
	"strings"
)

// Compile compiles a Python pattern for the options that hold one. dotAll
// is Python's re.DOTALL ("." also matches a newline). The error is a
// *RegexError.
func Compile(pattern string, dotAll bool) (*regexp.Regexp, error) {
	flags := ASCII
	if dotAll {
		flags |= DotAll
	}
	tr, err := Translate(pattern, Options{Flags: flags})
	if err != nil {
		return nil, err
	}
	return tr.Compile()
}

// Template is a parsed re.sub replacement.
type Template struct {
	pieces []piece
}

// piece is literal text, or a group reference when group >= 0.
type piece struct {
	lit   string
	group int
}

// TemplateError is a replacement template that Python's re would reject.
type TemplateError struct {
	Msg string
	Pos int
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
}

// ParseTemplate parses repl as Python's re.sub does for pattern re. In a
// bytes template (isBytes, as modify_body uses) an octal escape is one
// byte; in a str template (map_remote) it is the code point, written as
// UTF-8.
func ParseTemplate(repl string, re *regexp.Regexp, isBytes bool) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.pieces = append(t.pieces, piece{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	char := func(v int) {
		if isBytes {
			lit.WriteByte(byte(v))
		} else {
			lit.WriteRune(rune(v))
		}
	}
	ngroups := re.NumSubexp()
	addGroup := func(n, pos int) error {
		if n > ngroups {
			return &TemplateError{fmt.Sprintf("invalid group reference %d", n), pos}
		}
		flush()
		t.pieces = append(t.pieces, piece{group: n})
		return nil
	}
	octAt := func(i int) bool { return i < len(repl) && repl[i] >= '0' && repl[i] <= '7' }
	digitAt := func(i int) bool { return i < len(repl) && repl[i] >= '0' && repl[i] <= '9' }
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' {
			lit.WriteByte(c)
			continue
		}
		start := i
		if i+1 >= len(repl) {
			return nil, &TemplateError{"bad escape (end of pattern)", start}
		}
		i++
		c = repl[i]
		switch {
		case c == 'g':
			if i+1 >= len(repl) || repl[i+1] != '<' {
				return nil, &TemplateError{"missing <", i + 1}
			}
			end := strings.IndexByte(repl[i+2:], '>')
			name := repl[i+2:]
			if end >= 0 {
				name = repl[i+2 : i+2+end]
			}
			if name == "" {
				return nil, &TemplateError{"missing group name", i + 2}
			}
			if end < 0 {
				return nil, &TemplateError{"missing >, unterminated name", i + 2}
			}
			i += 2 + end
			var n int
			if isIdentifier(name) {
				n = re.SubexpIndex(GroupName(name))
				if n < 0 {
					return nil, &TemplateError{fmt.Sprintf("unknown group name %q", name), start}
				}
			} else {
				n = 0
				if !isDecimal(name) {
					return nil, &TemplateError{fmt.Sprintf("bad character in group name %q", name), start + 3}
				}
				for _, d := range name {
					n = n*10 + int(d-'0')
					if n > 1<<30 {
						break
					}
				}
			}
			if err := addGroup(n, start); err != nil {
				return nil, err
			}
		case c == '0':
			v := 0
			for k := 0; k < 2 && octAt(i+1); k++ {
				i++
				v = v<<3 + int(repl[i]-'0')
			}
			char(v & 0xff)
		case c >= '1' && c <= '9':
			if digitAt(i + 1) {
				if c <= '7' && octAt(i+1) && octAt(i+2) {
					v := int(c-'0')<<6 + int(repl[i+1]-'0')<<3 + int(repl[i+2]-'0')
					if v > 0o377 {
						return nil, &TemplateError{fmt.Sprintf(`octal escape value %s outside of range 0-0o377`, repl[start:i+3]), start}
					}
					i += 2
					char(v)
					continue
				}
				n := int(c-'0')*10 + int(repl[i+1]-'0')
				i++
				if err := addGroup(n, start); err != nil {
					return nil, err
				}
				continue
			}
			if err := addGroup(int(c-'0'), start); err != nil {
				return nil, err
			}
		default:
			switch c {
			case 'a':
				lit.WriteByte('\a')
			case 'b':
				lit.WriteByte('\b')
			case 'f':
				lit.WriteByte('\f')
			case 'n':
				lit.WriteByte('\n')
			case 'r':
				lit.WriteByte('\r')
			case 't':
				lit.WriteByte('\t')
			case 'v':
				lit.WriteByte('\v')
			case '\\':
				lit.WriteByte('\\')
			default:
				if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
					return nil, &TemplateError{fmt.Sprintf(`bad escape \%c`, c), start}
				}
				// Python keeps other escapes as written.
				lit.WriteByte('\\')
				lit.WriteByte(c)
			}
		}
	}
	flush()
	return t, nil
}

func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Literal reports whether the template contains no group references, and
// its text.
func (t *Template) Literal() (string, bool) {
	var b strings.Builder
	for _, p := range t.pieces {
		if p.group >= 0 {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// expand appends the template for one match m (submatch indexes into src)
// to dst. A group that did not take part in the match expands to nothing.
func (t *Template) expand(dst []byte, src []byte, m []int) []byte {
	for _, p := range t.pieces {
		if p.group < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if s, e := m[2*p.group], m[2*p.group+1]; s >= 0 {
			dst = append(dst, src[s:e]...)
		}
	}
	return dst
}

// Sub is Python's re.sub(pattern, template, src): every non-overlapping
// match is replaced. It returns the result and the number of replacements;
// with no match the result is src itself.
func Sub(re *regexp.Regexp, t *Template, src []byte) ([]byte, int) {
	matches := re.FindAllSubmatchIndex(src, -1)
	if len(matches) == 0 {
		return src, 0
	}
	out := make([]byte, 0, len(src))
	last := 0
	for _, m := range matches {
		out = append(out, src[last:m[0]]...)
		out = t.expand(out, src, m)
		last = m[1]
	}
	out = append(out, src[last:]...)
	return out, len(matches)
}

// SubString is Sub for strings.
func SubString(re *regexp.Regexp, t *Template, src string) (string, int) {
	out, n := Sub(re, t, []byte(src))
	if n == 0 {
		return src, 0
	}
	return string(out), n
}
