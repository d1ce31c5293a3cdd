package human

import (
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// The expected values come from mitmproxy 8.1.1's human and strutils
// modules.

func TestPrettySize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0b"}, {1, "1b"}, {1023, "1023b"}, {1024, "1.0k"}, {1025, "1.0k"}, {1536, "1.5k"},
		{102348, "99.9k"}, {102349, "100k"}, {102400, "100k"}, {1048575, "1024k"}, {1048576, "1.0m"},
		{5 << 30, "5.0g"}, {2000 << 40, "2000t"}, {109907182312488, "100t"},
	}
	for _, tt := range tests {
		if got := PrettySize(tt.n); got != tt.want {
			t.Errorf("PrettySize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatAddress(t *testing.T) {
	tests := []struct {
		host string
		port int
		want string
	}{
		{"1.2.3.4", 5, "1.2.3.4:5"},
		{"::1", 5, "[::1]:5"},
		{"0.0.0.0", 8080, "*:8080"},
		{"::", 8080, "*:8080"},
		{"::ffff:1.2.3.4", 5, "1.2.3.4:5"},
		{"example.com", 443, "example.com:443"},
		{"2001:db8:0:0:1:0:0:1", 1, "[2001:db8::1:0:0:1]:1"},
		{"fe80::1%eth0", 22, "[fe80::1%eth0]:22"},
		{"", 0, "<no address>"},
	}
	for _, tt := range tests {
		if got := FormatAddress(flow.Address{Host: tt.host, Port: tt.port}); got != tt.want {
			t.Errorf("FormatAddress(%s, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"127.0.0.1:5": "127.0.0.1:5", "[::ffff:10.0.0.1]:80": "10.0.0.1:80", "[::1]:7": "[::1]:7",
		"not an address": "not an address", "host:http": "host:http",
	} {
		if got := FormatAddressString(in); got != want {
			t.Errorf("FormatAddressString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscaping(t *testing.T) {
	if got, want := BytesToEscapedStr("a\\b'c\"\x00\t\n\r\x7f\xc3\xa9", false), `a\\b'c"\x00\t\n\r\x7f\xc3\xa9`; got != want {
		t.Errorf("BytesToEscapedStr = %q, want %q", got, want)
	}
	if got, want := BytesToEscapedStr("a\tb\n", true), "a\tb\n"; got != want {
		t.Errorf("BytesToEscapedStr keepSpacing = %q, want %q", got, want)
	}
	if got, want := EscapeControl("a\x00b\tc\nd\re\x7f\u0085é", true), "a.b\tc\nd\re.\u0085é"; got != want {
		t.Errorf("EscapeControl = %q, want %q", got, want)
	}
	if got, want := EscapeControl("a\x00b\tc\nd\re\x7f", false), "a.b.c.d.e."; got != want {
		t.Errorf("EscapeControl = %q, want %q", got, want)
	}
	if got, want := DecodeBackslash([]byte("ok\xff\xe2\x82A€")), `ok\xff\xe2\x82A€`; got != want {
		t.Errorf("DecodeBackslash = %q, want %q", got, want)
	}
}

func TestPyStrings(t *testing.T) {
	if got, want := SplitLines("a\r\nb\rc\nd\u2028e\n", false), []string{"a", "b", "c", "d", "e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SplitLines = %q, want %q", got, want)
	}
	if got, want := SplitLines("a\r\n\nb", true), []string{"a\r\n", "\n", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SplitLines keepends = %q, want %q", got, want)
	}
	if got, want := Indent(4, "  first\n\nsecond\n\n"), "    first\n    \n    second"; got != want {
		t.Errorf("Indent = %q, want %q", got, want)
	}
	if got, want := PyStrip("\x1c\u00a0 x \u3000"), "x"; got != want {
		t.Errorf("PyStrip = %q, want %q", got, want)
	}
}

func TestStyle(t *testing.T) {
	tests := []struct {
		st   Style
		want string
	}{
		{Style{}, "x"},
		{Style{Set: true}, "x\x1b[0m"},
		{Style{Fg: "red", Bold: On}, "\x1b[31m\x1b[1mx\x1b[0m"},
		{Style{Bold: On, Blink: Off}, "\x1b[1m\x1b[25mx\x1b[0m"},
		{Style{Fg: "cyan", Dim: On}, "\x1b[36m\x1b[2mx\x1b[0m"},
		{Style{Fg: "bright_blue"}, "\x1b[94mx\x1b[0m"},
	}
	for _, tt := range tests {
		if got := tt.st.Apply("x"); got != tt.want {
			t.Errorf("%+v.Apply = %q, want %q", tt.st, got, tt.want)
		}
	}
	if got := Styler(false).Apply("x", Style{Fg: "red"}); got != "x" {
		t.Errorf("disabled Styler styled: %q", got)
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("a\x00b\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{EscapeControl(s, false), BytesToEscapedStr(s, false)} {
			for i := 0; i < len(out); i++ {
				if out[i] < 0x20 || out[i] == 0x7f {
					t.Fatalf("control byte %#x left in %q", out[i], out)
				}
			}
		}
		_ = Indent(4, s)
		_ = SplitLines(s, true)
	})
}

// TestPrettyDuration: the values mitmproxy's pretty_duration gives
// (Python 3.11: "{:.0f}ms", "{:1.2f}s", "{:2.1f}s", "{:.0f}s"), ties and
// the edges of each format included.
func TestPrettyDuration(t *testing.T) {
	tests := []struct {
		secs float64
		want string
	}{
		{0, "0ms"}, {0.0005, "0ms"}, {0.0015, "2ms"}, {0.0025, "2ms"}, {0.999, "999ms"},
		{0.9996, "1000ms"}, {1, "1.00s"}, {1.005, "1.00s"}, {9.999, "10.00s"}, {10, "10.0s"},
		{12.25, "12.2s"}, {99.95, "100.0s"}, {100, "100s"}, {199.9, "200s"}, {250.5, "250s"},
		{-0.2, "-200ms"}, {-3, "-3000ms"},
	}
	for _, tt := range tests {
		if got := PrettyDuration(tt.secs); got != tt.want {
			t.Errorf("PrettyDuration(%v) = %q, want %q", tt.secs, got, tt.want)
		}
	}
}
