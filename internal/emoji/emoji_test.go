package emoji

import "testing"

func TestMarkers(t *testing.T) {
	for _, tc := range []struct {
		name, char string
		ok         bool
	}{
		{":default:", "●", true},
		{":+1:", "👍", true},
		{"a", "a", true},
		{"7", "7", true},
		{":no_such_emoji:", "", false},
		{"", "", false},
	} {
		c, ok := Lookup(tc.name)
		if ok != tc.ok || c != tc.char {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.name, c, ok, tc.char, tc.ok)
		}
	}
	if n := len(Names()); n < 1800 {
		t.Errorf("only %d markers", n)
	}
}
