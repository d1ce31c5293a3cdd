package pyrepr

import (
	"encoding/hex"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

var strCases = []string{"", "abc", "it's", `say "hi"`, `both ' and "`, "a\\b", "\t\n\r\x00\x7f", "café", "\u00a0\u00ad", "\u2028", "\U0001F600", "\U000E0001", "caf\xe9", "\xff\xfe"}

var bytesCases = []string{"", "abc", "it's", `say "hi"`, `both ' and "`, "a'b\"\\\n\x00\xff", "\t\r\x7f\x80"}

func TestRepr(t *testing.T) {
	tests := []struct{ got, want string }{
		{Str("it's"), `"it's"`},
		{Str(`a'b"`), `'a\'b"'`},
		{Str("caf\xe9"), `'caf\udce9'`},
		{Str("\u00a0\U0001F600"), `'\xa0😀'`},
		{Bytes([]byte("a'b\"\\\n\x00\xff")), `b'a\'b"\\\n\x00\xff'`},
		{Bytes([]byte("it's")), `b"it's"`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

// TestReprAgainstPython compares with repr() of the same values in
// python3 (str values decoded with surrogateescape).
func TestReprAgainstPython(t *testing.T) {
	py := pyoracle.Find(t, "python3")
	hexes := func(list []string) []string {
		out := make([]string, len(list))
		for i, s := range list {
			out[i] = hex.EncodeToString([]byte(s))
		}
		return out
	}
	const script = `
import json, sys
req = json.load(sys.stdin)
json.dump({
    "str": [repr(bytes.fromhex(s).decode("utf-8", "surrogateescape")) for s in req["str"]],
    "bytes": [repr(bytes.fromhex(s)) for s in req["bytes"]],
}, sys.stdout, ensure_ascii=False)
`
	var want map[string][]string
	pyoracle.Run(t, py, script, map[string][]string{"str": hexes(strCases), "bytes": hexes(bytesCases)}, &want)
	for i, s := range strCases {
		if got := Str(s); got != want["str"][i] {
			t.Errorf("Str(%q) = %s, Python %s", s, got, want["str"][i])
		}
	}
	for i, s := range bytesCases {
		if got := Bytes([]byte(s)); got != want["bytes"][i] {
			t.Errorf("Bytes(%q) = %s, Python %s", s, got, want["bytes"][i])
		}
	}
}
