//go:build unix

package testutil

import (
	"errors"
	"os"
	"syscall"
)

// processRunning reports whether a process with this ID exists (one owned
// by another user counts: EPERM).
func processRunning(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// heldDirs keeps the directories this process holds open, so that their
// shared locks last as long as the process (an *os.File closes its
// descriptor when collected).
var heldDirs []*os.File

// holdDir takes a shared lock on dir for the life of the process: a
// process in another PID namespace sharing the temporary directory (a
// container, a sandbox) sees this one's ID as ended, but not the lock.
func holdDir(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) != nil {
		f.Close()
		return
	}
	heldDirs = append(heldDirs, f)
}

// unheld reports whether no process holds dir (see holdDir).
func unheld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
