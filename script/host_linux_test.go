package script

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestParentDeathSignalThread: the parent-death signal fires when the
// thread that forked the child exits. The runtime ends a thread whose
// goroutine returns while locked to it; a child started from such a
// goroutine must survive it (startChild forks from a thread of its own).
func TestParentDeathSignalThread(t *testing.T) {
	needPython(t)
	dir, err := extractPython(testCacheDir(t))
	if err != nil {
		t.Fatal(err)
	}
	type started struct {
		h    *host
		err  error
		tid  int
		main bool
	}
	c := make(chan started, 1)
	release := make(chan struct{})
	defer close(release)
	var s started
	for {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			tid := syscall.Gettid()
			if tid == os.Getpid() {
				// The main thread, which the runtime parks instead of
				// ending: hold it, so that the next try runs on another.
				c <- started{main: true}
				<-release
				runtime.UnlockOSThread()
				return
			}
			h, err := startHost("python3", dir, nopEvents{})
			c <- started{h: h, err: err, tid: tid}
		}()
		if s = <-c; !s.main {
			break
		}
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	h, tid := s.h, s.tid
	t.Cleanup(func() { h.stop(5 * time.Second) })
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, err := os.Stat(task)
		return os.IsNotExist(err)
	}, "thread %d did not end", tid)
	// The parent-death signal, had it fired, is pending in the child by now.
	if err := pingHost(t, h); err != nil {
		t.Fatalf("the child died with the thread that started it: %v", err)
	}
}
