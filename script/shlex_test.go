package script

import (
	"slices"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"./arguments.py html faketml", []string{"./arguments.py", "html", "faketml"}, false},
		{"  a.py   b  ", []string{"a.py", "b"}, false},
		{`"./my script.py" 'a b' c\ d`, []string{"./my script.py", "a b", "c d"}, false},
		{`a.py "say \"hi\"" 'it''s'`, []string{"a.py", `say "hi"`, "its"}, false},
		{`a.py "back\\slash" "\n"`, []string{"a.py", `back\slash`, `\n`}, false},
		{`a.py ""`, []string{"a.py", ""}, false},
		{"", nil, false},
		{`a.py "open`, nil, true},
		{`a.py \`, nil, true},
	} {
		got, err := splitCommand(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v", tc.in, err)
			continue
		}
		if !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("%q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"./arguments.py html faketml", `"a b" 'c' d\ e`, `x "y\"z"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitCommand(s)
		if err != nil {
			return
		}
		for _, w := range words {
			_ = w
		}
	})
}
