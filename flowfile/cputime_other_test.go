//go:build !unix

package flowfile

import "time"

func cpuTime() time.Duration { return 0 }
