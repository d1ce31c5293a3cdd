//go:build unix

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// raiseFileLimit raises this process's descriptor limit (RLIMIT_NOFILE) so
// that need descriptors fit: the soft limit to the hard one, and the hard
// one too when need is above it and the process may (root, or
// CAP_SYS_RESOURCE; up to /proc/sys/fs/nr_open). The processes the harness
// starts afterwards inherit the new limit (Go restores the original soft
// limit for children only as long as the program has not set one itself).
// It returns the limits before and after; an error says why need does not
// fit, and then nothing is changed.
func raiseFileLimit(need int64) (before, after fileLimit, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fileLimit{}, fileLimit{}, fmt.Errorf("getrlimit: %w", err)
	}
	before = rlimitOf(lim)
	want := lim
	want.Cur = want.Max
	if want.Max != rlimInfinity && uint64(need) > want.Max {
		nrOpen := nrOpenMax()
		if nrOpen > 0 && uint64(need) > nrOpen {
			return before, before, fmt.Errorf("%d descriptors are needed, more than the kernel allows a process (fs.nr_open %d)", need, nrOpen)
		}
		raised := want
		raised.Cur, raised.Max = uint64(need), uint64(need)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return before, rlimitOf(raised), nil
		} else if !errors.Is(err, syscall.EPERM) {
			return before, before, fmt.Errorf("setrlimit: %w", err)
		}
		// Not allowed above the hard limit: up to it, and say so.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return before, before, fmt.Errorf("setrlimit: %w", err)
		}
		return before, rlimitOf(want), fmt.Errorf("%d descriptors are needed; the hard limit is %d and this process may not raise it (that needs CAP_SYS_RESOURCE: raise it beforehand, for instance with ulimit -Hn as root outside a container)", need, want.Max)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return before, before, fmt.Errorf("setrlimit: %w", err)
	}
	return before, rlimitOf(want), nil
}

// rlimInfinity is RLIM_INFINITY (all bits set), which syscall declares
// as an untyped -1.
const rlimInfinity = ^uint64(0)

func rlimitOf(l syscall.Rlimit) fileLimit {
	f := func(n uint64) int64 {
		if n == rlimInfinity || n > 1<<62 {
			return unlimited
		}
		return int64(n)
	}
	return fileLimit{soft: f(l.Cur), hard: f(l.Max)}
}

// nrOpenMax is /proc/sys/fs/nr_open, the most a hard limit may be; 0 when
// unknown.
func nrOpenMax() uint64 {
	data, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// peerClosed reports whether the peer of c has closed or reset it, by
// peeking at the socket without blocking and without consuming anything;
// ok is false when c is not a socket it can look into.
func peerClosed(c net.Conn) (closed, ok bool) {
	type netConner interface{ NetConn() net.Conn }
	if nc, is := c.(netConner); is {
		c = nc.NetConn()
	}
	sc, is := c.(syscall.Conn)
	if !is {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var buf [1]byte
	cerr := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			// Nothing to read: open.
		case err != nil:
			closed = true // reset
		case n == 0:
			closed = true // EOF
		}
		return true
	})
	if cerr != nil {
		return true, true
	}
	return closed, true
}
