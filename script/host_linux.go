//go:build linux

package script

import (
	"os/exec"
	"runtime"
	"syscall"
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
