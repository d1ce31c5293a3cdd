package pyre

import (
	"errors"
	"fmt"
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
		if !succeeded[*TemplateError](t, fmt.Sprintf("ParseTemplate(%q)", tt.repl), err, tt.wantErr) {
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

// TestCompileSyntax: the Python spellings RE2 lacks are rewritten, and
// what Python rejects is rejected, without touching literal text.
func TestCompileSyntax(t *testing.T) {
	tests := []struct {
		pattern, subject string
		match            bool
		wantErr          string
	}{
		{`^a{,2}$`, "aa", true, ""},
		{`^a{,2}$`, "aaa", false, ""},
		{`^a{,}$`, "aaaa", true, ""}, // Python reads {,} as {0,}
		{`a\{,2}`, "a{,2}", true, ""},
		{`[{,2}]`, ",", true, ""},
		{`x\Z`, "x", true, ""},
		{`x\Z`, "x\n", false, ""},
		{`\\Z`, `\Z`, true, ""},
		{`[]Z]\Z`, "]", true, ""},
		{`[]\Z]\Z`, "", false, `bad escape \Z`}, // inside a class too
		{`[^]]\Z`, "a", true, ""},
		{`[\Z]`, "", false, `bad escape \Z`},
		{`(?x) a b # comment`, "ab", true, ""},
		{`\u00e9`, "é", true, ""},
		{`\d`, "٣", false, ""}, // re.ASCII
		{`(?u)\d`, "٣", true, ""},
		{`(?i)k`, "\u212a", false, ""}, // ASCII case folding: not the Kelvin sign
		{`\s`, "\v", true, ""},
		{`a$`, "a\n", false, ""}, // $ is the very end only
		{`(?m)a$`, "a\nb", true, ""},
		{`\pL`, "", false, `bad escape \p`},
		{`\x{41}`, "", false, `incomplete escape \x`},
		{`(?<n>a)`, "", false, "unknown extension ?<n"},
		{`(?P<n>a)(?P<n>b)`, "", false, "redefinition of group name 'n'"},
		{`a(?=b)`, "", false, "lookahead assertions (?=...) are not supported by Go's RE2 engine"},
		{`a{1001}`, "", false, "above 1000, the limit of Go's RE2 engine"},
	}
	for _, tt := range tests {
		re, err := Compile(tt.pattern, false)
		if !succeeded[*RegexError](t, fmt.Sprintf("Compile(%q)", tt.pattern), err, tt.wantErr) {
			continue
		}
		if got := re.MatchString(tt.subject); got != tt.match {
			t.Errorf("Compile(%q) (go %q) on %q = %v, want %v", tt.pattern, re, tt.subject, got, tt.match)
		}
	}
}

// TestGroupNames: a Python group name that Go would refuse still works in
// a template.
func TestGroupNames(t *testing.T) {
	re := mustCompile(t, `(?P<café>\w+)@(?P<_x1>\w+)`, false)
	tmpl, err := ParseTemplate(`\g<_x1>/\g<café>`, re, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, n := SubString(re, tmpl, "me@host"); got != "host/me" || n != 1 {
		t.Errorf("got %q (%d), want host/me", got, n)
	}
	if GroupName("café") == "café" || GroupName("a_1") != "a_1" {
		t.Errorf("GroupName: %q %q", GroupName("café"), GroupName("a_1"))
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

// succeeded checks the error of what: with want set, it must be an E whose
// text contains want, and the case is done; without, there must be none.
// It reports whether the case goes on.
func succeeded[E error](t *testing.T, what string, err error, want string) bool {
	t.Helper()
	var target E
	switch {
	case want != "":
		if !errors.As(err, &target) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s error = %v, want %q", what, err, want)
		}
		return false
	case err != nil:
		t.Errorf("%s: %v", what, err)
		return false
	}
	return true
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
