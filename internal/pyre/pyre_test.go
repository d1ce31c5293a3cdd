package pyre

import (
	"errors"
	goregexp "regexp"
	"strings"
	"testing"
)

// The expectations come from CPython 3.11's re.sub on the same inputs.
func TestSubString(t *testing.T) {
	tests := []struct {
		pattern, repl, src string
		want               string
		wantErr            string
	}{
		{`(a)(b)?`, `[\1|\2]`, "xaby a", "x[a|b]y [a|]", ""},
		{`(?P<n>o+)`, `<\g<n>\g<0>\g<1>>`, "foo boo", "f<oooooo> b<oooooo>", ""},
		{`o`, `\n\t\\\.\-`, "o", "\n\t\\\\.\\-", ""},
		{`o`, `\0\01\012\101\08`, "o", "\x00\x01\nA\x008", ""},
		{`é`, `\351`, "café", "café", ""},
		{`^h`, `H`, "hello h", "Hello h", ""},
		{`o\Z`, `0`, "foo\nfoo", "foo\nfo0", ""},
		{`[\]Z]`, `_`, "a]Zb", "a__b", ""},
		{`(o)`, `\10`, "o", "", "invalid group reference 10"},
		{`(o)`, `\18`, "o", "", "invalid group reference 18"},
		{`o`, `\777`, "o", "", `octal escape value \777 outside of range 0-0o377`},
		{`o`, `\q`, "o", "", `bad escape \q`},
		{`o`, `\`, "o", "", "bad escape (end of pattern)"},
		{`o`, `\g`, "o", "", "missing <"},
		{`o`, `\g<`, "o", "", "missing group name"},
		{`o`, `\g<>`, "o", "", "missing group name"},
		{`o`, `\g<x`, "o", "", "missing >, unterminated name"},
		{`o`, `\g<1a>`, "o", "", "bad character in group name"},
		{`o`, `\g<nope>`, "o", "", "unknown group name"},
		{`o`, `\g<1>`, "o", "", "invalid group reference 1"},
		{`o`, `\2`, "o", "", "invalid group reference 2"},
		{`nomatch`, `x`, "abc", "abc", ""},
	}
	for _, tt := range tests {
		re, err := Compile(tt.pattern, false)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		tmpl, err := ParseTemplate(tt.repl, re, false)
		if tt.wantErr != "" {
			var te *TemplateError
			if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTemplate(%q) error = %v, want %q", tt.repl, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", tt.repl, err)
			continue
		}
		if got, _ := SubString(re, tmpl, tt.src); got != tt.want {
			t.Errorf("re.sub(%q, %q, %q) = %q, want %q", tt.pattern, tt.repl, tt.src, got, tt.want)
		}
	}
}

func TestBytesTemplateOctalIsOneByte(t *testing.T) {
	re := mustCompile(t, "o", false)
	tmpl, err := ParseTemplate(`\351`, re, true)
	if err != nil {
		t.Fatal(err)
	}
	got, n := Sub(re, tmpl, []byte("o"))
	if string(got) != "\xe9" || n != 1 {
		t.Fatalf("got %q (%d), want \\xe9", got, n)
	}
}

func TestTranslate(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a{,2}`, `a{0,2}`},
		{`a{,}`, `a{,}`},
		{`a\{,2}`, `a\{,2}`},
		{`[{,2}]`, `[{,2}]`},
		{`x\Z`, `x\z`},
		{`[\Z]`, `[\Z]`},
		{`\\Z`, `\\Z`},
		{`[]\Z]\Z`, `[]\Z]\z`},
		{`[^]]\Z`, `[^]]\z`},
	}
	for _, tt := range tests {
		if got := translate(tt.in); got != tt.want {
			t.Errorf("translate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCompileDotAll(t *testing.T) {
	if mustCompile(t, "a.b", false).MatchString("a\nb") {
		t.Error("without dotAll . matched a newline")
	}
	if !mustCompile(t, "a.b", true).MatchString("a\nb") {
		t.Error("with dotAll . did not match a newline")
	}
	for _, p := range []string{`(?=a)`, `(a)\1`, `(?P=n)`, `[`} {
		if _, err := Compile(p, false); err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", p)
		}
	}
}

func TestLiteral(t *testing.T) {
	re := mustCompile(t, "(a)", false)
	tests := []struct {
		repl    string
		want    string
		literal bool
	}{
		{`x\ny`, "x\ny", true},
		{`x\1`, "", false},
	}
	for _, tt := range tests {
		tmpl, err := ParseTemplate(tt.repl, re, false)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := tmpl.Literal(); ok != tt.literal || s != tt.want {
			t.Errorf("Literal(%q) = %q, %v; want %q, %v", tt.repl, s, ok, tt.want, tt.literal)
		}
	}
}

func mustCompile(t *testing.T, p string, dotAll bool) *goregexp.Regexp {
	t.Helper()
	re, err := Compile(p, dotAll)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{`\1`, `\g<n>`, `\g<0>x`, `\0\12\777`, `\q`, `\`, `a\\b`, `\g<`, `\g<1a>`} {
		f.Add(s, false)
	}
	re, err := Compile(`(?P<n>a)(b)?`, false)
	if err != nil {
		f.Fatal(err)
	}
	src := []byte("xabyaz")
	f.Fuzz(func(t *testing.T, repl string, isBytes bool) {
		tmpl, err := ParseTemplate(repl, re, isBytes)
		if err != nil {
			return
		}
		Sub(re, tmpl, src)
		tmpl.Literal()
	})
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`a{,2}`, `\Z`, `[]\Z]`, `[^]`, `{,`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		re, err := Compile(p, true)
		if err != nil {
			return
		}
		re.MatchString("abc\n{,}Z")
	})
}
