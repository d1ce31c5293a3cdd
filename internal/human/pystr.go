package human

import (
	"strings"
	"unicode/utf8"
)

// IsPySpace reports whether r is whitespace for Python's str.isspace, which
// mitmproxy's strip() and split() calls use.
func IsPySpace(r rune) bool {
	switch {
	case r == ' ', r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x1f, r == 0x85, r == 0xa0,
		r == 0x1680, r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f,
		r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// PyStrip is Python's str.strip() without arguments.
func PyStrip(s string) string { return strings.TrimFunc(s, IsPySpace) }

// isLineBreak reports the characters Python's str.splitlines splits on.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// SplitLines is Python's str.splitlines(keepends): "\r\n" counts as one
// break, and a trailing break does not start an empty last line.
func SplitLines(s string, keepEnds bool) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isLineBreak(r) {
			i += size
			continue
		}
		end := i + size
		if r == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		if keepEnds {
			out = append(out, s[start:end])
		} else {
			out = append(out, s[start:i])
		}
		start, i = end, end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Indent is mitmproxy's dumper indent(): the text is stripped, split into
// lines, and every line gets n spaces in front.
func Indent(n int, text string) string {
	lines := SplitLines(PyStrip(text), false)
	pad := strings.Repeat(" ", n)
	var sb strings.Builder
	for i, l := range lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(pad)
		sb.WriteString(l)
	}
	return sb.String()
}
