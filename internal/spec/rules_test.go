package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
)

// ruleAddon declares a rules option whose values parse as themselves,
// "bad" excepted.
type ruleAddon struct{ rules Rules[string] }

func (a *ruleAddon) Load(l *addon.Loader) {
	a.rules.Declare(l, "test_rules", "rules for the test", func(v string) (string, error) {
		if v == "bad" {
			return "", errors.New("a bad rule")
		}
		return v, nil
	})
}

func (a *ruleAddon) Configure(updated map[string]bool) error { return a.rules.Configure(updated) }

// TestRules: values are parsed as a whole and swapped at once; a bad value
// is refused naming the option, and the rules in force stay.
func TestRules(t *testing.T) {
	var unused Rules[string]
	if err := unused.Configure(map[string]bool{"test_rules": true}); err != nil || unused.Active() != nil || unused.Values() != nil {
		t.Fatalf("before Declare: %v %v %v", err, unused.Active(), unused.Values())
	}
	a := &ruleAddon{}
	m := addon.NewManager()
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set     []string
		wantErr string
		want    []string
	}{
		{set: []string{"a", "b"}, want: []string{"a", "b"}},
		{set: []string{"c", "bad"}, wantErr: "test_rules", want: []string{"a", "b"}},
		{set: []string{}, want: []string{}},
	} {
		err := m.Options().Update(map[string]any{"test_rules": tc.set})
		if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("set %q: error %v, want one naming %q", tc.set, err, tc.wantErr)
		}
		if got := a.rules.Active(); !slices.Equal(got, tc.want) {
			t.Errorf("set %q: rules %q, want %q", tc.set, got, tc.want)
		}
	}
	given := []string{"x"}
	a.rules.Set(given)
	given[0] = "changed"
	if got := a.rules.Active(); !slices.Equal(got, []string{"x"}) {
		t.Errorf("Set keeps the caller's slice: %q", got)
	}
}
