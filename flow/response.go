package flow

import (
	"strconv"
	"strings"
)

// Response is an HTTP response with mitmproxy's semantics.
type Response struct {
	Message
	StatusCode int
	// Reason is the reason phrase as sent; "" on HTTP/2.
	Reason string
}

// NewResponse is mitmproxy's Response.make: an HTTP/1.1 response with
// mitmproxy's reason phrase (see ReasonPhrase) and Content-Length set from
// content. headers may be nil.
func NewResponse(status int, content []byte, headers Headers) *Response {
	r := &Response{
		Message:    Message{HTTPVersion: "HTTP/1.1", Headers: headers.Clone()},
		StatusCode: status,
		Reason:     ReasonPhrase(status),
	}
	if r.Headers == nil {
		r.Headers = Headers{}
	}
	now := nowSeconds()
	r.TimestampStart, r.TimestampEnd = now, now
	if content == nil {
		content = []byte{}
	}
	r.SetContent(content)
	return r
}

// reasonPhrases is mitmproxy's status table
// (mitmproxy/net/http/status_codes.py RESPONSES), which Response.make uses.
// It differs from net/http's StatusText in wording ("Request Time-out",
// "Payload Too Large", ...) and in the codes it knows.
var reasonPhrases = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
	204: "No Content", 205: "Reset Content.", 206: "Partial Content", 207: "Multi-Status",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
	304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
	407: "Proxy Authentication Required", 408: "Request Time-out", 409: "Conflict", 410: "Gone",
	411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
	414: "Request-URI Too Long", 415: "Unsupported Media Type",
	416: "Requested Range not satisfiable", 417: "Expectation Failed", 418: "I'm a teapot",
	444: "No Response", 499: "Client Closed Request",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Time-out", 505: "HTTP Version not supported",
	507: "Insufficient Storage Space", 510: "Not Extended",
}

// ReasonPhrase is mitmproxy's reason phrase for status, "" when its table
// has none.
func ReasonPhrase(status int) string { return reasonPhrases[status] }

// ResponseCookie is one Set-Cookie header, parsed.
type ResponseCookie struct {
	Name, Value string
	// Attrs holds the cookie attributes in order; flags such as HttpOnly have
	// an empty value and Flag set.
	Attrs []CookieAttr
}

// CookieAttr is one attribute of a Set-Cookie header.
type CookieAttr struct {
	Name, Value string
	Flag        bool
}

// Cookies parses every Set-Cookie header.
func (r *Response) Cookies() []ResponseCookie {
	var out []ResponseCookie
	for _, h := range r.Headers.GetAll("set-cookie") {
		parts := strings.Split(h, ";")
		name, value, _ := strings.Cut(parts[0], "=")
		c := ResponseCookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
		for _, a := range parts[1:] {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			k, v, hasValue := strings.Cut(a, "=")
			c.Attrs = append(c.Attrs, CookieAttr{Name: strings.TrimSpace(k), Value: strings.TrimSpace(v), Flag: !hasValue})
		}
		out = append(out, c)
	}
	return out
}

// StatusLine renders "HTTP/1.1 200 OK".
func (r *Response) StatusLine() string {
	return r.HTTPVersion + " " + strconv.Itoa(r.StatusCode) + " " + r.Reason
}

// Clone returns a deep copy of r.
func (r *Response) Clone() *Response {
	if r == nil {
		return nil
	}
	c := *r
	c.Message = r.Message.clone()
	return &c
}
