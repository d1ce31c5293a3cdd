package stickycookie

import (
	"strconv"
	"strings"
	"time"
)

// setCookie is one cookie of a Set-Cookie header.
type setCookie struct {
	name, value string
	// attrs are the attributes in order; lookups are case-insensitive and
	// return the last value, as mitmproxy's CookieAttrs.
	attrs [][2]string
}

func (c *setCookie) attr(name string) (string, bool) {
	v, found := "", false
	for _, a := range c.attrs {
		if strings.EqualFold(a[0], name) {
			v, found = a[1], true
		}
	}
	return v, found
}

// parseSetCookie parses a Set-Cookie header value as mitmproxy's
// parse_set_cookie_header: a comma starts a new cookie, except inside an
// Expires date; values may be quoted with backslash escapes; attributes
// are not interpreted.
func parseSetCookie(s string) []setCookie {
	var cookies [][][2]string
	var pairs [][2]string
	off := 0
	for {
		var lhs string
		lhs, off = readUntil(s, off, ";=,")
		lhs = strings.TrimLeft(lhs, " \t\n\r\v\f")
		if off < len(s) && s[off] == '=' {
			var rhs string
			rhs, off = readValue(s, off+1, ";,")
			// Expires dates contain a comma ("Wed, 21 Oct ..."): a short
			// value means only the day name was read.
			if strings.EqualFold(lhs, "expires") && len(rhs) <= 3 {
				var trail string
				trail, off = readValue(s, off+1, ";,")
				rhs += "," + trail
			}
			pairs = append(pairs, [2]string{lhs, rhs})
		} else if lhs != "" {
			pairs = append(pairs, [2]string{lhs, ""})
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
	var out []setCookie
	for _, p := range cookies {
		if len(p) > 0 {
			c := setCookie{name: p[0][0], value: p[0][1]}
			if len(p) > 1 {
				c.attrs = p[1:]
			}
			out = append(out, c)
		}
	}
	return out
}

// readUntil reads from start up to (not including) the first byte in term.
func readUntil(s string, start int, term string) (string, int) {
	if start >= len(s) {
		return "", start + 1
	}
	if i := strings.IndexAny(s[start:], term); i >= 0 {
		return s[start : start+i], start + i
	}
	return s[start:], len(s)
}

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
// applying backslash escapes; it returns the offset after the closing quote.
func readQuoted(s string, start int) (string, int) {
	var b strings.Builder
	escaping := false
	i := start
	for i = start + 1; i < len(s); i++ {
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
	return b.String(), i + 1
}

// formatCookieHeader renders cookie pairs for a Cookie header, quoting
// values with special characters as mitmproxy's format_cookie_header.
func formatCookieHeader(pairs [][2]string) string {
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		if hasSpecial(p[1]) {
			b.WriteByte('"')
			for j := 0; j < len(p[1]); j++ {
				if c := p[1][j]; c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(p[1][j])
			}
			b.WriteByte('"')
		} else {
			b.WriteString(p[1])
		}
	}
	return b.String()
}

func hasSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == ',' || c == ';' || c == '\\' || c < 0x21 || c > 0x7e {
			return true
		}
	}
	return false
}

// expired reports whether the cookie's Expires (or, without one, Max-Age)
// lies at or before now, as mitmproxy's cookies.is_expired. An Expires that
// does not parse means no expiry, even with a Max-Age.
func (c *setCookie) expired(now time.Time) bool {
	if v, ok := c.attr("expires"); ok {
		t, ok := parseDate(v)
		return ok && !t.After(now)
	}
	if v, ok := c.attr("max-age"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return err == nil && n <= 0
	}
	return false
}

var (
	monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
		"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	dayNames  = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	timezones = map[string]int{"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "AST": -400, "ADT": -300, "EST": -500, "EDT": -400,
		"CST": -600, "CDT": -500, "MST": -700, "MDT": -600, "PST": -800, "PDT": -700}
)

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// parseDate is Python's email.utils.parsedate_tz followed by mktime_tz: a
// lenient RFC 2822 date parser that also takes RFC 850 and asctime-like
// forms. A missing or unknown time zone means UTC (parsedate_tz turns its
// "no zone" into offset 0).
func parseDate(data string) (time.Time, bool) {
	fields := strings.Fields(data)
	if len(fields) == 0 {
		return time.Time{}, false
	}
	if strings.HasSuffix(fields[0], ",") || indexOf(dayNames, strings.ToLower(fields[0])) >= 0 {
		fields = fields[1:]
	} else if i := strings.LastIndexByte(fields[0], ','); i >= 0 {
		fields[0] = fields[0][i+1:]
	}
	if len(fields) == 3 { // RFC 850: 21-Oct-2015
		if stuff := strings.Split(fields[0], "-"); len(stuff) == 3 {
			fields = append(stuff, fields[1:]...)
		}
	}
	if len(fields) == 4 {
		s := fields[3]
		i := strings.IndexByte(s, '+')
		if i == -1 {
			i = strings.IndexByte(s, '-')
		}
		if i > 0 {
			fields = append(fields[:3], s[:i], s[i:])
		} else {
			fields = append(fields, "")
		}
	}
	if len(fields) < 5 {
		return time.Time{}, false
	}
	dd, mm, yy, tm, tz := fields[0], fields[1], fields[2], fields[3], fields[4]
	if dd == "" || mm == "" || yy == "" {
		return time.Time{}, false
	}
	mm = strings.ToLower(mm)
	month := indexOf(monthNames, mm)
	if month < 0 {
		dd, mm = mm, strings.ToLower(dd)
		if month = indexOf(monthNames, mm); month < 0 {
			return time.Time{}, false
		}
	}
	month = month%12 + 1
	dd = strings.TrimSuffix(dd, ",")
	if i := strings.IndexByte(yy, ':'); i > 0 {
		yy, tm = tm, yy
	}
	if strings.HasSuffix(yy, ",") {
		yy = yy[:len(yy)-1]
		if yy == "" {
			return time.Time{}, false
		}
	}
	if yy == "" {
		return time.Time{}, false
	}
	if yy[0] < '0' || yy[0] > '9' {
		yy, tz = tz, yy
	}
	tm = strings.TrimSuffix(tm, ",")
	var thh, tmm, tss string
	parts := strings.Split(tm, ":")
	switch {
	case len(parts) == 2:
		thh, tmm, tss = parts[0], parts[1], "0"
	case len(parts) == 3:
		thh, tmm, tss = parts[0], parts[1], parts[2]
	case len(parts) == 1 && strings.Contains(tm, "."):
		parts = strings.Split(tm, ".")
		switch len(parts) {
		case 2:
			thh, tmm, tss = parts[0], parts[1], "0"
		case 3:
			thh, tmm, tss = parts[0], parts[1], parts[2]
		default:
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	var nums [5]int
	for i, s := range []string{yy, dd, thh, tmm, tss} {
		n, err := strconv.Atoi(s)
		if err != nil {
			return time.Time{}, false
		}
		nums[i] = n
	}
	year, day, hour, minute, sec := nums[0], nums[1], nums[2], nums[3], nums[4]
	if year < 100 {
		if year > 68 {
			year += 1900
		} else {
			year += 2000
		}
	}
	loc := time.UTC
	tz = strings.ToUpper(tz)
	if off, ok := timezones[tz]; ok {
		loc = fixedZone(off)
	} else if off, err := strconv.Atoi(tz); err == nil {
		loc = fixedZone(off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// fixedZone converts an offset written as hhmm (-0500) to a zone.
func fixedZone(hhmm int) *time.Location {
	sign := 1
	if hhmm < 0 {
		sign, hhmm = -1, -hhmm
	}
	return time.FixedZone("", sign*((hhmm/100)*3600+(hhmm%100)*60))
}

// domainMatch is RFC 2965 domain matching as Python's
// http.cookiejar.domain_match: equal names, or a host name a that ends
// with b where b starts with a dot ("x.y.com" matches ".y.com").
func domainMatch(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	if !isHDN(a) {
		return false
	}
	i := strings.LastIndex(a, b)
	if i == -1 || i == 0 {
		return false
	}
	if !strings.HasPrefix(b, ".") {
		return false
	}
	return isHDN(b[1:])
}

// isHDN reports a host domain name: not empty, no dot at either end, and
// not ending like an IPv4 address.
func isHDN(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 && i < len(s)-1 {
		allDigits := true
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				allDigits = false
				break
			}
		}
		if allDigits {
			return false
		}
	}
	return true
}

// hostMatches is mitmproxy's domain_match: domainMatch, also with the
// cookie domain's dots trimmed.
func hostMatches(host, domain string) bool {
	return domainMatch(host, domain) || domainMatch(host, strings.Trim(domain, "."))
}
