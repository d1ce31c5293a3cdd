package filter

import (
	"errors"
	"os"
	"path/filepath"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// fuzzFlows are matched against every expression that parses.
func fuzzFlows() []any {
	resp := tflow(tflowOpts{resp: true})
	resp.Metadata.Set("k", []any{"v", int64(1), nil})
	resp.SetComment("c")
	resp.SetMarked(":default:")
	var nilFlow *flow.HTTPFlow
	return []any{tflow(tflowOpts{}), resp, tflow(tflowOpts{err: true}), twebsocketflow(), ttcpflow(true), nil, "x", nilFlow}
}

// FuzzParse: Parse never panics, errors are *SyntaxErrors with a sane
// position, and a filter that parses can be printed and matched.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/parse/*.txt")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		input, _, _ := strings.Cut(string(data), goldenSep)
		f.Add(input)
	}
	for _, s := range []string{"!(!(!(", "((((a", "~u \"\\", "~b '[\\x80-\\xff]'", "a & b | !c d", "~c 0", "~h \"(?x) a # b\""} {
		f.Add(s)
	}
	flows := fuzzFlows()
	f.Fuzz(func(t *testing.T, expr string) {
		for _, opts := range []Options{{}, {CaseSensitive: true}} {
			flt, err := ParseWith(expr, opts)
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Parse(%q) error %T: %v", expr, err, err)
				}
				if se.Offset > len(expr) || se.Offset < -1 || (se.Offset == -1) != (expr == "") {
					t.Fatalf("Parse(%q) error offset %d: %v", expr, se.Offset, err)
				}
				if !strings.HasPrefix(err.Error(), "Invalid filter expression: ") {
					t.Fatalf("Parse(%q) error %q", expr, err)
				}
				continue
			}
			if flt.String() == "" || dump(flt.(node)) == "" {
				t.Fatalf("Parse(%q): empty String or dump", expr)
			}
			for _, fl := range flows {
				flt.Match(fl)
			}
		}
	})
}

// FuzzTranslate: a Python pattern either fails with a *RegexError that
// points into it, or translates to a Go pattern that compiles (unless it
// hits one of RE2's size limits) and can be matched.
func FuzzTranslate(f *testing.F) {
	for i, p := range diffPatterns {
		subject := diffSubjects[i%len(diffSubjects)]
		f.Add(p, false, uint8(flagI), subject)
		f.Add(p, true, uint8(flagI|flagS), subject)
	}
	f.Fuzz(func(t *testing.T, pattern string, bytesPat bool, flags uint8, subject string) {
		fl := reFlags(flags) & (flagI | flagM | flagS)
		rx, err := compilePy(pattern, bytesPat, fl)
		if err != nil {
			var re *RegexError
			if !errors.As(err, &re) {
				t.Fatalf("compilePy(%q) error %T: %v", pattern, err, err)
			}
			if re.Offset < 0 || re.Offset > len(pattern) {
				t.Fatalf("compilePy(%q) offset %d", pattern, re.Offset)
			}
			if strings.Contains(re.Msg, "Go's regexp engine") {
				for _, code := range []syntax.ErrorCode{syntax.ErrLarge, syntax.ErrNestingDepth, syntax.ErrInvalidRepeatSize} {
					if strings.HasSuffix(re.Msg, string(code)) {
						return
					}
				}
				t.Fatalf("compilePy(%q, bytes=%v) produced an invalid Go pattern: %v", pattern, bytesPat, err)
			}
			return
		}
		// The prefilter never changes a result.
		for _, s := range []string{subject, pattern, strings.ToUpper(subject), "\xff\x00abc\n"} {
			got, gotB := rx.matchString(s), rx.match([]byte(s))
			if gotB != got {
				t.Fatalf("compilePy(%q): string and bytes matching disagree on %q", pattern, s)
			}
			if rx.latin1 {
				continue
			}
			if want := rx.re.MatchString(s); got != want {
				t.Fatalf("compilePy(%q) go %q prefilter %+v: match(%q) = %v, regex says %v", pattern, rx.goSrc, rx.pf, s, got, want)
			}
		}
	})
}
