package pyre

import (
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

// TestSubAgainstPython runs Compile, ParseTemplate and SubString and
// Python's re.sub (with re.ASCII, as Compile documents) on the same inputs,
// and compares compile errors and results.
func TestSubAgainstPython(t *testing.T) {
	py := pyoracle.Find(t, "python3")
	type pyCase struct {
		Pattern string `json:"pattern"`
		Repl    string `json:"repl"`
		DotAll  bool   `json:"dotall"`
	}
	cases := []pyCase{
		{`o`, `0`, false}, {`(?i)O+`, `<\g<0>>`, false}, {`(\w+)@(\w+)`, `\2 at \1`, false},
		{`(?P<user>\w+)@`, `\g<user>#`, false}, {`\d+`, `N`, false}, {`\s+`, `_`, false},
		{`a.b`, `X`, false}, {`a.b`, `X`, true}, {`(?s:a.b)`, `X`, false}, {`^\w`, `^`, false},
		{`(?m)^\w`, `^`, false}, {`(?m)\w$`, `$`, false}, {`\w\Z`, `!`, false}, {`x{,2}`, `y`, false},
		{`[^a-z ]`, `?`, false}, {`(?x) a  b # spaced`, `AB`, false}, {`\x41|\u00e9`, `#`, false},
		{`(a)|(b)`, `[\1\2]`, false}, {`é`, `e`, false}, {`[\d\s]`, `.`, false},
		{`https?://([^/]+)/`, `https://mirror/\1/`, false}, {`\.`, `\\.`, false}, {`k`, `K`, false},
		// rejected by both
		{`(`, `x`, false}, {`a**`, `x`, false}, {`\q`, `x`, false}, {`[z-a]`, `x`, false},
		{`(?P<1>a)`, `x`, false}, {`o`, `\g<9>`, false}, {`(o)`, `\2`, false},
	}
	subjects := []string{"", "foo", "FOO bar", "me@host you@there", "a\nb axb", "line1\nline2\n", "x123 45",
		"xxxxx", "tab\there", "http://example.com/path", "café é", "٣ digits", "Kelvin \u212a k", "a.b.c", "ab"}
	const script = `
import json, re, sys
req = json.load(sys.stdin)
out = []
for c in req["cases"]:
    flags = re.A | (re.S if c["dotall"] else 0)
    try:
        rx = re.compile(c["pattern"], flags)
        res = [rx.sub(c["repl"], s) for s in req["subjects"]]
    except Exception as e:
        out.append(None)
        continue
    out.append(res)
json.dump(out, sys.stdout)
`
	var results [][]string
	pyoracle.Run(t, py, script, map[string]any{"cases": cases, "subjects": subjects}, &results)
	for i, c := range cases {
		re, err := Compile(c.Pattern, c.DotAll)
		var tmpl *Template
		if err == nil {
			tmpl, err = ParseTemplate(c.Repl, re, false)
		}
		want := results[i]
		switch {
		case err != nil && want != nil:
			t.Errorf("%q -> %q: Python accepts it, we fail: %v", c.Pattern, c.Repl, err)
			continue
		case err != nil:
			continue
		case want == nil:
			t.Errorf("%q -> %q: Python rejects it, we compile it to %q", c.Pattern, c.Repl, re)
			continue
		}
		for j, s := range subjects {
			// Documented: $ only at the very end; empty matches after a
			// non-empty one are skipped.
			if strings.Contains(c.Pattern, "$") && strings.Contains(s, "\n") || re.MatchString("") {
				continue
			}
			if got, _ := SubString(re, tmpl, s); got != want[j] {
				t.Errorf("re.sub(%q, %q, %q): got %q, Python %q (go %q)", c.Pattern, c.Repl, s, got, want[j], re)
			}
		}
	}
}
