// Package human holds the small text helpers mitmproxy's terminal output is
// built from (mitmproxy.utils.human, strutils and the vendored click.style):
// sizes, addresses, escaping of untrusted bytes and ANSI styling. The
// built-in addons share them so that termlog and the dumper format
// addresses, sizes and colours the same way mitmproxy does.
package human

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/flow"
)

// PrettySize formats a byte count as mitmproxy's pretty_size: "512b",
// "1.5k", "120k", "3.2m"; never longer than five characters.
func PrettySize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "b"
	}
	s := float64(n)
	for _, suffix := range []string{"k", "m", "g", "t"} {
		s /= 1024
		if s < 99.95 {
			return strconv.FormatFloat(s, 'f', 1, 64) + suffix
		}
		if s < 1024 || suffix == "t" {
			return strconv.FormatFloat(s, 'f', 0, 64) + suffix
		}
	}
	panic("unreachable")
}

// FormatAddress formats a connection address as mitmproxy's format_address:
// "1.2.3.4:5", "[::1]:5", "*:5" for an unspecified address, IPv4-mapped IPv6
// addresses as IPv4, and "host:port" for names. The zero Address is
// "<no address>".
func FormatAddress(a flow.Address) string {
	if a.IsZero() {
		return "<no address>"
	}
	return formatHostPort(a.Host, strconv.Itoa(a.Port))
}

// FormatAddressString is FormatAddress for an address already rendered as
// "host:port" (or "[v6]:port"); text that is no address comes back as is.
func FormatAddressString(s string) string {
	host, port, err := splitHostPort(s)
	if err != nil {
		return s
	}
	return formatHostPort(host, port)
}

func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port in %q", s)
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", "", fmt.Errorf("bad port in %q", s)
	}
	return host, port, nil
}

func formatHostPort(host, port string) string {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host + ":" + port
	}
	switch {
	case ip.IsUnspecified():
		return "*:" + port
	case ip.Is4():
		return ip.String() + ":" + port
	case ip.Is4In6():
		return ip.Unmap().String() + ":" + port
	}
	return "[" + ip.String() + "]:" + port
}

// EscapeControl replaces the C0 control characters and DEL with ".", as
// mitmproxy's escape_control_characters; with keepSpacing, tab, newline and
// carriage return are kept. Invalid UTF-8 is shown as \xNN escapes, which is
// what Python's backslashreplace decoding would have produced.
func EscapeControl(s string, keepSpacing bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case keepSpacing && (r == '\t' || r == '\n' || r == '\r'):
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			sb.WriteByte('.')
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// BytesToEscapedStr renders untrusted bytes the way mitmproxy's
// bytes_to_escaped_str does (a Python bytes repr without the quotes):
// printable ASCII as is except the backslash, \t \n \r as escapes (kept as
// is with keepSpacing), everything else as \xNN.
func BytesToEscapedStr(b string, keepSpacing bool) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c == '\t' || c == '\n' || c == '\r':
			if keepSpacing {
				sb.WriteByte(c)
			} else {
				sb.WriteString(spacingEscapes[c])
			}
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

var spacingEscapes = [...]string{'\t': `\t`, '\n': `\n`, '\r': `\r`}

// DecodeBackslash decodes UTF-8 like Python's
// bytes.decode("utf-8", "backslashreplace"): each byte that is not part of a
// valid sequence becomes \xNN.
func DecodeBackslash(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[i])
			i++
			continue
		}
		sb.Write(b[i : i+size])
		i += size
	}
	return sb.String()
}

// PrettyDuration is mitmproxy's human.pretty_duration: "0ms", "999ms",
// "1.23s", "12.3s", "123s". Rounded as Python's format does (to the
// nearest, ties to even, on the float's exact value), which strconv does
// too; a negative duration (clocks that went back) shows as mitmproxy
// shows it, "-5ms".
func PrettyDuration(secs float64) string {
	switch {
	case secs >= 100:
		return strconv.FormatFloat(secs, 'f', 0, 64) + "s"
	case secs >= 10:
		return strconv.FormatFloat(secs, 'f', 1, 64) + "s"
	case secs >= 1:
		return strconv.FormatFloat(secs, 'f', 2, 64) + "s"
	}
	return strconv.FormatFloat(secs*1000, 'f', 0, 64) + "ms"
}
