package command

import "strings"

const spaceChars = " \r\n\t"

// Lex splits a command line into parts as mitmproxy's command lexer does:
// runs of whitespace, quoted strings ('...' or "...", possibly unterminated
// at the end of the line) and runs of other characters. Every character
// belongs to exactly one part, so the parts join back to the line with its
// tabs expanded: mitmproxy's parser expands tabs to spaces (at eight-column
// stops) before it splits, and so does Lex.
func Lex(s string) []string {
	s = ExpandTabs(s)
	var parts []string
	for len(s) > 0 {
		var n int
		switch c := s[0]; {
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[1:], c)
			if end < 0 {
				n = len(s)
			} else {
				n = end + 2
			}
		case strings.IndexByte(spaceChars, c) >= 0:
			n = len(s) - len(strings.TrimLeft(s, spaceChars))
		default:
			n = strings.IndexAny(s, spaceChars+`'"`)
			if n < 0 {
				n = len(s)
			}
		}
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return parts
}

func isSpace(part string) bool {
	return part != "" && strings.Trim(part, spaceChars) == ""
}

// Quote quotes an argument for a command line when it needs it (mitmproxy's
// command_lexer.quote).
func Quote(v string) string {
	if v != "" && !strings.ContainsAny(v, `'"`+spaceChars) {
		return v
	}
	if !strings.Contains(v, `"`) {
		return `"` + v + `"`
	}
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return `"` + strings.ReplaceAll(v, `"`, `\x22`) + `"`
}

// Unquote removes the quotes around an argument.
func Unquote(x string) string {
	if len(x) > 1 && (x[0] == '\'' || x[0] == '"') && x[0] == x[len(x)-1] {
		return x[1 : len(x)-1]
	}
	return x
}

// ExpandTabs replaces tabs with spaces up to the next multiple of eight
// columns, as Python's str.expandtabs (columns restart after \n and \r).
func ExpandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var sb strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			n := 8 - col%8
			sb.WriteString(strings.Repeat(" ", n))
			col += n
		case '\n', '\r':
			sb.WriteRune(r)
			col = 0
		default:
			sb.WriteRune(r)
			col++
		}
	}
	return sb.String()
}
