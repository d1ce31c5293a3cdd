// Package cookies parses and formats Cookie and Set-Cookie header values as
// mitmproxy's mitmproxy/net/http/cookies.py does: permissively, keeping
// malformed and duplicate cookies, with backslash escapes in quoted values
// and the comma-separated form of Set-Cookie that sets several cookies in
// one header. Attribute values are not interpreted, except by Expired.
//
// flow's Request.Cookies and Response.Cookies, the stickycookie addon and
// the HAR export use it.
package cookies

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pair is one name=value of a Cookie header, or one attribute of a
// Set-Cookie header.
type Pair struct {
	Name, Value string
	// Flag marks a Set-Cookie attribute written without "=", such as
	// Secure or HttpOnly: mitmproxy (10.2 and later) gives it the value
	// None, and formatting writes the bare name. Cookie headers never set
	// it: there mitmproxy reads a bare name as an empty value.
	Flag bool
}

// SetCookie is one cookie of a Set-Cookie header.
type SetCookie struct {
	Name, Value string
	// Flag marks a cookie written without "=" (its value is None in
	// mitmproxy).
	Flag bool
	// Attrs are the attributes in order. Attr looks them up as mitmproxy's
	// CookieAttrs does.
	Attrs []Pair
}

// Attr returns the attribute name, matched case-insensitively; of several,
// the last one, as mitmproxy's CookieAttrs (a sticky-cookie case needs it).
func (c *SetCookie) Attr(name string) (Pair, bool) {
	var found Pair
	ok := false
	for _, a := range c.Attrs {
		if strings.EqualFold(a.Name, name) {
			found, ok = a, true
		}
	}
	return found, ok
}

// ParseCookieHeader parses a Cookie header value into its pairs
// (parse_cookie_header). A name without "=" has an empty value; a value may
// be quoted, with backslash escapes.
func ParseCookieHeader(s string) []Pair {
	var pairs []Pair
	off := 0
	for {
		var name, value string
		name, off = readUntil(s, off, ";=")
		name = lstrip(name)
		if off < len(s) && s[off] == '=' {
			value, off = readValue(s, off+1, ";")
		}
		if value != "" || name != "" {
			pairs = append(pairs, Pair{Name: name, Value: value})
		}
		off++
		if off >= len(s) {
			return pairs
		}
	}
}

// ParseSetCookieHeader parses a Set-Cookie header value
// (parse_set_cookie_header): a comma starts a new cookie, except inside an
// Expires date. Empty cookies (",,", ";") are left out.
func ParseSetCookieHeader(s string) []SetCookie {
	var cookies [][]Pair
	var pairs []Pair
	off := 0
	for {
		var name string
		name, off = readUntil(s, off, ";=,")
		name = lstrip(name)
		if off < len(s) && s[off] == '=' {
			var value string
			value, off = readValue(s, off+1, ";,")
			// Expires dates contain a comma ("Wed, 21 Oct ..."): a value of
			// three characters or fewer means only the day name was read.
			if strings.EqualFold(name, "expires") && utf8.RuneCountInString(value) <= 3 {
				var trail string
				trail, off = readValue(s, off+1, ";,")
				value += "," + trail
			}
			pairs = append(pairs, Pair{Name: name, Value: value})
		} else if name != "" {
			pairs = append(pairs, Pair{Name: name, Flag: true})
		}
		if off < len(s) && s[off] == ',' {
			cookies = append(cookies, pairs)
			pairs = nil
		}
		off++
		if off >= len(s) {
			break
		}
	}
	if len(pairs) > 0 || len(cookies) == 0 {
		cookies = append(cookies, pairs)
	}
	var out []SetCookie
	for _, p := range cookies {
		if len(p) == 0 {
			continue
		}
		c := SetCookie{Name: p[0].Name, Value: p[0].Value, Flag: p[0].Flag}
		if len(p) > 1 {
			c.Attrs = p[1:]
		}
		out = append(out, c)
	}
	return out
}

// FormatCookieHeader renders pairs as a Cookie header value
// (format_cookie_header): values with special characters are quoted, with
// backslash escapes; a Flag pair is its bare name.
func FormatCookieHeader(pairs []Pair) string {
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Name)
		if p.Flag {
			continue
		}
		b.WriteByte('=')
		if !hasSpecial(p.Value) {
			b.WriteString(p.Value)
			continue
		}
		b.WriteByte('"')
		for j := 0; j < len(p.Value); j++ {
			if c := p.Value[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.Value[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// hasSpecial reports a value that must be quoted: a quote, comma,
// semicolon or backslash, or anything outside printable ASCII.
func hasSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == ',' || c == ';' || c == '\\' || c < 0x21 || c > 0x7e {
			return true
		}
	}
	return false
}

// readUntil reads from start up to (not including) the first byte in term,
// and returns the offset of that byte (or the end). At the very end it
// reads nothing and returns an offset past it, as mitmproxy's _read_until.
func readUntil(s string, start int, term string) (string, int) {
	if start >= len(s) {
		return "", start + 1
	}
	if i := strings.IndexAny(s[start:], term); i >= 0 {
		return s[start : start+i], start + i
	}
	return s[start:], len(s)
}

// readValue reads a value at start: a quoted string, or up to a delimiter.
func readValue(s string, start int, delims string) (string, int) {
	if start >= len(s) {
		return "", start
	}
	if s[start] == '"' {
		return readQuoted(s, start)
	}
	return readUntil(s, start, delims)
}

// readQuoted reads a quoted string starting at the quote at start,
// applying backslash escapes; it returns the offset after the closing quote,
// or the end when the quote is not closed.
func readQuoted(s string, start int) (string, int) {
	var b strings.Builder
	escaping := false
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case escaping:
			b.WriteByte(c)
			escaping = false
		case c == '"':
			return b.String(), i + 1
		case c == '\\':
			escaping = true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), len(s)
}

// lstrip is Python's str.lstrip(): it also strips the Unicode spaces and
// the separators \x1c to \x1f.
func lstrip(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}
