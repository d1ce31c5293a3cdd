//go:build unix

package flowfile

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time used by the process so far, so benchmarks
// can report throughput per CPU second on a machine shared with others.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
