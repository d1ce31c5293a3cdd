package flow

import (
	"strconv"

	"github.com/mitmgo/mitmgo/internal/cookies"
	"github.com/mitmgo/mitmgo/internal/statuscodes"
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

// ReasonPhrase is mitmproxy's reason phrase for status, "" when its table
// (mitmproxy/net/http/status_codes.py RESPONSES) has none.
func ReasonPhrase(status int) string { return statuscodes.Reason(status) }

// ResponseCookie is one cookie of a Set-Cookie header, parsed as
// mitmproxy's Response.cookies: Name, Value, Flag (written without "="),
// and Attrs, with Attr for mitmproxy's case-insensitive, last-wins lookup.
type ResponseCookie = cookies.SetCookie

// CookieAttr is one attribute of a Set-Cookie header; flags such as
// HttpOnly have an empty value and Flag set.
type CookieAttr = cookies.Pair

// Cookies parses every Set-Cookie header, as mitmproxy's Response.cookies:
// one header may set several cookies, separated by commas.
func (r *Response) Cookies() []ResponseCookie {
	var out []ResponseCookie
	for _, h := range r.Headers.GetAll("set-cookie") {
		out = append(out, cookies.ParseSetCookieHeader(h)...)
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
