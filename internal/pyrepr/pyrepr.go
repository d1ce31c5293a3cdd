// Package pyrepr writes Python's repr() of str and bytes values, for the
// messages and renderings that must read exactly as mitmproxy's (regex
// errors, filter metadata, HAR header sizes).
package pyrepr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Str is repr() of a str.
func Str(s string) string {
	var sb strings.Builder
	WriteStr(&sb, s)
	return sb.String()
}

// WriteStr writes repr() of a str: single quotes unless s holds a single
// quote and no double quote. Bytes that are not UTF-8 show as the lone
// surrogates Python's surrogateescape would have made of them.
func WriteStr(sb *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	sb.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(sb, `\udc%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(sb, `\x%02x`, r)
		case r < utf8.RuneSelf:
			sb.WriteRune(r)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(sb, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(sb, `\u%04x`, r)
		default:
			fmt.Fprintf(sb, `\U%08x`, r)
		}
	}
	sb.WriteByte(quote)
}

// Bytes is repr() of a bytes value.
func Bytes(b []byte) string {
	var sb strings.Builder
	WriteBytes(&sb, b)
	return sb.String()
}

// WriteBytes writes repr() of a bytes value: b'...', or b"..." when b holds
// a single quote and no double quote; bytes outside printable ASCII as \xhh.
func WriteBytes(sb *strings.Builder, b []byte) {
	quote := byte('\'')
	hasSingle, hasDouble := false, false
	for _, c := range b {
		hasSingle = hasSingle || c == '\''
		hasDouble = hasDouble || c == '"'
	}
	if hasSingle && !hasDouble {
		quote = '"'
	}
	sb.WriteByte('b')
	sb.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			const hexDigits = "0123456789abcdef"
			sb.WriteString(`\x`)
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&15])
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
}
