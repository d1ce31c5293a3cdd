//go:build !linux

package script

import (
	"os"
	"os/exec"
)

// startChild starts the Python child. Without a parent-death signal, the
// child's watchdog thread alone ends it when mitmgo goes (its input pipe
// closes).
func startChild(cmd *exec.Cmd, gone <-chan struct{}) error { return cmd.Start() }

// writePieces writes p in order, one write per piece (the pieces are not
// joined: that would copy the large ones).
func writePieces(f *os.File, p [][]byte) error {
	for _, b := range p {
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return nil
}
