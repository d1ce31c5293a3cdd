package spec

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// EscapeDecode turns Python-style backslash escapes into the bytes they
// stand for, as mitmproxy's strutils.escaped_str_to_bytes
// (codecs.escape_decode) does for modify_body and modify_headers: \n \r \t
// \a \b \f \v \\ \' \" \xHH and octal \OOO. A backslash before a newline
// disappears; any other escape is kept as written (so "\d" stays a regex
// class). A trailing backslash or a short \x escape is an error.
func EscapeDecode(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		if i >= len(s) {
			return "", errors.New(`Trailing \ in string`)
		}
		switch c = s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for n := 0; n < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; n++ {
				i++
				v = v<<3 + int(s[i]-'0')
			}
			// Python keeps the low byte of values above \377.
			b.WriteByte(byte(v))
		case 'x':
			hi, ok1 := unhex(byteAt(s, i+1))
			lo, ok2 := unhex(byteAt(s, i+2))
			if !ok1 || !ok2 {
				return "", fmt.Errorf(`invalid \x escape at position %d`, start)
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ExpandUser replaces a leading "~" or "~/" with the user's home directory,
// as Python's os.path.expanduser does for the current user. Other forms
// ("~name") are left alone.
func ExpandUser(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	home = strings.TrimRight(home, "/")
	if home+path[1:] == "" {
		return "/"
	}
	return home + path[1:]
}
