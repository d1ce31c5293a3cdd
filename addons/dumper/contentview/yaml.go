package contentview

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// yamlEntry is one key of a flat YAML mapping; a repeated key holds a list.
type yamlEntry struct {
	key    string
	values []string
	list   bool
}

// mergeRepeatedKeys groups pairs by key, keeping the first position, as
// mitmproxy's merge_repeated_keys: the second value for a key turns it into
// a list. Like mitmproxy's, it treats an empty first value as absent.
func mergeRepeatedKeys(pairs [][2]string) []yamlEntry {
	var out []yamlEntry
	index := map[string]int{}
	for _, p := range pairs {
		at, ok := index[p[0]]
		switch {
		case !ok:
			index[p[0]] = len(out)
			out = append(out, yamlEntry{key: p[0], values: []string{p[1]}})
		case !out[at].list && out[at].values[0] == "":
			out[at].values[0] = p[1]
		default:
			out[at].values = append(out[at].values, p[1])
			out[at].list = true
		}
	}
	return out
}

// yamlDump renders a flat mapping in the block style of ruamel.yaml's
// round-trip dumper, which mitmproxy's query and form views use. An empty
// mapping renders as "".
func yamlDump(entries []yamlEntry) string {
	var b strings.Builder
	for _, e := range entries {
		key := yamlScalar(e.key, true, 0)
		b.WriteString(key)
		b.WriteByte(':')
		if e.list {
			b.WriteByte('\n')
			for _, v := range e.values {
				b.WriteString("- ")
				b.WriteString(yamlScalar(v, false, 2))
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteByte(' ')
		b.WriteString(yamlScalar(e.values[0], false, utf8.RuneCountInString(key)+2))
		b.WriteByte('\n')
	}
	return b.String()
}

// Plain scalars that would read back as another type than str (YAML 1.2, as
// ruamel.yaml resolves them) must be quoted.
var yamlImplicit = []*regexp.Regexp{
	regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`),
	regexp.MustCompile(`^(?:~|null|Null|NULL)$`),
	regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9][0-9_]*|[-+]?0x[0-9a-fA-F_]+)$`),
	regexp.MustCompile(`^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
	regexp.MustCompile(`^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?$`),
	regexp.MustCompile(`^(?:<<|=)$`),
}

const yamlWidth = 80

// yamlScalar renders s plain when YAML allows it, single-quoted when it
// needs quoting, and double-quoted when it holds characters only escapes can
// show. col is the column the scalar starts at, for ruamel's line folding.
func yamlScalar(s string, isKey bool, col int) string {
	if s == "" {
		return "''"
	}
	special, breaks := false, false
	for _, r := range s {
		switch {
		case r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029:
			breaks = true
		case r == utf8.RuneError, r < 0x20, r >= 0x7f && r < 0xa0 && r != 0x85, r == 0xfeff:
			special = true
		}
	}
	if special || breaks {
		return yamlDoubleQuoted(s)
	}
	plain := true
	for _, re := range yamlImplicit {
		if re.MatchString(s) {
			plain = false
		}
	}
	first := s[0]
	switch {
	case strings.ContainsRune("#,[]{}&*!|>'\"%@`", rune(first)):
		plain = false
	case strings.ContainsRune("?:-", rune(first)) && (len(s) == 1 || s[1] == ' '):
		plain = false
	case strings.HasPrefix(s, "---"), strings.HasPrefix(s, "..."):
		plain = false
	case strings.Contains(s, ": "), strings.Contains(s, " #"), strings.HasSuffix(s, ":"):
		plain = false
	case s[0] == ' ' || s[len(s)-1] == ' ':
		plain = false
	}
	if plain {
		if isKey {
			return s
		}
		return yamlFold(s, col, false)
	}
	if isKey {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return yamlFold(s, col, true)
}

// yamlFold writes a plain or single-quoted scalar, breaking it at single
// spaces once the line is past the width, as ruamel's emitter does.
// Continuation lines are indented by two.
func yamlFold(s string, col int, quoted bool) string {
	var b strings.Builder
	if quoted {
		b.WriteByte('\'')
		col++
	}
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		single := r == ' ' && (i == 0 || runes[i-1] != ' ') && (i+1 < len(runes) && runes[i+1] != ' ')
		if single && col > yamlWidth && (!quoted || (i != 0 && i != len(runes)-1)) {
			b.WriteString("\n  ")
			col = 2
			continue
		}
		if quoted && r == '\'' {
			b.WriteString("''")
			col += 2
			continue
		}
		b.WriteRune(r)
		col++
	}
	if quoted {
		b.WriteByte('\'')
	}
	return b.String()
}

var yamlEscapes = map[rune]string{
	0: `\0`, 0x07: `\a`, 0x08: `\b`, 0x09: `\t`, 0x0a: `\n`, 0x0b: `\v`, 0x0c: `\f`,
	0x0d: `\r`, 0x1b: `\e`, '"': `\"`, '\\': `\\`, 0x85: `\N`, 0xa0: `\_`, 0x2028: `\L`, 0x2029: `\P`,
}

func yamlDoubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		i += size
		if esc, ok := yamlEscapes[r]; ok {
			b.WriteString(esc)
			continue
		}
		switch {
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xfeff:
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
