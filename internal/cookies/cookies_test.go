package cookies

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCookieHeader(t *testing.T) {
	// Expectations from mitmproxy's test_cookies.py (cookie_pairs).
	tests := []struct {
		in   string
		want []Pair
	}{
		{"", nil},
		{"=uno", []Pair{{Name: "", Value: "uno"}}},
		{"one=uno", []Pair{{Name: "one", Value: "uno"}}},
		{"one", []Pair{{Name: "one"}}},
		{"one=uno; two=due", []Pair{{Name: "one", Value: "uno"}, {Name: "two", Value: "due"}}},
		{`one="uno"; two="\due"`, []Pair{{Name: "one", Value: "uno"}, {Name: "two", Value: "due"}}},
		{`one="un\"o"`, []Pair{{Name: "one", Value: `un"o`}}},
		{`one="uno,due"`, []Pair{{Name: "one", Value: "uno,due"}}},
		{"one=uno; two; three=tre", []Pair{{Name: "one", Value: "uno"}, {Name: "two"}, {Name: "three", Value: "tre"}}},
		{"_lvs2=zHai1+Hq+Tc2vmc2r4GAbdOI5Jopg3EwsdUT9g=; _rcc2=53VdltWl+Ov6ordflA==;",
			[]Pair{{Name: "_lvs2", Value: "zHai1+Hq+Tc2vmc2r4GAbdOI5Jopg3EwsdUT9g="}, {Name: "_rcc2", Value: "53VdltWl+Ov6ordflA=="}}},
		{`a=b; c="q\"x"; d`, []Pair{{Name: "a", Value: "b"}, {Name: "c", Value: `q"x`}, {Name: "d"}}},
		{"cookiename=coo=kievalue;other=x", []Pair{{Name: "cookiename", Value: "coo=kievalue"}, {Name: "other", Value: "x"}}},
		{" x =1 ; \u00a0y", []Pair{{Name: "x ", Value: "1 "}, {Name: "y"}}}, // lstrip only, Unicode spaces too
		{";;", nil},
	}
	for _, tt := range tests {
		if got := ParseCookieHeader(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCookieHeader(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSetCookieHeader(t *testing.T) {
	// Expectations from mitmproxy's parse_set_cookie_header; attributes and
	// cookies without "=" are None (Flag) since mitmproxy 10.2, "" before.
	tests := []struct {
		in   string
		want []SetCookie
	}{
		{"SSID=mooo; domain=.google.com, FOO=bar; Domain=.google.com; Path=/; Expires=Wed, 13-Jan-2021 22:23:01 GMT; Secure; ",
			[]SetCookie{{Name: "SSID", Value: "mooo", Attrs: []Pair{{Name: "domain", Value: ".google.com"}}},
				{Name: "FOO", Value: "bar", Attrs: []Pair{{Name: "Domain", Value: ".google.com"}, {Name: "Path", Value: "/"},
					{Name: "Expires", Value: "Wed, 13-Jan-2021 22:23:01 GMT"}, {Name: "Secure", Flag: true}}}}},
		{`a="quo\"ted;,"; Path=/x`, []SetCookie{{Name: "a", Value: `quo"ted;,`, Attrs: []Pair{{Name: "Path", Value: "/x"}}}}},
		{"noval", []SetCookie{{Name: "noval", Flag: true}}},
		{"noval=", []SetCookie{{Name: "noval"}}},
		{" , ,a=b", []SetCookie{{Name: "a", Value: "b"}}},
		{"a=b; expires=Thu, 01 Jan 1970 00:00:00 GMT, c=d", []SetCookie{
			{Name: "a", Value: "b", Attrs: []Pair{{Name: "expires", Value: "Thu, 01 Jan 1970 00:00:00 GMT"}}}, {Name: "c", Value: "d"}}},
		{"foo=bar; expires=Mon, 24 Aug 2037", []SetCookie{{Name: "foo", Value: "bar", Attrs: []Pair{{Name: "expires", Value: "Mon, 24 Aug 2037"}}}}},
		{"foo=bar; path=/, doo=dar; roo=rar; zoo=zar", []SetCookie{
			{Name: "foo", Value: "bar", Attrs: []Pair{{Name: "path", Value: "/"}}},
			{Name: "doo", Value: "dar", Attrs: []Pair{{Name: "roo", Value: "rar"}, {Name: "zoo", Value: "zar"}}}}},
		{"one=un\x20", []SetCookie{{Name: "one", Value: "un "}}},
		{`x="unterminated`, []SetCookie{{Name: "x", Value: "unterminated"}}},
		{"k=v;", []SetCookie{{Name: "k", Value: "v"}}},
		{"=v", []SetCookie{{Name: "", Value: "v"}}},
		{";", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := ParseSetCookieHeader(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSetCookieHeader(%q) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
		}
	}
	c := ParseSetCookieHeader("a=b; Max-Age=0; HttpOnly; max-age=5")[0]
	if a, _ := c.Attr("MAX-AGE"); a.Value != "5" {
		t.Errorf("Attr = %q, want the last value", a.Value)
	}
	if a, ok := c.Attr("httponly"); !ok || !a.Flag {
		t.Errorf("Attr(httponly) = %+v, %v; want a flag", a, ok)
	}
	if _, ok := c.Attr("secure"); ok {
		t.Error("Attr found a missing attribute")
	}
}

func TestFormatCookieHeader(t *testing.T) {
	got := FormatCookieHeader([]Pair{{Name: "a", Value: "b c"}, {Name: "d", Value: `e"f\`}, {Name: "g", Value: "h"}, {Name: "bare", Flag: true}, {Name: "e"}})
	if want := `a="b c"; d="e\"f\\"; g=h; bare; e=`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestCookieRoundTrip is mitmproxy's test_cookie_roundtrips: formatting
// what was parsed parses back the same.
func TestCookieRoundTrip(t *testing.T) {
	for _, s := range []string{"=uno", "", "one=uno", "one", "one=uno; two=due", `one="uno"; two="\due"`, `one="un\"o"`,
		`one="uno,due"`, "one=uno; two; three=tre", "a=\x00\xff; b=;", "x=é"} {
		want := ParseCookieHeader(s)
		if got := ParseCookieHeader(FormatCookieHeader(want)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: round trip gives %+v, want %+v", s, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	// Expectations from CPython 3.11's email.utils.parsedate_tz + mktime_tz.
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"Wed, 13-Jan-2021 22:23:01 GMT", 1610576581, true},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0, true},
		{"Sun Nov  6 08:49:37 1994", 784111777, true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", 784111777, true},
		{"6 Nov 1994 08:49 +0130", 784106340, true},
		{"Nov 6 1994 08:49:37 -0000", 784111777, true},
		{"06 November 94 08.49.37 EST", 784129777, true},
		{"garbage", 0, false},
		{"", 0, false},
		{"Wed, 13 Foo 2021 22:23:01 GMT", 0, false},
		{"13 Jan 2021 22", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in)
		if ok != tt.ok || (ok && got.Unix() != tt.want) {
			t.Errorf("ParseDate(%q) = %v (%d), %v; want %d, %v", tt.in, got, got.Unix(), ok, tt.want, tt.ok)
		}
	}
}

func TestExpired(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		cookie string
		want   bool
	}{
		{"a=b", false},
		{"a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT", true},
		{"a=b; Expires=Thu, 01 Jan 2099 00:00:00 GMT", false},
		{"a=b; Expires=nonsense; Max-Age=0", false},
		{"a=b; Max-Age=0", true},
		{"a=b; Max-Age=-1", true},
		{"a=b; Max-Age=10", false},
		{"a=b; Max-Age=x", false},
	}
	for _, tt := range tests {
		c := ParseSetCookieHeader(tt.cookie)[0]
		if got := c.Expired(now); got != tt.want {
			t.Errorf("%q expired = %v, want %v", tt.cookie, got, tt.want)
		}
	}
}

func FuzzParseCookieHeader(f *testing.F) {
	for _, s := range []string{"a=b; c=d", `a="x\"y"; b`, "=", ";;", `"`, "a=\"", " \u00a0a=1", "a=b,c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pairs := ParseCookieHeader(s)
		for _, p := range pairs {
			if p.Flag || p.Name == "" && p.Value == "" || strings.ContainsAny(p.Name, ";=") {
				t.Fatalf("ParseCookieHeader(%q): bad pair %+v", s, p)
			}
		}
		if again := ParseCookieHeader(FormatCookieHeader(pairs)); !reflect.DeepEqual(again, pairs) {
			t.Fatalf("ParseCookieHeader(%q) = %+v, but after formatting %+v", s, pairs, again)
		}
	})
}

func FuzzParseSetCookieHeader(f *testing.F) {
	for _, s := range []string{"a=b; Path=/", `a="x\"y"`, "a=b; expires=Wed, 21 Oct", ",,,=", `"`, "a=\"", "expires=Wed", "a; Secure, b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range ParseSetCookieHeader(s) {
			if c.Flag && c.Value != "" {
				t.Fatalf("ParseSetCookieHeader(%q): flag cookie with a value: %+v", s, c)
			}
			c.Expired(time.Now())
			c.Attr("domain")
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Wed, 13-Jan-2021 22:23:01 GMT", "Sun Nov  6 08:49:37 1994", "1 2 3 4 5", "a, b c", "x 1 jan 1:2 -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseDate(s)
	})
}
