package command

import "testing"

// TestParamDefault: a trailing parameter with a Default may be left out,
// by Call and by command lines, as a Python default argument.
func TestParamDefault(t *testing.T) {
	r := NewRegistry()
	r.MustAdd(Command{Name: "d", Params: []Param{{Name: "a", Type: Str}, {Name: "b", Type: Bool, Default: true}},
		Returns: Str, Run: func(a Args) (any, error) {
			if a.Bool(1) {
				return a.Str(0) + " true", nil
			}
			return a.Str(0) + " false", nil
		}})
	for _, c := range []struct {
		got  func() (any, error)
		want string
	}{
		{func() (any, error) { return r.Call("d", "x") }, "x true"},
		{func() (any, error) { return r.Call("d", "x", false) }, "x false"},
		{func() (any, error) { return r.Execute("d x") }, "x true"},
		{func() (any, error) { return r.Execute("d x false") }, "x false"},
	} {
		if v, err := c.got(); err != nil || v != c.want {
			t.Errorf("got %v, %v; want %q", v, err, c.want)
		}
	}
	if _, err := r.Call("d"); err == nil {
		t.Error("a required argument was left out without an error")
	}
	if _, err := r.Execute("d"); err == nil {
		t.Error("a command line without a required argument ran")
	}
}
