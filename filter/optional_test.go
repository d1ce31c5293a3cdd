package filter

import "testing"

func TestOptional(t *testing.T) {
	var o Optional
	if o.Get() != nil {
		t.Fatal("zero Optional has a filter")
	}
	if err := o.Set("~q"); err != nil || o.Get() == nil {
		t.Fatalf("Set(~q): %v, filter %v", err, o.Get())
	}
	if err := o.Set("~nonsense"); err == nil || o.Get() == nil {
		t.Fatalf("Set of a bad expression: %v; the previous filter must stay", err)
	}
	if err := o.Set(""); err != nil || o.Get() != nil {
		t.Fatalf(`Set(""): %v, filter %v`, err, o.Get())
	}
}
