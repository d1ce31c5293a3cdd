package console

import (
	"strings"
	"unicode/utf8"
)

// clean makes text from a flow or the log safe to draw: control characters
// (an ESC would drive the terminal), C1 controls and bytes that are not
// UTF-8 are shown escaped ("\x1b"), tabs as four spaces; newlines too, as
// "\n", since callers draw one line. mitmproxy escapes header bytes the same
// way.
func clean(s string) string {
	if !needsCleaning(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, s[i])
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			if r < 0x100 {
				writeHex(&b, byte(r))
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cleanLines is clean for text drawn on several lines: it keeps the line
// breaks.
func cleanLines(s string) string {
	if !needsCleaning(s) {
		return s
	}
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = clean(p)
	}
	return strings.Join(parts, "\n")
}

func needsCleaning(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				// Valid UTF-8 outside C1 is fine; check the rest slowly.
				return !utf8.ValidString(s[i:]) || hasC1(s[i:]) || strings.ContainsFunc(s[i:], func(r rune) bool { return r < 0x20 || r == 0x7f })
			}
			return true
		}
	}
	return false
}

func hasC1(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 && r < 0xa0 })
}

func writeHex(b *strings.Builder, c byte) {
	const digits = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(digits[c>>4])
	b.WriteByte(digits[c&15])
}
