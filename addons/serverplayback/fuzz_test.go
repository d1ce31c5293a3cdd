package serverplayback

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/flow"
)

func FuzzParseQSL(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a+b=%20&&=", "%zz%4", "x=%ff%fe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pairs := parseQSL(s)
		if utf8.ValidString(s) {
			for _, p := range pairs {
				if !utf8.ValidString(p.key) || !utf8.ValidString(p.value) {
					t.Fatalf("parseQSL(%q) gave invalid UTF-8 %q", s, p)
				}
			}
		}
		p, q := splitURLPath(s)
		if len(p)+len(q) > len(s) {
			t.Fatalf("splitURLPath(%q) = %q, %q", s, p, q)
		}
	})
}

// FuzzHash checks that a request's key does not depend on anything but
// the request (equal requests, equal keys) and that nothing panics.
func FuzzHash(f *testing.F) {
	f.Add("POST", "/f?a=1", "a=1&b=2", "application/x-www-form-urlencoded")
	f.Add("POST", "/m", "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX--\r\n", "multipart/form-data; boundary=XX")
	f.Fuzz(func(t *testing.T, method, path, body, ctype string) {
		mk := func() *flow.Request {
			return &flow.Request{Message: flow.Message{Headers: flow.NewHeaders("Content-Type", ctype), RawContent: []byte(body)},
				Method: method, Scheme: "http", Host: "h", Port: 80, Path: path}
		}
		for _, c := range []hashConfig{{}, {ignorePayloadParams: []string{"b"}}, {ignoreParams: []string{"a"}, useHeaders: []string{"content-type"}}} {
			if hashRequest(mk(), &c) != hashRequest(mk(), &c) {
				t.Fatal("the same request hashed differently")
			}
		}
	})
}

func FuzzRefresh(f *testing.F) {
	f.Add("a=1; Expires=Wed, 01 Jan 2020 14:00:00 GMT; Path=/", "Wed, 01 Jan 2020 12:00:00 GMT")
	f.Add("=; expires=", "garbage")
	f.Fuzz(func(t *testing.T, cookie, date string) {
		if strings.ContainsAny(cookie+date, "\r\n") {
			return
		}
		r := flow.NewResponse(200, nil, flow.NewHeaders("Set-Cookie", cookie, "Date", date))
		Refresh(r, time.Unix(1700000000, 0))
		if len(r.Headers.GetAll("set-cookie")) != 1 || !r.Headers.Has("date") {
			t.Fatalf("headers lost: %v", r.Headers)
		}
	})
}
