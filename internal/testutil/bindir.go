package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// BinDir makes a temporary directory for binaries a test process builds
// once (mitmdump, the console) and removes those that earlier test
// processes left behind. The build happens inside a sync.Once and test
// binaries have no hook that runs after their last test, so nothing
// removes a process's own directory: each run left its ~30 MB binaries in
// the temporary directory, one per package that builds them, and the
// disk filled up. The directory's name carries the process ID, and one is
// stale once its process has ended and no process holds its lock (see
// holdDir).
func BinDir(prefix string) (string, error) {
	tmp := os.TempDir()
	stale, _ := filepath.Glob(filepath.Join(tmp, prefix+"*"))
	for _, dir := range stale {
		pid, ok := dirPID(strings.TrimPrefix(filepath.Base(dir), prefix))
		if ok && pid != os.Getpid() && !processRunning(pid) && unheld(dir) {
			_ = os.RemoveAll(dir)
		}
	}
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("%s%d-", prefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("making a directory for test binaries: %w", err)
	}
	holdDir(dir)
	return dir, nil
}

// dirPID reads the process ID at the start of "PID-random".
func dirPID(rest string) (int, bool) {
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}
