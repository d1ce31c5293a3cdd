package addon

import (
	"fmt"
	"slices"
)

// OptValue is the Go type of an option's value, one per Kind: bool (Bool),
// int (Int), string (String), []string (Strings), and for the kinds that
// may be unset *string (OptionalString) and *int (OptionalInt), nil when
// unset.
type OptValue interface {
	bool | int | string | []string | *string | *int
}

// kindOf is the Kind whose values are T.
func kindOf[T OptValue]() Kind {
	var zero T
	switch any(zero).(type) {
	case bool:
		return Bool
	case int:
		return Int
	case string:
		return String
	case []string:
		return Strings
	case *string:
		return OptionalString
	default: // *int
		return OptionalInt
	}
}

// Opt is a typed handle on one declared option: Declare returns it, and
// Lookup finds one declared elsewhere. Reading through a handle cannot
// misspell the name or mistake the type, which reading by name can (a
// misspelt Options.Bool("anticahce") is false, silently).
//
// The zero Opt belongs to no registry: Get returns the zero value and Set
// fails. Handles are small values, safe to copy and to use from any
// goroutine.
type Opt[T OptValue] struct {
	opts *Options
	name string
}

// Declare declares an option with the loader's addon (see Options.Add) and
// returns its handle. Declaring an option that exists already with the
// same type returns a handle on it (a script reloading declares its options
// again); any other failure is logged with the addon's name, as
// Loader.AddOption does.
func Declare[T OptValue](l *Loader, name string, def T, help string, choices ...string) Opt[T] {
	o, err := DeclareIn(l.m.opts, name, def, help, choices...)
	if err != nil {
		l.m.log.Error(fmt.Sprintf("Addon %s: %v", l.addon, err))
		return Opt[T]{opts: l.m.opts, name: name}
	}
	return o
}

// DeclareIn declares an option in a registry directly (see Options.Add).
func DeclareIn[T OptValue](o *Options, name string, def T, help string, choices ...string) (Opt[T], error) {
	var d any = def
	// A nil default of an optional kind is "unset".
	switch v := d.(type) {
	case *string:
		if v == nil {
			d = nil
		}
	case *int:
		if v == nil {
			d = nil
		}
	}
	if err := o.Add(name, kindOf[T](), d, help, choices...); err != nil {
		if opt, _, ok := o.Lookup(name); ok && opt.Kind == kindOf[T]() {
			return Opt[T]{opts: o, name: name}, nil
		}
		return Opt[T]{}, err
	}
	return Opt[T]{opts: o, name: name}, nil
}

// Lookup returns a handle on an option declared elsewhere (by the proxy
// core, another addon or a script). An option that is not declared, or not
// of type T, is an error that names it.
func Lookup[T OptValue](o *Options, name string) (Opt[T], error) {
	opt, _, ok := o.Lookup(name)
	if !ok {
		return Opt[T]{}, fmt.Errorf("%w: %s", ErrUnknownOption, name)
	}
	if want := kindOf[T](); opt.Kind != want {
		return Opt[T]{}, fmt.Errorf("option %s is of type %s, not %s", name, opt.Kind, want)
	}
	return Opt[T]{opts: o, name: name}, nil
}

// MustLookup is Lookup for options that are known to exist (those the
// front door's own chain declares); it panics otherwise.
func MustLookup[T OptValue](o *Options, name string) Opt[T] {
	h, err := Lookup[T](o, name)
	if err != nil {
		panic(err)
	}
	return h
}

// Name is the option's name.
func (o Opt[T]) Name() string { return o.name }

// Get returns the current value. A []string is a copy.
func (o Opt[T]) Get() T {
	var zero T
	if o.opts == nil {
		return zero
	}
	v, _ := o.opts.Get(o.name).(T)
	return cloneValue(v)
}

// cloneValue copies a []string, which the registry shares.
func cloneValue[T OptValue](v T) T {
	if s, ok := any(v).([]string); ok {
		return any(slices.Clone(s)).(T)
	}
	return v
}

// Set changes the value and tells the addons (Options.Update): an addon
// may reject it, and the error says why.
func (o Opt[T]) Set(v T) error {
	if o.opts == nil {
		return fmt.Errorf("option handle %q belongs to no options registry", o.name)
	}
	return o.opts.Update(map[string]any{o.name: v})
}

// Changed reports whether the option is among those a configure hook was
// told about.
func (o Opt[T]) Changed(updated map[string]bool) bool { return updated[o.name] }

// Default returns the declared default.
func (o Opt[T]) Default() T {
	var zero T
	if o.opts == nil {
		return zero
	}
	opt, _, ok := o.opts.Lookup(o.name)
	if !ok {
		return zero
	}
	v, _ := opt.Default.(T)
	return cloneValue(v)
}
