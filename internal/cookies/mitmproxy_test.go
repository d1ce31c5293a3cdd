package cookies

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

// TestAgainstMitmproxy parses random headers with this package and with
// the cookies module of Debian's mitmproxy 8.1.1, and compares. mitmproxy
// 8.1.1 reads an attribute or cookie without "=" as "" where mitmproxy
// 10.2 and later (and Flag here) read None; the comparison maps Flag to "".
func TestAgainstMitmproxy(t *testing.T) {
	py := pyoracle.Find(t, "/usr/bin/python3", "mitmproxy.net.http.cookies")
	r := rand.New(rand.NewPCG(7, 11))
	atoms := []string{"a", "b", "=", ";", ",", " ", `"`, `\`, "expires", "Expires", "=Wed", "Wed, 21 Oct 2015 07:28:00 GMT",
		"path", "/", "Max-Age=0", "Secure", "é", "\t", "\u00a0", "\x1c", "x=1", "; "}
	var inputs []string
	for i := 0; i < 400; i++ {
		var sb strings.Builder
		for n := r.IntN(8); n >= 0; n-- {
			sb.WriteString(atoms[r.IntN(len(atoms))])
		}
		inputs = append(inputs, sb.String())
	}
	dates := []string{"Wed, 21 Oct 2015 07:28:00 GMT", "Sun Nov  6 08:49:37 1994", "Sunday, 06-Nov-94 08:49:37 GMT",
		"6 Nov 1994 08:49 +0130", "Nov 6 1994 08:49:37 -0000", "06 November 94 08.49.37 EST", "1 Jan 70 0:0:0 PDT",
		"Thu, 01-Jan-1970 00:00:00 GMT", "Mon, 24-Aug-2037 00:00:00 GMT", "31 Dec 2037 23:59:59", "garbage", "", "a, b c d e"}
	const script = `
import email.utils, json, sys
from mitmproxy.net.http import cookies
req = json.load(sys.stdin)
out = {"cookie": [], "setcookie": [], "dates": []}
for s in req["headers"]:
    pairs = cookies.parse_cookie_header(s)
    out["cookie"].append([pairs, cookies.format_cookie_header(pairs)])
    out["setcookie"].append([[n, v, list(map(list, a.fields))] for n, v, a in cookies.parse_set_cookie_header(s)])
for d in req["dates"]:
    e = email.utils.parsedate_tz(d)
    out["dates"].append(email.utils.mktime_tz(e) if e else None)
json.dump(out, sys.stdout)
`
	var want struct {
		Cookie    [][2]json.RawMessage
		SetCookie []json.RawMessage
		Dates     []*int64
	}
	pyoracle.Run(t, py, script, map[string][]string{"headers": inputs, "dates": dates}, &want)
	// norm brings a Go value and a Python JSON text to one form.
	norm := func(v any) string {
		b, ok := v.(json.RawMessage)
		if !ok {
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(x)
		return string(out)
	}
	for i, s := range inputs {
		pairs := ParseCookieHeader(s)
		got := [][2]string{}
		for _, p := range pairs {
			got = append(got, [2]string{p.Name, p.Value})
		}
		if g, w := norm(got), norm(want.Cookie[i][0]); g != w {
			t.Errorf("ParseCookieHeader(%q) = %s, mitmproxy %s", s, g, w)
		}
		if g, w := norm(FormatCookieHeader(pairs)), norm(want.Cookie[i][1]); g != w {
			t.Errorf("FormatCookieHeader(ParseCookieHeader(%q)) = %s, mitmproxy %s", s, g, w)
		}
		gotSet := [][3]any{}
		for _, c := range ParseSetCookieHeader(s) {
			attrs := [][2]string{}
			for _, a := range c.Attrs {
				attrs = append(attrs, [2]string{a.Name, a.Value}) // a Flag's Value is ""
			}
			gotSet = append(gotSet, [3]any{c.Name, c.Value, attrs})
		}
		if g, w := norm(gotSet), norm(want.SetCookie[i]); g != w {
			t.Errorf("ParseSetCookieHeader(%q) = %s, mitmproxy %s", s, g, w)
		}
	}
	for i, d := range dates {
		tm, ok := ParseDate(d)
		w := want.Dates[i]
		switch {
		case ok != (w != nil):
			t.Errorf("ParseDate(%q) ok = %v, Python %v", d, ok, w)
		case ok && tm.Unix() != *w:
			t.Errorf("ParseDate(%q) = %d, Python %d", d, tm.Unix(), *w)
		}
	}
}
