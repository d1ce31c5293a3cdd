package script

import (
	"os"
	"os/exec"
	"testing"
)

// TestPythonUnit runs the Python side's unit tests (script/pytests) with
// the system python3.
func TestPythonUnit(t *testing.T) {
	needPython(t)
	cmd := exec.Command("python3", "-m", "unittest", "discover", "-s", "pytests")
	cmd.Env = append(os.Environ(), "PYTHONPATH=py", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
