package filter

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// goldenSep separates a golden file's input from its expected output.
const goldenSep = "\n----------\n"

// renderParse is what a golden parse file records for an expression: the
// tree with each regex's Go translation and str(), or the error.
func renderParse(expr string, opts Options) string {
	f, err := ParseWith(expr, opts)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return dump(f.(node)) + "str: " + f.String() + "\n"
}

// TestGoldenParse checks testdata/parse/*.txt: the input expression, a
// "----------" line, and the expected tree. Files whose name contains
// "case_sensitive" are parsed with Options{CaseSensitive: true}. Run
// `go test ./filter -run Golden -update` to rewrite them.
func TestGoldenParse(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), goldenSep)
			if !ok {
				if !*update {
					t.Fatalf("%s: no %q separator", file, strings.TrimSpace(goldenSep))
				}
				input = strings.TrimSuffix(string(data), "\n")
			}
			opts := Options{CaseSensitive: strings.Contains(name, "case_sensitive")}
			got := renderParse(input, opts)
			if *update {
				if err := os.WriteFile(file, []byte(input+goldenSep+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("%s: input %q\ngot:\n%s\nwant:\n%s", file, input, got, want)
			}
		})
	}
}
