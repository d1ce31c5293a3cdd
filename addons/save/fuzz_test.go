package save

import (
	"testing"
	"time"
)

func FuzzStrftime(f *testing.F) {
	for _, s := range []string{"%Y-%m-%d/%H%M%S.mitm", "%%%", "%", "plain", "%Q%f%z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := strftime(s, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
		if len(out) > 64*len(s)+16 {
			t.Fatalf("strftime(%q) is %d bytes", s, len(out))
		}
	})
}
