package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestBinDirRemovesStale: a directory left by a process that has ended is
// removed, this process's own and a running process's are kept.
func TestBinDirRemovesStale(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stale directories are only told apart on Unix")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	prefix := "bindir-test-"
	mk := func(pid int) string {
		d := filepath.Join(tmp, fmt.Sprintf("%s%d-x", prefix, pid))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale, own, running := mk(ended.Process.Pid), mk(os.Getpid()), mk(os.Getppid())
	// A process in another PID namespace: its ID looks ended here, but it
	// holds its directory.
	elsewhere := mk(ended.Process.Pid + 1000000)
	holdDir(elsewhere)
	odd := filepath.Join(tmp, prefix+"notapid")
	if err := os.Mkdir(odd, 0o700); err != nil {
		t.Fatal(err)
	}
	dir, err := BinDir(prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir  string
		kept bool
	}{{stale, false}, {own, true}, {running, true}, {elsewhere, true}, {odd, true}, {dir, true}} {
		_, err := os.Stat(c.dir)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept %v, want %v", filepath.Base(c.dir), kept, c.kept)
		}
	}
}
