//go:build linux

package script

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"
)

// startChild starts the Python child so that it dies with mitmgo, however
// mitmgo ends (kill -9 included): the kernel sends it SIGKILL when its
// parent goes (PR_SET_PDEATHSIG). The child's watchdog thread checks the
// same thing from its side (its input pipe closes), on every platform.
//
// The parent-death signal is tied to the thread that forked the child, not
// to the process: it fires when that thread exits. Go threads normally
// live as long as the process, except that the runtime ends a thread whose
// goroutine exits while locked to it (runtime.LockOSThread without an
// unlock), so a host started from such a goroutine would be killed when it
// returned. Forking from a goroutine of our own that keeps its thread
// locked until the child is gone rules that out: while locked, the thread
// runs nothing else and cannot exit. It costs one idle thread per child.
func startChild(cmd *exec.Cmd, gone <-chan struct{}) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		errc <- err
		if err == nil {
			<-gone
		}
		runtime.UnlockOSThread()
	}()
	return <-errc
}

// writePieces writes p in order with writev: one system call for a
// message whose large bodies stay where they are (framePieces), and one
// wake-up of the child, which would otherwise read the first piece alone.
func writePieces(f *os.File, p [][]byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	iov := make([]syscall.Iovec, 0, len(p))
	for _, b := range p {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(iov) > 0 {
			// At most IOV_MAX (1024) at a time.
			n := min(len(iov), 1024)
			w, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				// The pipe is full: wait until the child reads.
				return false
			case e != 0:
				werr = e
				return true
			}
			iov = advanceIovec(iov, int(w))
		}
		return true
	})
	runtime.KeepAlive(p)
	if err != nil {
		return err
	}
	if werr != nil {
		return &os.PathError{Op: "writev", Path: f.Name(), Err: werr}
	}
	return nil
}

// advanceIovec drops the first n bytes written from iov.
func advanceIovec(iov []syscall.Iovec, n int) []syscall.Iovec {
	for n > 0 && len(iov) > 0 {
		l := int(iov[0].Len)
		if n < l {
			iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iov[0].Base), n))
			iov[0].SetLen(l - n)
			return iov
		}
		n -= l
		iov = iov[1:]
	}
	return iov
}
