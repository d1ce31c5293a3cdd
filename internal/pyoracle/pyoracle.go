// Package pyoracle runs a Python script as a test oracle: the test sends
// its inputs as JSON on standard input and reads the script's answers as
// JSON from standard output, to compare with what the Go code gives.
package pyoracle

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// Find returns the path of python (a name on PATH or a path) when it can
// import every module, and skips the test otherwise.
func Find(t testing.TB, python string, modules ...string) string {
	t.Helper()
	path, err := exec.LookPath(python)
	if err != nil {
		t.Skipf("%s not found: skipping the comparison with Python", python)
	}
	for _, m := range modules {
		if err := exec.Command(path, "-c", "import "+m).Run(); err != nil {
			t.Skipf("%s cannot import %s: skipping the comparison with Python", path, m)
		}
	}
	return path
}

// Timeout bounds one run of a script.
const Timeout = 60 * time.Second

// Run runs script (a python -c program) with python, writes in as JSON
// to its standard input and decodes its standard output into out. Any
// failure fails the test.
func Run(t testing.TB, python, script string, in, out any) {
	t.Helper()
	req, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", python, err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("%s output: %v\n%s", python, err, stdout)
	}
}
