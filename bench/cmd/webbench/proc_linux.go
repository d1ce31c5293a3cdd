package main

import (
	"os"
	"syscall"
)

// childAttr puts a target in its own process group (killTree kills the
// group) and has it killed with the harness should the harness die
// without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killTree kills the target's process group.
func killTree(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
