//go:build !linux

package main

import (
	"os"
	"syscall"
)

// childAttr: no parent-death signal outside Linux; the harness stops its
// targets itself.
func childAttr() *syscall.SysProcAttr { return nil }

// killTree kills the target's own process (its children, mitmweb's
// python3, end with their pipes).
func killTree(p *os.Process) { _ = p.Kill() }
