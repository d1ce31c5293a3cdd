package shlex

import (
	"errors"
	"slices"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

var cases = []struct {
	in   string
	want []string
	err  error
}{
	{"./arguments.py html faketml", []string{"./arguments.py", "html", "faketml"}, nil},
	{"  a.py   b  ", []string{"a.py", "b"}, nil},
	{`"./my script.py" 'a b' c\ d`, []string{"./my script.py", "a b", "c d"}, nil},
	{`a.py "say \"hi\"" 'it''s'`, []string{"a.py", `say "hi"`, "its"}, nil},
	{`a.py "back\\slash" "\n"`, []string{"a.py", `back\slash`, `\n`}, nil},
	{`code --wait`, []string{"code", "--wait"}, nil},
	{`"/opt/My Editor/bin/ed" -w`, []string{"/opt/My Editor/bin/ed", "-w"}, nil},
	{`less -R "\$x" \$y`, []string{"less", "-R", `\$x`, "$y"}, nil},
	{"a\tb\nc\rd", []string{"a", "b", "c", "d"}, nil},
	{`a.py ""`, []string{"a.py", ""}, nil},
	{`x#y # z`, []string{"x#y", "#", "z"}, nil},
	{"", nil, nil},
	{`a.py "open`, nil, ErrNoClosingQuote},
	{`a.py 'open`, nil, ErrNoClosingQuote},
	{`a.py "open\`, nil, ErrNoEscaped},
	{`a.py \`, nil, ErrNoEscaped},
}

func TestSplit(t *testing.T) {
	for _, tc := range cases {
		got, err := Split(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err = %v, want %v", tc.in, err, tc.err)
			continue
		}
		if tc.err == nil && !slices.Equal(got, tc.want) {
			t.Errorf("%q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSplitPython compares the cases with Python's shlex.split.
func TestSplitPython(t *testing.T) {
	py := pyoracle.Find(t, "python3", "shlex")
	var in []string
	for _, tc := range cases {
		in = append(in, tc.in)
	}
	var out []struct {
		Words []string `json:"words"`
		Err   string   `json:"err"`
	}
	pyoracle.Run(t, py, `
import json, shlex, sys
out = []
for s in json.load(sys.stdin):
    try:
        out.append({"words": shlex.split(s), "err": ""})
    except ValueError as e:
        out.append({"words": None, "err": str(e)})
print(json.dumps(out))
`, in, &out)
	for i, s := range in {
		got, err := Split(s)
		switch {
		case out[i].Err != "":
			if err == nil || err.Error() != out[i].Err {
				t.Errorf("%q: err %v, Python's %q", s, err, out[i].Err)
			}
		case err != nil:
			t.Errorf("%q: err %v, Python gives %q", s, err, out[i].Words)
		case !slices.Equal(got, out[i].Words) && !(len(got) == 0 && len(out[i].Words) == 0):
			t.Errorf("%q = %q, Python's %q", s, got, out[i].Words)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			return
		}
		// Quoting each word back and splitting again gives the words.
		var line string
		for _, w := range words {
			q := "'"
			for _, r := range w {
				if r == '\'' {
					q += `'"'"'`
				} else {
					q += string(r)
				}
			}
			line += q + "' "
		}
		again, err := Split(line)
		if err != nil || !slices.Equal(again, words) && len(words) > 0 {
			t.Fatalf("%q: %q, requoted %q: %q %v", s, words, line, again, err)
		}
	})
}
