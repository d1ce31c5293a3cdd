package console

import (
	"testing"
	"time"
)

// TestLimiter: after a quiet time a burst of redraws goes at once; under
// a steady stream of wake-ups they are a frame apart.
func TestLimiter(t *testing.T) {
	var l limiter
	now := time.Unix(1000, 0)
	for i := range burst {
		if d := l.wait(now); d != 0 {
			t.Fatalf("redraw %d of a burst waits %v", i, d)
		}
	}
	if d := l.wait(now); d != frame {
		t.Fatalf("the redraw after a burst waits %v, want %v", d, frame)
	}
	// Steady: each wake-up right after the previous redraw waits a frame
	// at most.
	now = now.Add(frame)
	for i := range 100 {
		d := l.wait(now)
		if d > frame {
			t.Fatalf("steady redraw %d waits %v", i, d)
		}
		now = now.Add(d + time.Millisecond)
	}
	// After a quiet second, a burst again.
	now = now.Add(time.Second)
	for i := range burst {
		if d := l.wait(now); d != 0 {
			t.Fatalf("after a quiet time, redraw %d waits %v", i, d)
		}
	}
}
