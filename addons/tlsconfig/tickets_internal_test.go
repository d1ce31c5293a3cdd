package tlsconfig

import (
	"testing"
	"time"
)

// TestTicketKeyRotation: one configuration (one set of keys) serves every
// connection for a day; then a new key leads and the old ones still
// decrypt tickets for a week.
func TestTicketKeyRotation(t *testing.T) {
	var k ticketKeys
	start := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	first := k.config(start)
	if k.config(start.Add(23*time.Hour)) != first {
		t.Fatal("the keys changed within a day")
	}
	for day := 1; day <= 10; day++ {
		cfg := k.config(start.Add(time.Duration(day) * ticketKeyRotation))
		if cfg == first {
			t.Fatalf("day %d: the keys were not rotated", day)
		}
		if want := min(day+1, 7); len(k.keys) != want {
			t.Errorf("day %d: %d keys kept, want %d", day, len(k.keys), want)
		}
		if k.keys[0] == k.keys[1] {
			t.Errorf("day %d: the new key repeats the last one", day)
		}
	}
}
