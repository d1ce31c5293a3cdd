package dumper

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// newTestDumper registers a dumper writing to buf on a fresh manager and
// applies the --set style option specs.
func newTestDumper(t testing.TB, buf *bytes.Buffer, tty bool, specs ...string) (*Dumper, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	d := New(buf, tty)
	if err := m.Add(d); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	return d, m
}

// render prints scenario s at a flow_detail level, through the manager's
// hooks as a live proxy or a file replay would.
func render(t testing.TB, s *scenario, detail int, width int, tty bool) string {
	var buf bytes.Buffer
	d, m := newTestDumper(t, &buf, tty, fmt.Sprintf("flow_detail=%d", detail))
	d.SetTerminalWidth(nil)
	if width > 0 {
		d.SetTerminalWidth(func() int { return width })
	}
	s.replay(t, m)
	return buf.String()
}

// TestGolden checks the output for every scenario at every flow_detail
// level against testdata/golden (regenerate with -update).
func TestGolden(t *testing.T) {
	for _, s := range loadScenarios(t) {
		for detail := 0; detail <= 4; detail++ {
			name := fmt.Sprintf("%s.d%d.txt", s.Name, detail)
			t.Run(name, func(t *testing.T) {
				got := render(t, &s, detail, 0, false)
				path := filepath.Join("testdata", "golden", name)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", path, got, want)
				}
			})
		}
	}
}

// sameAs811 lists the scenarios whose bodies mitmproxy 8.1.1 renders as
// current mitmproxy does (once 8.1.1's CRLF line joins are undone); bodies
// of the others differ on purpose (see compareWith811).
var sameAs811 = map[string]bool{
	"error": true, "streamed": false, "trailers": true, "ipv6_h2": true, "xml_invalid_json": true,
	"http10_replay": true, "websocket_error": true,
}

// compareWith811 checks our output against what mitmdump 8.1.1 printed for
// the same flow (testdata/mitmproxy-8.1.1). Request and response lines,
// padding, sizes, URL cutting at width 80, headers and trailers must match
// at every level. Bodies (flow_detail 3 and 4) are compared only for the
// scenarios in sameAs811: mitmproxy changed its content views after 8.1.1
// (8.1.1 sorts JSON keys, lays query strings and forms out as aligned pairs,
// cuts at 70 lines, shows "content missing" and escapes control bytes as
// \xNN; current mitmproxy prints YAML, "Content is missing.", dots, and
// strips the text before indenting it).
func compareWith811(t *testing.T, dir string) {
	for _, s := range loadScenarios(t) {
		for detail := 0; detail <= 4; detail++ {
			name := fmt.Sprintf("%s.d%d.txt", s.Name, detail)
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			// mitmdump 8.1.1 writes to a pipe here, which shutil sees as an
			// 80 column terminal.
			got := render(t, &s, detail, 80, false)
			w := strings.ReplaceAll(string(want), "\r\n", "\n")
			if detail >= 3 && !sameAs811[s.Name] {
				got, w = withoutBodies(got), withoutBodies(w)
			}
			if got != w {
				t.Errorf("%s: differs from mitmdump 8.1.1\n--- got\n%s--- mitmdump 8.1.1\n%s", name, got, w)
			}
			if detail > 2 {
				continue
			}
			// In colour, up to the headers (bodies are highlighted
			// differently since 8.1.1).
			name = fmt.Sprintf("%s.color.d%d.txt", s.Name, detail)
			want, err = os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := render(t, &s, detail, 80, true); got != string(want) {
				t.Errorf("%s: differs from mitmdump 8.1.1\n--- got\n%q\n--- mitmdump 8.1.1\n%q", name, got, want)
			}
		}
	}
}

// withoutBodies drops the body blocks (a blank line, the body, a blank
// line) from flow_detail 3 and 4 output, keeping the first line, headers and
// trailers.
func withoutBodies(out string) string {
	lines := strings.Split(out, "\n")
	var keep []string
	for i := 0; i < len(lines); i++ {
		if lines[i] != "" || i+1 >= len(lines) {
			keep = append(keep, lines[i])
			continue
		}
		// Skip up to the blank line that closes the body; a body that was
		// empty has only that one blank line.
		j := i + 1
		for j < len(lines) && lines[j] != "" && strings.HasPrefix(lines[j], "    ") && lines[j] != "    --- HTTP Trailers" {
			j++
		}
		if j < len(lines) && lines[j] == "" {
			i = j
		} else {
			i = j - 1
		}
		keep = append(keep, "<body>")
	}
	return strings.Join(keep, "\n")
}

// TestAgainstMitmproxy811 compares with the recorded mitmdump 8.1.1 output.
func TestAgainstMitmproxy811(t *testing.T) {
	compareWith811(t, filepath.Join("testdata", "mitmproxy-8.1.1"))
}

// TestAgainstLiveMitmproxy811 records mitmdump 8.1.1's output afresh, when
// Debian's mitmproxy is installed, and compares with that.
func TestAgainstLiveMitmproxy811(t *testing.T) {
	if _, err := exec.LookPath("mitmdump"); err != nil {
		t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed")
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import mitmproxy").Run(); err != nil {
		t.Skipf("%s cannot import mitmproxy: %v", py, err)
	}
	dir := t.TempDir()
	cmd := exec.Command(py, "testdata/mitmproxy811.py", "testdata/scenarios.json", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mitmproxy811.py: %v\n%s", err, out)
	}
	compareWith811(t, dir)
}
