package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		option                   string
		filter, subject, replace string
		wantErr                  string
	}{
		{option: "/foo/bar", subject: "foo", replace: "bar"},
		{option: ":foo:bar", subject: "foo", replace: "bar"},
		{option: "/foo/bar/", filter: "foo", subject: "bar", replace: ""},
		{option: "/bar/", subject: "bar", replace: ""},
		{option: "//", subject: "", replace: ""},
		{option: "§a§b", subject: "a", replace: "b"},
		{option: "", wantErr: "Invalid number of parameters"},
		{option: "/", wantErr: "Invalid number of parameters"},
		{option: "/foo", wantErr: "Invalid number of parameters"},
		{option: "\xff/a/b", wantErr: "not valid UTF-8"},
		{option: "///a/b", wantErr: "Invalid filter expression"},
		{option: "/~nonsense/a/b", wantErr: "Invalid filter expression"},
		{option: "/~q/a/b", filter: "~q", subject: "a", replace: "b"},
		{option: "/foo/bar/vo/ing/", filter: "foo", subject: "bar", replace: "vo/ing/"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.option)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want %q", tt.option, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.option, err)
			continue
		}
		if s.FilterExpr != tt.filter || s.Subject != tt.subject || s.Replacement != tt.replace {
			t.Errorf("Parse(%q) = (%q, %q, %q), want (%q, %q, %q)", tt.option,
				s.FilterExpr, s.Subject, s.Replacement, tt.filter, tt.subject, tt.replace)
		}
		if s.FilterExpr == "" && s.Filter != nil {
			t.Errorf("Parse(%q): filter set without an expression", tt.option)
		}
		if s.Filter == nil && !s.Matches(nil) {
			t.Errorf("Parse(%q): a spec without filter must match every flow", tt.option)
		}
	}
	if _, err := Parse("/x"); !errors.Is(err, ErrParameters) {
		t.Errorf("Parse error %v does not wrap ErrParameters", err)
	}
}

// The expectations come from CPython 3.11's codecs.escape_decode.
func TestEscapeDecode(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{`plain`, "plain", ""},
		{`a\nb`, "a\nb", ""},
		{`\t\r\a\b\f\v`, "\t\r\x07\x08\x0c\x0b", ""},
		{`\\`, `\`, ""},
		{`\'\"`, `'"`, ""},
		{`\x41\x4a\x4A`, "AJJ", ""},
		{`\101\0\7`, "A\x00\x07", ""},
		{`\777`, "\xff", ""},
		{`\d+\.`, `\d+\.`, ""},
		{"line\\\ncont", "linecont", ""},
		{`é\é`, `é\é`, ""},
		{`\8\9`, `\8\9`, ""},
		{`\x4`, "", `invalid \x escape at position 0`},
		{`ab\xg1`, "", `invalid \x escape at position 2`},
		{`end\`, "", `Trailing \ in string`},
	}
	for _, tt := range tests {
		got, err := EscapeDecode(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("EscapeDecode(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("EscapeDecode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpandUser(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home+"/")
	tests := []struct{ in, want string }{
		{"~", home},
		{"~/a/b", filepath.Join(home, "a/b")},
		{"~bob/x", "~bob/x"},
		{"/abs/~", "/abs/~"},
		{"rel", "rel"},
	}
	for _, tt := range tests {
		if got := ExpandUser(tt.in); got != tt.want {
			t.Errorf("ExpandUser(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := os.Stat(ExpandUser("~")); err != nil {
		t.Error(err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/a/b", "/~q/a/b", ":a:b:c:d", "", "/", "§x§y", "\xff/a/b", "///"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, option string) {
		s, err := Parse(option)
		if err != nil {
			return
		}
		// Reassembling the parts gives the option back.
		r := []rune(option)
		sepStr := string(r[0])
		var back string
		if s.FilterExpr == "" && s.Filter == nil {
			back = sepStr + s.Subject + sepStr + s.Replacement
		} else {
			back = sepStr + s.FilterExpr + sepStr + s.Subject + sepStr + s.Replacement
		}
		if back != option {
			t.Fatalf("Parse(%q) parts reassemble to %q", option, back)
		}
		if strings.Contains(s.Subject, sepStr) {
			t.Fatalf("Parse(%q): subject %q contains the separator", option, s.Subject)
		}
	})
}

func FuzzEscapeDecode(f *testing.F) {
	for _, s := range []string{`a\nb`, `\x41`, `\777`, `\`, `\x4`, `\\\'`, "\\\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := EscapeDecode(s)
		if err != nil {
			return
		}
		if len(out) > len(s) {
			t.Fatalf("EscapeDecode(%q) = %q grew", s, out)
		}
		if !strings.Contains(s, `\`) && out != s {
			t.Fatalf("EscapeDecode(%q) changed text without escapes: %q", s, out)
		}
	})
}

func TestParseReplacement(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "repl")
	if err := os.WriteFile(file, []byte("from\\nfile"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir)
	tests := []struct {
		in      string
		want    string
		isFile  bool
		wantErr string
	}{
		{`plain`, "plain", false, ""},
		{`a\tb`, "a\tb", false, ""},
		{"", "", false, ""},
		{"@" + file, `from\nfile`, true, ""},
		{"@~/repl", `from\nfile`, true, ""},
		{"@" + dir + "/missing", "", false, "Invalid file path: " + dir + "/missing"},
		{"@" + dir, "", false, "Invalid file path"},
		{`bad\`, "", false, `Trailing \ in string`},
	}
	for _, tt := range tests {
		r, err := ParseReplacement(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseReplacement(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReplacement(%q): %v", tt.in, err)
			continue
		}
		got, err := r.Read()
		if err != nil || string(got) != tt.want || r.IsFile() != tt.isFile {
			t.Errorf("ParseReplacement(%q) reads %q, %v (file %v); want %q (file %v)", tt.in, got, err, r.IsFile(), tt.want, tt.isFile)
		}
	}
}

func TestModeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "regular"},
		{"regular", "regular"},
		{"regular@8081", "regular"},
		{"upstream:http://proxy:3128", "upstream"},
		{"upstream:http://user@proxy:3128@8082", "upstream"},
		{"reverse:https://example.com", "reverse"},
		{"reverse:https://example.com@127.0.0.1:8443", "reverse"},
		{"socks5", "socks5"},
		{"transparent", "transparent"},
	}
	for _, tt := range tests {
		if got := ModeName(tt.in); got != tt.want {
			t.Errorf("ModeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
