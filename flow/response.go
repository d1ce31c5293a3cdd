package flow

import (
	"net/http"
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

// NewResponse is mitmproxy's Response.make: an HTTP/1.1 response with the
// standard reason phrase and Content-Length set from content. headers may be
// nil.
func NewResponse(status int, content []byte, headers Headers) *Response {
	r := &Response{
		Message:    Message{HTTPVersion: "HTTP/1.1", Headers: headers.Clone()},
		StatusCode: status,
		Reason:     http.StatusText(status),
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
