// Package shlex splits a command line into words as Python's shlex.split
// does (POSIX mode, no comments): how mitmproxy splits $EDITOR and $PAGER,
// and how mitmgo splits a script spec into its path and arguments.
package shlex

import (
	"errors"
	"strings"
)

// Errors of Split, with Python's messages.
var (
	ErrNoClosingQuote = errors.New("No closing quotation")
	ErrNoEscaped      = errors.New("No escaped character")
)

// Split splits s into words: `vim -u "my vimrc"` gives vim, -u and
// my vimrc. Single quotes keep everything; inside double quotes a
// backslash escapes only " and \ (and is kept before anything else); a
// backslash outside quotes escapes the next character. Words are separated
// by spaces, tabs, carriage returns and newlines; a pair of quotes with
// nothing between makes an empty word.
func Split(s string) ([]string, error) {
	var (
		out     []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if escaped {
		return nil, ErrNoEscaped
	}
	if quote != 0 {
		return nil, ErrNoClosingQuote
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
