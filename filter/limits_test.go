package filter

import (
	"strings"
	"testing"
)

// TestLimits: hostile input is rejected cleanly, not by exhausting the stack.
func TestLimits(t *testing.T) {
	for _, tc := range []struct{ expr, msg string }{
		{strings.Repeat("(", 100000), "nested too deeply"},
		{strings.Repeat("!", 100000) + "a", "nested too deeply"},
		{"~u '" + strings.Repeat("(", 100000) + "'", "nested more than 1000 deep"},
		{"~u '" + strings.Repeat("(?:", 100000) + "'", "nested more than 1000 deep"},
		{"~u '" + strings.Repeat("[", 100000) + "'", "unterminated character set"},
	} {
		_, err := Parse(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%.20q...) = %v, want an error containing %q", tc.expr, err, tc.msg)
		}
	}
	// Deep but within the limits is fine.
	if _, err := Parse(strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500)); err != nil {
		t.Error(err)
	}
	if _, err := Parse("~u '" + strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500) + "'"); err != nil {
		t.Error(err)
	}
}
