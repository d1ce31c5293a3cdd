// Package benchkit holds what mitmgo's benchmark programs (bench/cmd/mitmbench,
// bench/cmd/webbench and bench/cmd/consolebench) need alike: loopback ports
// and waiting for a listener, building the tool binaries of the module,
// reading a process tree's CPU time and memory from /proc, and writing a
// synthetic flow file of n flows.
//
// It holds mechanism only: every program keeps its own flags, messages and
// report format, and passes in what differs (which binary, which flows).
package benchkit

import (
	"fmt"
	"net"
	"time"
)

// FreePort returns a loopback port that was free a moment ago (another
// process may take it before the caller listens on it).
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Dialable reports whether a TCP connection to addr opens within a second.
func Dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// WaitListen waits up to d for something to accept TCP connections on addr,
// trying every 20 ms.
func WaitListen(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if Dialable(addr) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, d)
}
