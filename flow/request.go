package flow

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/internal/cookies"
)

// Request is an HTTP request with mitmproxy's semantics.
type Request struct {
	Message
	// Method as sent (mitmproxy upper-cases it when read as a str).
	Method string
	// Scheme is "http" or "https".
	Scheme string
	// Host is the target server: the absolute-form host, the CONNECT host, or
	// the Host header in origin-form requests.
	Host string
	Port int
	// Authority is the absolute-form or CONNECT authority, or HTTP/2's
	// :authority; "" for origin-form requests.
	Authority string
	// Path is the path plus query, e.g. "/a?b=c", or "*".
	Path string
}

// NewRequest is mitmproxy's Request.make: an HTTP/1.1 request for method and
// rawURL with content and headers.
func NewRequest(method, rawURL string, content []byte, headers Headers) (*Request, error) {
	r := &Request{
		Message: Message{HTTPVersion: "HTTP/1.1", Headers: headers.Clone()},
		Method:  strings.ToUpper(method),
	}
	if r.Headers == nil {
		r.Headers = Headers{}
	}
	now := nowSeconds()
	r.TimestampStart, r.TimestampEnd = now, now
	if err := r.SetURL(rawURL); err != nil {
		return nil, err
	}
	if content == nil {
		content = []byte{}
	}
	r.SetContent(content)
	if len(content) == 0 && !r.Headers.Has("content-length") {
		r.Headers.Del("content-length")
	}
	return r, nil
}

func nowSeconds() float64 {
	return float64(time.Now().UnixNano()) / 1e9
}

func defaultPort(scheme string) int {
	if scheme == "https" || scheme == "wss" {
		return 443
	}
	return 80
}

// hostPort formats host and port for an authority or URL, bracketing IPv6
// literals.
func hostPort(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

func hostWithDefaultPort(scheme, host string, port int) string {
	if port == defaultPort(scheme) {
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			return "[" + host + "]"
		}
		return host
	}
	return hostPort(host, port)
}

// URL is built from scheme, host, port and path; default ports are left out.
// As in mitmproxy, a CONNECT request's URL is host:port, and the asterisk
// of "OPTIONS * HTTP/1.1" is left out ("http://host").
func (r *Request) URL() string {
	if r.FirstLineFormat() == "authority" {
		return hostPort(r.Host, r.Port)
	}
	return r.Scheme + "://" + hostWithDefaultPort(r.Scheme, r.Host, r.Port) + urlPath(r.Path)
}

// urlPath is the path as it appears in a URL: mitmproxy's url.unparse drops
// the asterisk-form target.
func urlPath(path string) string {
	if path == "*" {
		return ""
	}
	return path
}

// SetURL parses rawURL into scheme, host, port and path, updating the Host
// header and authority as the host and port setters do.
func (r *Request) SetURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}
	if u.Scheme == "" || u.Hostname() == "" {
		return fmt.Errorf("invalid URL %q: scheme and host required", rawURL)
	}
	scheme := strings.ToLower(u.Scheme)
	// Python's urlparse().hostname, which mitmproxy uses, is lower-case.
	host := strings.ToLower(u.Hostname())
	port := defaultPort(scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("invalid URL %q: bad port", rawURL)
		}
		port = n
	}
	path := u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		path += "?" + u.RawQuery
	}
	if !strings.HasPrefix(path, "/") {
		// "http://host?x=1" has the path "/?x=1", as in mitmproxy.
		path = "/" + path
	}
	r.Scheme = scheme
	r.Path = path
	r.setHostPort(host, port)
	return nil
}

// SetHost changes the target host; the Host header (if present) and the
// authority (if non-empty) follow, as in mitmproxy.
func (r *Request) SetHost(host string) { r.setHostPort(host, r.Port) }

// SetPort changes the target port; Host header and authority follow.
func (r *Request) SetPort(port int) { r.setHostPort(r.Host, port) }

func (r *Request) setHostPort(host string, port int) {
	r.Host, r.Port = host, port
	hp := hostWithDefaultPort(r.Scheme, host, port)
	if r.Headers.Has("host") {
		r.Headers.Set("host", hp)
	}
	if r.Authority != "" {
		if r.Method == "CONNECT" {
			r.Authority = hostPort(host, port)
		} else {
			r.Authority = hp
		}
	}
}

// HostHeader is the Host header for HTTP/1, the authority (falling back to
// Host) for HTTP/2 and later. For HTTP/1 the authority of an absolute-form
// or CONNECT request does not count: without a Host header the result is
// "" (mitmproxy's None), so pretty_host and pretty_url use the target host.
func (r *Request) HostHeader() string {
	if r.IsHTTP2() || strings.HasPrefix(r.HTTPVersion, "HTTP/3") {
		if r.Authority != "" {
			return r.Authority
		}
	}
	return r.Headers.Get("host")
}

// FirstLineFormat is "authority" for CONNECT, "absolute" when an authority is
// present, else "relative".
func (r *Request) FirstLineFormat() string {
	switch {
	case r.Method == "CONNECT":
		return "authority"
	case r.Authority != "":
		return "absolute"
	}
	return "relative"
}

// PrettyHost prefers the Host header (or authority) over the connection's
// target host, without the port.
func (r *Request) PrettyHost() string {
	authority := r.HostHeader()
	if authority == "" {
		return r.Host
	}
	if !strings.Contains(authority, ":") {
		// No port (and not IPv6): SplitHostPort would only fail, and
		// allocate its error, on every request.
		return authority
	}
	if h, _, err := net.SplitHostPort(authority); err == nil {
		return h
	}
	return strings.Trim(authority, "[]")
}

// PrettyURL is URL built with the Host header (or authority).
func (r *Request) PrettyURL() string {
	if r.FirstLineFormat() == "authority" {
		return r.Authority
	}
	authority := r.HostHeader()
	if authority == "" {
		return r.URL()
	}
	host, port := authority, defaultPort(r.Scheme)
	if h, p, err := net.SplitHostPort(authority); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	} else {
		host = strings.Trim(authority, "[]")
	}
	return r.Scheme + "://" + hostWithDefaultPort(r.Scheme, host, port) + urlPath(r.Path)
}

// PathOnly is the path without the query string.
func (r *Request) PathOnly() string {
	p, _, _ := strings.Cut(r.Path, "?")
	return p
}

// Query returns the query string's fields in order.
func (r *Request) Query() MultiDict {
	_, q, ok := strings.Cut(r.Path, "?")
	if !ok {
		return nil
	}
	return parseURLEncoded(q)
}

// SetQuery replaces the query string.
func (r *Request) SetQuery(q MultiDict) {
	p := r.PathOnly()
	if len(q) > 0 {
		p += "?" + q.URLEncode()
	}
	r.Path = p
}

// Cookies returns the request's cookies from every Cookie header, in order,
// parsed as mitmproxy's Request.cookies: a value may be quoted (with
// backslash escapes), and a name without "=" has an empty value.
func (r *Request) Cookies() MultiDict {
	var out MultiDict
	for _, h := range r.Headers.GetAll("cookie") {
		for _, p := range cookies.ParseCookieHeader(h) {
			out = append(out, Pair{p.Name, p.Value})
		}
	}
	return out
}

// SetCookies replaces the Cookie header with cookies, quoting values as
// mitmproxy's format_cookie_header; no cookies remove the header.
func (r *Request) SetCookies(c MultiDict) {
	if len(c) == 0 {
		r.Headers.Del("cookie")
		return
	}
	pairs := make([]cookies.Pair, len(c))
	for i, p := range c {
		pairs[i] = cookies.Pair{Name: p.Key, Value: p.Value}
	}
	r.Headers.Set("cookie", cookies.FormatCookieHeader(pairs))
}

// URLEncodedForm returns the form fields of an
// application/x-www-form-urlencoded body; empty for other content types.
func (r *Request) URLEncodedForm() MultiDict {
	if !strings.Contains(strings.ToLower(r.Headers.Get("content-type")), "application/x-www-form-urlencoded") {
		return nil
	}
	c := r.ContentOrRaw()
	return parseURLEncoded(string(c))
}

// SetURLEncodedForm writes the form as the body and sets the Content-Type.
func (r *Request) SetURLEncodedForm(form MultiDict) {
	r.Headers.Set("content-type", "application/x-www-form-urlencoded")
	r.SetContent([]byte(form.URLEncode()))
}

// Anticache removes headers that let the server answer 304 Not Modified.
func (r *Request) Anticache() {
	r.Headers.Del("if-modified-since")
	r.Headers.Del("if-none-match")
}

// Anticomp asks the server for an uncompressed response.
func (r *Request) Anticomp() {
	r.Headers.Set("accept-encoding", "identity")
}

// ConstrainEncoding limits Accept-Encoding to encodings mitmgo can decode.
func (r *Request) ConstrainEncoding() {
	ae, ok := r.Headers.Lookup("accept-encoding")
	if !ok {
		return
	}
	var keep []string
	for _, e := range strings.Split(ae, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(e), ";")
		if name != "" && IsSupportedEncoding(name) {
			keep = append(keep, strings.TrimSpace(e))
		}
	}
	r.Headers.Set("accept-encoding", strings.Join(keep, ", "))
}

// Clone returns a deep copy of r.
func (r *Request) Clone() *Request {
	if r == nil {
		return nil
	}
	c := *r
	c.Message = r.Message.clone()
	return &c
}

func (m Message) clone() Message {
	m.Headers = m.Headers.Clone()
	m.Trailers = m.Trailers.Clone()
	if m.RawContent != nil {
		m.RawContent = append([]byte{}, m.RawContent...)
	}
	return m
}
