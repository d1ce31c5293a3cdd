//go:build !linux

package script

import "os/exec"

// startChild starts the Python child. Without a parent-death signal, the
// child's watchdog thread alone ends it when mitmgo goes (its input pipe
// closes).
func startChild(cmd *exec.Cmd, gone <-chan struct{}) error { return cmd.Start() }
