package flowfile

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

func findMitmdump() (string, error) {
	return exec.LookPath("mitmdump")
}

// runMitmdump runs mitmdump -n -r path with extra args and returns its
// combined output.
func runMitmdump(t *testing.T, mitmdump, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mitmdump, append([]string{"-n", "-r", path, "--set", "confdir=" + t.TempDir()}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mitmdump: %v\n%s", err, out)
	}
	return string(out)
}
