package websocket

import (
	"fmt"
	"unicode/utf8"
)

// invalidUTF8 looks at b[i:], which starts with a sequence that is not valid
// UTF-8, and returns how many bytes Python's decoder counts as the invalid
// sequence (the maximal subpart: a lead byte and the continuation bytes
// that could still have completed it, at least one) and why it is invalid.
// The reasons are Python's.
func invalidUTF8(b []byte, i int) (n int, reason string) {
	c := b[i]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c >= 0xe0 && c <= 0xef:
		need = 2
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
	case c >= 0xf0 && c <= 0xf4:
		need = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1, "invalid start byte"
	}
	n = 1
	for k := 0; k < need; k++ {
		if i+n >= len(b) {
			return n, "unexpected end of data"
		}
		d := b[i+n]
		if d < lo || d > hi {
			return n, "invalid continuation byte"
		}
		lo, hi = 0x80, 0xbf
		n++
	}
	// A whole sequence: b[i:] was valid after all (not reached for input
	// utf8.DecodeRune refuses).
	return n, ""
}

// checkUTF8 checks that b is UTF-8. When b is not the end of the text
// (final false), it may end inside a character: pending is how many bytes
// of b that character has so far. An invalid sequence is described as
// Python's decoder does ("'utf-8' codec can't decode byte 0xff in position
// 0: invalid start byte"), positions counting from b's start.
func checkUTF8(b []byte, final bool) (pending int, msg string) {
	if utf8.Valid(b) {
		return 0, ""
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		n, reason := invalidUTF8(b, i)
		if reason == "unexpected end of data" && !final {
			return len(b) - i, ""
		}
		if n == 1 {
			return 0, fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: %s", b[i], i, reason)
		}
		return 0, fmt.Sprintf("'utf-8' codec can't decode bytes in position %d-%d: %s", i, i+n-1, reason)
	}
	return 0, ""
}

// ValidUTF8 returns b with every invalid sequence replaced by U+FFFD, as
// Python's decode("utf-8", errors="replace") does (one replacement per
// maximal subpart); b itself when it is valid.
func ValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		n, _ := invalidUTF8(b, i)
		out = utf8.AppendRune(out, utf8.RuneError)
		i += n
	}
	return out
}

// runeStart moves i back to the start of the UTF-8 sequence it falls in,
// so that b[:i] ends on a whole character (by at most three bytes).
func runeStart(b []byte, i int) int {
	for k := 0; k < utf8.UTFMax-1 && i > 0 && i < len(b) && !utf8.RuneStart(b[i]); k++ {
		i--
	}
	return i
}
