// Package textwrap wraps text the way Python's textwrap.wrap does with its
// defaults, for the help texts mitmproxy prints (--options, --commands).
package textwrap

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Wrap breaks text into lines of at most width characters the way Python's
// textwrap.wrap does with its defaults: tabs expand, whitespace becomes spaces,
// runs of spaces inside a line are kept, lines neither start nor end with
// spaces, words may break after a hyphen between letters ("url-" "encoded"),
// and words longer than width are cut.
func Wrap(text string, width int) []string {
	// Tabs expand to 8-column stops (str.expandtabs), then every
	// whitespace character is a space.
	var sb strings.Builder
	col := 0
	for _, r := range text {
		switch {
		case r == '\t':
			n := 8 - col%8
			sb.WriteString(strings.Repeat(" ", n))
			col += n
		case r == '\n' || r == '\r':
			sb.WriteByte(' ')
			col = 0
		case unicode.IsSpace(r):
			sb.WriteByte(' ')
			col++
		default:
			sb.WriteRune(r)
			col++
		}
	}
	text = sb.String()
	chunks := wrapChunks(text)
	var lines []string
	for len(chunks) > 0 {
		var line []string
		n := 0
		if len(lines) > 0 && strings.TrimSpace(chunks[0]) == "" {
			chunks = chunks[1:] // no leading space on later lines
		}
		for len(chunks) > 0 && n+utf8.RuneCountInString(chunks[0]) <= width {
			line = append(line, chunks[0])
			n += utf8.RuneCountInString(chunks[0])
			chunks = chunks[1:]
		}
		if len(chunks) > 0 && utf8.RuneCountInString(chunks[0]) > width {
			// A word longer than a line is cut where the line ends.
			cut := max(width-n, 1)
			if n > 0 && width-n < 1 {
				cut = 0
			}
			if cut > 0 {
				r := []rune(chunks[0])
				line = append(line, string(r[:cut]))
				chunks[0] = string(r[cut:])
			}
		}
		if len(line) > 0 && strings.TrimSpace(line[len(line)-1]) == "" {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			lines = append(lines, strings.Join(line, ""))
		}
	}
	return lines
}

// wrapChunks splits text into runs of spaces and words, splitting words
// after a hyphen preceded by two letters (or letter-letter-) and followed by
// two letters, as textwrap's wordsep_re does.
func wrapChunks(text string) []string {
	isLetter := func(b byte) bool { return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80 }
	var chunks []string
	for len(text) > 0 {
		if text[0] == ' ' {
			n := len(text) - len(strings.TrimLeft(text, " "))
			chunks = append(chunks, text[:n])
			text = text[n:]
			continue
		}
		end := strings.IndexByte(text, ' ')
		if end < 0 {
			end = len(text)
		}
		word := text[:end]
		start := 0
		for i := 1; i < len(word)-1; i++ {
			if word[i] != '-' {
				continue
			}
			before := i >= 2 && isLetter(word[i-1]) && isLetter(word[i-2]) ||
				i >= 3 && isLetter(word[i-1]) && word[i-2] == '-' && isLetter(word[i-3])
			rest := word[i+1:]
			after := len(rest) >= 2 && isLetter(rest[0]) && (isLetter(rest[1]) || len(rest) >= 3 && rest[1] == '-' && isLetter(rest[2]))
			if before && after {
				chunks = append(chunks, word[start:i+1])
				start = i + 1
			}
		}
		chunks = append(chunks, word[start:])
		text = text[end:]
	}
	return chunks
}
