package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
)

// Mode names, as mitmproxy 12 spells them (ProxyMode.type_name).
const (
	ModeRegular     = "regular"
	ModeTransparent = "transparent"
	ModeUpstream    = "upstream"
	ModeReverse     = "reverse"
	ModeSocks5      = "socks5"
	ModeDNS         = "dns"
	ModeWireGuard   = "wireguard"
	ModeLocal       = "local"
	ModeTun         = "tun"
	// modeOsProxy is the old name of local mode, refused with a message.
	modeOsProxy = "osproxy"
)

// Transport protocols a mode's server listens with.
const (
	TCP  = "tcp"
	UDP  = "udp"
	Both = "both"
)

// ModeName returns the mode of a proxy mode spec as mitmproxy's
// ProxyMode.parse reads it: "regular", "upstream", "reverse", "socks5",
// "transparent", ... from "name[:data][@listen]". An empty spec is
// "regular", the default mode. It does not validate the spec (see
// ParseProxyMode).
func ModeName(mode string) string {
	if mode == "" {
		return "regular"
	}
	head := mode
	if i := strings.LastIndexByte(mode, '@'); i > 0 {
		head = mode[:i]
	}
	name, _, _ := strings.Cut(head, ":")
	return strings.ToLower(name)
}

// ProxyMode is a parsed proxy mode spec, mitmproxy 12's ProxyMode:
// "mode[:data][@[listen_host:]listen_port]", e.g. "regular@8080",
// "socks5@127.0.0.1:1080" or "reverse:https://example.com@8443".
type ProxyMode struct {
	// FullSpec is the spec as the user wrote it; flows record it as their
	// client connection's proxy_mode.
	FullSpec string
	// Name is the mode's type name, lower case: one of the Mode constants.
	Name string
	// Data is what follows the name and its colon ("https://example.com").
	Data string
	// CustomListenHost and CustomListenPort are the listen address the spec
	// names, when it names one (HasListenHost, HasListenPort).
	CustomListenHost string
	HasListenHost    bool
	CustomListenPort int
	HasListenPort    bool
	// Scheme and Address are the server of upstream and reverse modes:
	// the upstream proxy ("http" or "https") or the reverse proxy's target
	// (http, https, http3, tls, dtls, tcp, udp, dns, quic).
	Scheme  string
	Address ServerAddress
}

// ServerAddress is a host and port, the host without IPv6 brackets.
type ServerAddress struct {
	Host string
	Port int
}

func (a ServerAddress) String() string {
	return joinHostPort(a.Host, a.Port)
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// ModeError is a spec ParseProxyMode refuses. Its message is mitmproxy's
// ("invalid port: x", "unknown mode", "mode takes no arguments", ...).
type ModeError struct {
	Spec string
	Msg  string
}

func (e *ModeError) Error() string { return e.Msg }

// ParseProxyMode parses a proxy mode spec as mitmproxy 12's
// ProxyMode.parse: the listen address after the last "@", the mode name
// (case-insensitive) before the first ":", and the data, which each mode
// checks. The errors are mitmproxy's; the option that carries the spec
// says "Invalid proxy mode specification: SPEC (ERROR)".
func ParseProxyMode(s string) (*ProxyMode, error) {
	// As Python's rpartition("@"), and a spec that is all listen address
	// ("@8080") is a mode name.
	head, listenAt := "", s
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		head, listenAt = s[:i], s[i+1:]
	}
	if head == "" {
		head, listenAt = listenAt, ""
	}
	m := &ProxyMode{FullSpec: s}
	name, data, _ := strings.Cut(head, ":")
	m.Data = data
	if listenAt != "" {
		portStr := listenAt
		if i := strings.LastIndexByte(listenAt, ':'); i >= 0 {
			m.CustomListenHost, m.HasListenHost = listenAt[:i], true
			portStr = listenAt[i+1:]
			// "[::1]:8080" as users would write an IPv6 address.
			if h := m.CustomListenHost; len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
				m.CustomListenHost = h[1 : len(h)-1]
			}
		}
		port, ok := parsePort(portStr)
		if !ok {
			return nil, &ModeError{s, "invalid port: " + portStr}
		}
		m.CustomListenPort, m.HasListenPort = port, true
	}
	m.Name = strings.ToLower(name)
	var err error
	switch m.Name {
	case ModeRegular, ModeTransparent, ModeSocks5, ModeDNS:
		if m.Data != "" {
			err = errors.New("mode takes no arguments")
		}
	case ModeUpstream:
		var addr ServerAddress
		m.Scheme, addr, err = ParseServerSpec(m.Data, "http")
		if err == nil && m.Scheme != "http" && m.Scheme != "https" {
			err = errors.New("invalid upstream proxy scheme")
		}
		m.Address = addr
	case ModeReverse:
		m.Scheme, m.Address, err = ParseServerSpec(m.Data, "https")
	case ModeWireGuard, ModeLocal, ModeTun:
		// Their data (a configuration file, a process list, an interface
		// name) is for the modes themselves, which mitmgo has not yet.
	case modeOsProxy:
		err = errors.New("osproxy mode has been renamed to local mode. Thanks for trying our experimental features!")
	default:
		err = errors.New("unknown mode")
	}
	if err != nil {
		return nil, &ModeError{s, err.Error()}
	}
	return m, nil
}

// parsePort reads a port as Python's int() reads the digits mitmproxy
// gives it, in 0-65535: surrounding white space and one sign are allowed,
// and so are underscores between digits.
func parsePort(s string) (int, bool) {
	t := strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	n, ok := pyDigits(t)
	if !ok || (neg && n != 0) || n > 65535 {
		return 0, false
	}
	return n, true
}

// pyDigits reads a non-empty run of decimal digits (any script's, as
// Python's int()), with single underscores between them; it stops caring
// about the value past 65536.
func pyDigits(t string) (int, bool) {
	n, digits, lastUnderscore := 0, 0, false
	for i, r := range t {
		if r == '_' {
			if i == 0 || lastUnderscore {
				return 0, false
			}
			lastUnderscore = true
			continue
		}
		lastUnderscore = false
		d := digitValue(r)
		if d < 0 {
			return 0, false
		}
		digits++
		if n <= 65536 {
			n = n*10 + d
		}
	}
	if digits == 0 || lastUnderscore {
		return 0, false
	}
	return n, true
}

// digitValue is the value of a Unicode decimal digit (category Nd), or -1.
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if !unicode.Is(unicode.Nd, r) {
		return -1
	}
	// Nd digits come in runs of ten from zero, some runs back to back.
	k := 0
	for k < 100 && unicode.Is(unicode.Nd, r-rune(k)-1) {
		k++
	}
	return k % 10
}

// Description is the mode as mitmproxy 12 names its servers in the log
// ("HTTP(S) proxy listening at *:8080.").
func (m *ProxyMode) Description() string {
	switch m.Name {
	case ModeRegular:
		return "HTTP(S) proxy"
	case ModeTransparent:
		return "Transparent Proxy"
	case ModeUpstream:
		return "HTTP(S) proxy (upstream mode)"
	case ModeReverse:
		return "reverse proxy to " + m.Data
	case ModeSocks5:
		return "SOCKS v5 proxy"
	case ModeDNS:
		return "DNS server"
	case ModeWireGuard:
		return "WireGuard server"
	case ModeLocal:
		return "Local redirector"
	case ModeTun:
		return "TUN interface"
	}
	return m.Name
}

// DefaultPort is the port the mode listens on when neither the spec nor
// the listen_port option names one; ok is false for modes that listen on
// no port (local, tun).
func (m *ProxyMode) DefaultPort() (port int, ok bool) {
	switch m.Name {
	case ModeSocks5:
		return 1080, true
	case ModeDNS:
		return 53, true
	case ModeWireGuard:
		return 51820, true
	case ModeLocal, ModeTun:
		return 0, false
	case ModeReverse:
		if m.Scheme == "dns" {
			return 53, true
		}
	}
	return 8080, true
}

// ListenHost is where the mode's server listens: the spec's host, else
// the listen_host option (def), "" meaning every address.
func (m *ProxyMode) ListenHost(def string) string {
	if m.HasListenHost {
		return m.CustomListenHost
	}
	return def
}

// ListenPort is the mode's port: the spec's, else the listen_port option
// (def, when set), else the mode's default.
func (m *ProxyMode) ListenPort(def *int) (int, bool) {
	switch {
	case m.HasListenPort:
		return m.CustomListenPort, true
	case def != nil:
		return *def, true
	}
	return m.DefaultPort()
}

// TransportProtocol is what mitmproxy 12's server for the mode listens
// with: TCP, UDP or Both.
func (m *ProxyMode) TransportProtocol() string {
	switch m.Name {
	case ModeWireGuard:
		return UDP
	case ModeDNS, ModeLocal, ModeTun:
		return Both
	case ModeReverse:
		switch m.Scheme {
		case "http3", "dtls", "udp", "quic":
			return UDP
		case "dns", "https":
			return Both
		}
	}
	return TCP
}

// String is the spec as written.
func (m *ProxyMode) String() string { return m.FullSpec }

// serverSpecRe is mitmproxy's server_spec_re: an optional scheme, a host
// (a name, an IPv4 address, or an IPv6 address in brackets), an optional
// port and an optional trailing slash. Python's \w and \d match any
// script's letters and digits.
var serverSpecRe = regexp.MustCompile(`^(?:([\p{L}\p{N}_]+)://)?([^:/]+|\[.+\])(?::(\p{Nd}+))?/?$`)

// serverSchemes are the schemes a server spec may name.
var serverSchemes = map[string]bool{
	"http": true, "https": true, "http3": true, "tls": true, "dtls": true,
	"tcp": true, "udp": true, "dns": true, "quic": true,
}

// ParseServerSpec parses a server spec as mitmproxy 12's
// server_spec.parse: "[scheme://]host[:port][/]", e.g.
// "http://example.com/", "example.org" or "example.com:443"; the scheme
// defaults to defaultScheme, the port to the scheme's (http 80; https,
// http3 and quic 443; dns 53), and schemes without one (tls, tcp, udp,
// dtls) need it written.
func ParseServerSpec(s, defaultScheme string) (scheme string, addr ServerAddress, err error) {
	m := serverSpecRe.FindStringSubmatch(s)
	if m == nil {
		return "", ServerAddress{}, fmt.Errorf("Invalid server specification: %s", s)
	}
	scheme = m[1]
	if scheme == "" {
		scheme = defaultScheme
	}
	if !serverSchemes[scheme] {
		return "", ServerAddress{}, fmt.Errorf("Invalid server scheme: %s", scheme)
	}
	host := m[2]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if !ValidHost(host) {
		return "", ServerAddress{}, fmt.Errorf("Invalid hostname: %s", host)
	}
	port := 0
	if m[3] != "" {
		n, ok := pyDigits(m[3])
		if !ok || n > 65535 {
			return "", ServerAddress{}, fmt.Errorf("Invalid port: %s", strings.TrimLeft(m[3], "0"))
		}
		port = n
	} else {
		switch scheme {
		case "http":
			port = 80
		case "https", "quic", "http3":
			port = 443
		case "dns":
			port = 53
		default:
			return "", ServerAddress{}, errors.New("Port specification missing.")
		}
	}
	return scheme, ServerAddress{Host: host, Port: port}, nil
}

// ValidHost reports whether host is a DNS name (labels of letters, digits,
// "-" and "_", internationalized names in their IDNA form) or an IP
// address, as mitmproxy's check.is_valid_host.
func ValidHost(host string) bool {
	ascii := host
	if !isASCII(host) {
		a, err := idna.ToASCII(host)
		if err != nil {
			return false
		}
		ascii = a
	}
	if len(ascii) > 255 {
		return false
	}
	if labelsValid(ascii) {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// labelsValid reports whether every label of name (one trailing dot
// allowed) is 1-63 letters, digits, "-" or "_".
func labelsValid(name string) bool {
	name = strings.TrimSuffix(name, ".")
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
