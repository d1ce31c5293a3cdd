package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// sysIO reads and writes a TCP socket with raw system calls, still waiting
// for readiness through Go's network poller (syscall.RawConn).
//
// Why: net.Conn's Read and Write tell the scheduler that a system call is
// starting, and the scheduler's monitor thread takes the processor (P) away
// from a thread that stays in one for more than 20µs, handing it and the
// goroutines queued on it to another thread. A proxy's system calls are
// reads and writes of non-blocking sockets that never wait, but over
// loopback a write runs the receiver's TCP stack too, and a 64 KiB one
// takes tens of microseconds: under load most were handed off, and the
// thread switches, futex wake-ups and the monitor's own wake-ups (every
// 20µs while it keeps finding Ps to take) cost the proxy a quarter of its
// CPU time per request (64 -> 49µs for 200-byte responses, 95 -> 68µs for
// 64 KiB ones, mitmbench with the net/http client and origin). A raw
// system call keeps its P; the monitor, finding nothing to take, backs off
// (4,500 wake-ups a second -> 100).
type sysIO struct {
	rc syscall.RawConn
	// tc names the connection's ends in errors.
	tc  *net.TCPConn
	ops *fdOps

	// The closures handed to rc are made once and get their operands in
	// these fields, so that a read or write allocates nothing. The
	// mutexes let goroutines share the connection as net.Conn allows:
	// one read and one write at a time.
	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool
	// onAgain, set during readOrWait, is told when the read found
	// nothing, before the wait.
	onAgain idleWaiter
	wmu     sync.Mutex
	wa, wb  []byte
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
}

// fdOps are the system calls sysIO makes: one attempt each, EAGAIN and
// EINTR returned as they come.
type fdOps struct {
	read func(fd uintptr, p []byte) (int, syscall.Errno)
	// writev writes a then b (either may be empty, not both).
	writev func(fd uintptr, a, b []byte) (int, syscall.Errno)
}

// rawOps are unseen by the scheduler; annotatedOps go through the syscall
// package, whose Read and Write tell the race detector that what one
// goroutine wrote to a socket happens before what another reads from it.
// Raw calls hide that, and under -race every hand-over through a socket
// (an addon's hook sets a field, a test reads it after the response) would
// be reported as a race; race builds use annotatedOps.
var (
	rawOps       = fdOps{read: rawRead, writev: rawWritev}
	annotatedOps = fdOps{read: annotatedRead, writev: annotatedWritev}
)

// newSysIO returns raw I/O for c, or nil when c is not a TCP connection.
func newSysIO(c net.Conn) *sysIO {
	ops := &rawOps
	if raceEnabled {
		ops = &annotatedOps
	}
	return newSysIOWith(c, ops)
}

// newSysIOWith is newSysIO with the given system calls. A sysIO is kept by
// every connection, idle ones too, and is kept small (192 bytes): its
// addresses are the connection's, its system calls shared.
func newSysIOWith(c net.Conn, ops *fdOps) *sysIO {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &sysIO{rc: rc, tc: tc, ops: ops}
	s.readFn = s.doRead
	s.writeFn = s.doWrite
	return s
}

// idleWaiter is told by readOrWait that nothing is there to read, before
// the wait.
type idleWaiter interface{ nothingRead() }

func (s *sysIO) doRead(fd uintptr) bool {
	if s.rbuf == nil {
		return s.doPeek(fd)
	}
	for {
		n, e := s.ops.read(fd, s.rbuf)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.onAgain != nil {
				// readOrWait: rbuf is not read again; the wake-up ends
				// the wait (see doPeek).
				s.onAgain.nothingRead()
				s.onAgain, s.rbuf, s.rn = nil, nil, -1
			}
			return false
		}
		s.rn, s.rerr = n, e
		return true
	}
}

// doPeek is doRead for waitReadable (rbuf nil): a peek at one byte that
// finds nothing waits in the poller, and its wake-up ends the wait, with no
// second peek: the read that follows tells data from the end of the
// connection, and waits again after a spurious wake-up. Data or the end
// found at once end the wait as well.
func (s *sysIO) doPeek(fd uintptr) bool {
	if s.rn < 0 {
		return true
	}
	var b [1]byte
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			s.rn = -1
			return false
		}
		return true
	}
}

// waitReadable waits until the socket has data to read or has ended,
// reading nothing; errors are read's (closed, deadline).
func (s *sysIO) waitReadable() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.rbuf, s.rn = nil, 0
	err := s.rc.Read(s.readFn)
	s.rn = 0
	if err != nil {
		return s.opError("read", err)
	}
	return nil
}

// readableNow reports, without waiting, whether the socket has data to
// read or has ended (or failed: the read that follows tells which).
func (s *sysIO) readableNow() bool {
	ready := false
	_ = s.rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
				syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			if e != syscall.EINTR {
				ready = e != syscall.EAGAIN
				return true
			}
		}
	})
	return ready
}

// readOrWait reads into p what is there to read; when nothing is, it tells
// w, which then gives p up, and waits until the socket is readable or
// has ended, reading nothing (waited). The attempt and the wait are one
// RawConn.Read: a second one would begin by clearing the readiness the
// poller may have recorded since the attempt, and would have to try again
// first, one more system call. Errors are read's; io.EOF when the socket
// ended before anything was read.
//
// Why: a keep-alive connection waits for the next request after every
// response, and waitReadable's peek, when the request was already there,
// was a system call more than reading it (a quarter of the requests under
// wrk's load).
func (s *sysIO) readOrWait(p []byte, w idleWaiter) (n int, waited bool, err error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.rbuf, s.rn, s.rerr, s.onAgain = p, 0, 0, w
	err = s.rc.Read(s.readFn)
	waited = s.rn < 0
	n = max(s.rn, 0)
	s.rbuf, s.rn, s.onAgain = nil, 0, nil
	switch {
	case err != nil:
		return 0, waited, s.opError("read", err)
	case waited:
		return 0, true, nil
	case s.rerr != 0:
		return 0, false, s.opError("read", os.NewSyscallError("read", s.rerr))
	case n == 0:
		return 0, false, io.EOF
	}
	return n, false, nil
}

// read is net.Conn's Read: io.EOF at the end, errors as *net.OpError.
func (s *sysIO) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.rbuf = p
	err := s.rc.Read(s.readFn)
	s.rbuf = nil
	if err != nil {
		return 0, s.opError("read", err)
	}
	if s.rerr != 0 {
		return 0, s.opError("read", os.NewSyscallError("read", s.rerr))
	}
	if s.rn == 0 {
		return 0, io.EOF
	}
	return s.rn, nil
}

func (s *sysIO) doWrite(fd uintptr) bool {
	for {
		n, e := s.ops.writev(fd, s.wa, s.wb)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.wn, s.werr = n, e
		return true
	}
}

// writev writes all of a and then all of b, as net.Conn's Write does,
// waiting while the socket's send buffer is full.
func (s *sysIO) writev(a, b []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	total := 0
	for len(a)+len(b) > 0 {
		s.wa, s.wb = a, b
		err := s.rc.Write(s.writeFn)
		s.wa, s.wb = nil, nil
		if err != nil {
			return total, s.opError("write", err)
		}
		if s.werr != 0 {
			// Named as net.Conn's Write and net.Buffers' WriteTo name it.
			call := "write"
			if len(a) > 0 && len(b) > 0 {
				call = "writev"
			}
			return total, s.opError("write", os.NewSyscallError(call, s.werr))
		}
		n := s.wn
		total += n
		if n >= len(a) {
			a, b = nil, b[n-len(a):]
		} else {
			a = a[n:]
		}
	}
	return total, nil
}

// opError dresses err as net.Conn's own errors are, so that messages and
// checks (timeouts, resets, net.ErrClosed) stay the same.
func (s *sysIO) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		// RawConn's own errors (closed, deadline) say "raw-read".
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: s.tc.LocalAddr(), Addr: s.tc.RemoteAddr(), Err: err}
}

func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func rawWritev(fd uintptr, a, b []byte) (int, syscall.Errno) {
	// On the stack: the kernel reads it during the call only.
	var iov [2]syscall.Iovec
	cnt := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			iov[cnt] = syscall.Iovec{Base: &p[0]}
			iov[cnt].SetLen(len(p))
			cnt++
		}
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(cnt))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func annotatedRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if err != nil {
		return 0, toErrno(err)
	}
	return n, 0
}

// annotatedWritev writes a and b with one write each.
func annotatedWritev(fd uintptr, a, b []byte) (int, syscall.Errno) {
	total := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) == 0 {
			continue
		}
		n, err := syscall.Write(int(fd), p)
		if err != nil {
			if total > 0 {
				// What was written counts; the error comes again.
				return total, 0
			}
			return 0, toErrno(err)
		}
		total += n
		if n < len(p) {
			break
		}
	}
	return total, 0
}

func toErrno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
