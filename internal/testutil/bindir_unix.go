//go:build unix

package testutil

import (
	"errors"
	"syscall"
)

// processRunning reports whether a process with this ID exists (one owned
// by another user counts: EPERM).
func processRunning(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
