package flow

import (
	"reflect"
	"strings"
	"testing"
)

// These tests pin mitmproxy's Headers semantics (mitmproxy/http.py Headers
// on coretypes/multidict.py, test/mitmproxy/net/http/test_headers.py).

func TestHeadersGet(t *testing.T) {
	h := NewHeaders(
		"Host", "example.com",
		"Accept", "text/html",
		"accept", "application/xml",
		"X-Empty", "",
		"ACCEPT", "*/*",
	)
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"Host", "example.com", true},
		{"host", "example.com", true},
		{"HOST", "example.com", true},
		// Every value, in order, folded with ", " (RFC 9110 §5.3).
		{"Accept", "text/html, application/xml, */*", true},
		{"aCcEpT", "text/html, application/xml, */*", true},
		{"X-Empty", "", true},
		{"x-empty", "", true},
		{"Missing", "", false},
		{"", "", false},
		// No prefix or substring matching.
		{"Hos", "", false},
		{"Host ", "", false},
	}
	for _, tt := range tests {
		if got := h.Get(tt.name); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.name, got, tt.want)
		}
		got, ok := h.Lookup(tt.name)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Lookup(%q) = %q, %v, want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
		if ok := h.Has(tt.name); ok != tt.wantOK {
			t.Errorf("Has(%q) = %v, want %v", tt.name, ok, tt.wantOK)
		}
	}
	var zero Headers
	if zero.Get("x") != "" || zero.Has("x") || zero.Len() != 0 || zero.Keys() != nil || len(zero.Bytes()) != 0 {
		t.Errorf("zero Headers is not empty")
	}
}

func TestHeadersGetAll(t *testing.T) {
	h := NewHeaders("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "X", "y", "set-cookie", "b=2")
	want := []string{"a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "b=2"}
	if got := h.GetAll("SET-COOKIE"); !reflect.DeepEqual(got, want) {
		t.Errorf("GetAll = %q, want %q", got, want)
	}
	if got := h.GetAll("missing"); got != nil {
		t.Errorf("GetAll(missing) = %q, want nil", got)
	}
}

func TestHeadersSet(t *testing.T) {
	tests := []struct {
		name       string
		in         Headers
		key, value string
		want       Headers
	}{
		{
			name: "absent is appended with the given spelling",
			in:   NewHeaders("A", "1"),
			key:  "New-Header", value: "v",
			want: NewHeaders("A", "1", "New-Header", "v"),
		},
		{
			name: "single replaced in place keeping its spelling",
			in:   NewHeaders("A", "1", "Content-Type", "text/plain", "B", "2"),
			key:  "content-type", value: "text/html",
			want: NewHeaders("A", "1", "Content-Type", "text/html", "B", "2"),
		},
		{
			name: "duplicates collapse to the first position",
			in:   NewHeaders("X", "1", "A", "a", "x", "2", "B", "b", "X", "3"),
			key:  "X", value: "new",
			want: NewHeaders("X", "new", "A", "a", "B", "b"),
		},
		{
			name: "empty value is kept",
			in:   NewHeaders("A", "1"),
			key:  "a", value: "",
			want: NewHeaders("A", ""),
		},
		{
			name: "nil headers",
			in:   nil,
			key:  "Host", value: "h",
			want: NewHeaders("Host", "h"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in.Clone()
			h.Set(tt.key, tt.value)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %q, want %q", h, tt.want)
			}
			if !reflect.DeepEqual(tt.in, tt.in.Clone()) {
				t.Errorf("input modified")
			}
		})
	}
}

func TestHeadersSetAll(t *testing.T) {
	tests := []struct {
		name   string
		in     Headers
		key    string
		values []string
		want   Headers
	}{
		{
			name: "more values than fields: positions kept, rest appended",
			in:   NewHeaders("Set-Cookie", "old", "A", "1"),
			key:  "set-cookie", values: []string{"n1", "n2", "n3"},
			want: NewHeaders("Set-Cookie", "n1", "A", "1", "set-cookie", "n2", "set-cookie", "n3"),
		},
		{
			name: "fewer values than fields: surplus removed",
			in:   NewHeaders("X", "1", "A", "a", "X", "2", "x", "3"),
			key:  "X", values: []string{"n1", "n2"},
			want: NewHeaders("X", "n1", "A", "a", "X", "n2"),
		},
		{
			name: "empty values remove the header",
			in:   NewHeaders("X", "1", "A", "a", "x", "2"),
			key:  "x", values: nil,
			want: NewHeaders("A", "a"),
		},
		{
			name: "absent",
			in:   NewHeaders("A", "a"),
			key:  "B", values: []string{"1", "2"},
			want: NewHeaders("A", "a", "B", "1", "B", "2"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in.Clone()
			h.SetAll(tt.key, tt.values)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %q, want %q", h, tt.want)
			}
		})
	}
}

func TestHeadersAddInsertDel(t *testing.T) {
	h := NewHeaders("A", "1")
	h.Add("a", "2")
	h.Add("B", "3")
	if want := NewHeaders("A", "1", "a", "2", "B", "3"); !reflect.DeepEqual(h, want) {
		t.Fatalf("after Add: %q", h)
	}
	tests := []struct {
		index int
		want  Headers
	}{
		{0, NewHeaders("I", "i", "A", "1", "a", "2", "B", "3")},
		{1, NewHeaders("A", "1", "I", "i", "a", "2", "B", "3")},
		{3, NewHeaders("A", "1", "a", "2", "B", "3", "I", "i")},
		// Out-of-range indexes are clamped.
		{99, NewHeaders("A", "1", "a", "2", "B", "3", "I", "i")},
		{-5, NewHeaders("I", "i", "A", "1", "a", "2", "B", "3")},
	}
	for _, tt := range tests {
		c := h.Clone()
		c.Insert(tt.index, "I", "i")
		if !reflect.DeepEqual(c, tt.want) {
			t.Errorf("Insert(%d) = %q, want %q", tt.index, c, tt.want)
		}
	}

	d := h.Clone()
	d.Del("A")
	if want := NewHeaders("B", "3"); !reflect.DeepEqual(d, want) {
		t.Errorf("Del(A) = %q, want %q", d, want)
	}
	d.Del("missing")
	if want := NewHeaders("B", "3"); !reflect.DeepEqual(d, want) {
		t.Errorf("Del(missing) = %q, want %q", d, want)
	}
	d.Del("b")
	if len(d) != 0 {
		t.Errorf("Del(b) left %q", d)
	}
	var nilH Headers
	nilH.Del("x")
	nilH.SetAll("x", nil)
	if nilH != nil {
		t.Errorf("removing from nil Headers made them non-nil")
	}
	nilH.Add("X", "1")
	nilH.Insert(0, "Y", "2")
	if want := NewHeaders("Y", "2", "X", "1"); !reflect.DeepEqual(nilH, want) {
		t.Errorf("nil Headers: %q", nilH)
	}
}

func TestHeadersKeysLen(t *testing.T) {
	h := NewHeaders("Accept", "a", "Host", "h", "ACCEPT", "b", "x-y", "1", "host", "h2")
	if got, want := h.Keys(), []string{"Accept", "Host", "x-y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %q, want %q", got, want)
	}
	if got := h.Len(); got != 3 {
		t.Errorf("Len = %d, want 3 (distinct names)", got)
	}
	if len(h) != 5 {
		t.Errorf("len(h) = %d, want 5 fields", len(h))
	}
}

func TestHeadersBytes(t *testing.T) {
	tests := []struct {
		h    Headers
		want string
	}{
		{nil, ""},
		{NewHeaders(), ""},
		{NewHeaders("Host", "example.com"), "Host: example.com\r\n"},
		{NewHeaders("A", "1", "a", "", "X-Bin", "\xff\x00"), "A: 1\r\na: \r\nX-Bin: \xff\x00\r\n"},
	}
	for _, tt := range tests {
		if got := string(tt.h.Bytes()); got != tt.want {
			t.Errorf("Bytes(%q) = %q, want %q", tt.h, got, tt.want)
		}
		if got := tt.h.String(); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestHeadersCloneIndependent(t *testing.T) {
	h := NewHeaders("A", "1", "B", "2")
	c := h.Clone()
	c[0].Value = "changed"
	c.Add("C", "3")
	if h[0].Value != "1" || len(h) != 2 {
		t.Errorf("Clone shares storage: %q", h)
	}
	if Headers(nil).Clone() != nil {
		t.Errorf("Clone(nil) != nil")
	}
	if c := (Headers{}).Clone(); c == nil || len(c) != 0 {
		t.Errorf("Clone(empty) = %#v, want empty non-nil", c)
	}
}

func TestNewHeadersOddArgs(t *testing.T) {
	// A trailing name without a value is ignored.
	if got := NewHeaders("A", "1", "B"); !reflect.DeepEqual(got, NewHeaders("A", "1")) {
		t.Errorf("NewHeaders odd = %q", got)
	}
}

func browserHeaders() Headers {
	return NewHeaders(
		"Host", "www.example.com",
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language", "en-US,en;q=0.5",
		"Accept-Encoding", "gzip, deflate, br, zstd",
		"Connection", "keep-alive",
		"Cookie", "session=abc123; theme=dark",
		"Upgrade-Insecure-Requests", "1",
		"Sec-Fetch-Dest", "document",
		"Sec-Fetch-Mode", "navigate",
		"Sec-Fetch-Site", "none",
		"Priority", "u=0, i",
	)
}

func BenchmarkHeadersGet(b *testing.B) {
	h := browserHeaders()
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Get("content-length") // absent: a full scan
		_ = h.Get("sec-fetch-site")
	}
}

func BenchmarkHeadersSet(b *testing.B) {
	base := browserHeaders()
	h := base.Clone()
	b.ReportAllocs()
	for b.Loop() {
		h.Set("accept-encoding", "identity")
		h.Set("content-length", "42")
		h.Del("content-length")
	}
}

// nameEqualCases are names that strings.EqualFold says are equal or not,
// for nameEqual's shortcuts: ASCII case, the characters that fold to ASCII
// letters (Kelvin sign, long s), and characters that share first bytes.
var nameEqualCases = [][2]string{
	{"Content-Length", "content-length"},
	{"content-length", "content-lengtH"},
	{"Host", "content-length"},
	{"host", "hosT"},
	{"host", "hos"},
	{"", ""},
	{"", "a"},
	{"\u212aeep-alive", "keep-alive"},
	{"Kee\u017f", "kees"},
	{"x-\u212a", "x-k"},
	{"x-\u212a", "x-\u212b"},
	{"\u212a", "\u212b"},
	{"\u212ax", "k"},
	{"a\xffb", "a\xfeb"},
	{"a\xffb", "A\xffB"},
	{"Ä", "ä"},
}

func TestNameEqualIsEqualFold(t *testing.T) {
	for _, c := range nameEqualCases {
		for _, p := range [][2]string{c, {c[1], c[0]}} {
			if got, want := nameEqual(p[0], p[1]), strings.EqualFold(p[0], p[1]); got != want {
				t.Errorf("nameEqual(%q, %q) = %v, strings.EqualFold says %v", p[0], p[1], got, want)
			}
		}
	}
}

func FuzzNameEqual(f *testing.F) {
	for _, c := range nameEqualCases {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := nameEqual(a, b), strings.EqualFold(a, b); got != want {
			t.Errorf("nameEqual(%q, %q) = %v, strings.EqualFold says %v", a, b, got, want)
		}
	})
}
