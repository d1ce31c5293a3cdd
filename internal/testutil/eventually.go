package testutil

import (
	"testing"
	"time"
)

// Eventually waits until cond reports true, checking it at a short interval,
// and fails the test with what (formatted as by t.Fatalf with args) when it
// has not after timeout. It is the one way tests here wait for a condition:
// no sleeps, no hand-written deadline loops. cond runs on the test's
// goroutine and must not block for long.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("after %s: "+what, append([]any{timeout}, args...)...)
	}
}

// Poll is Eventually without the test: it reports whether cond became true
// within timeout. It suits helpers that want to add their own context to the
// failure.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
		// Start fast (most conditions hold within a few milliseconds) and
		// back off to 20 ms so a slow condition does not spin a core.
		interval = min(interval*2, 20*time.Millisecond)
	}
}
