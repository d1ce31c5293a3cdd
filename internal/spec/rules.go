package spec

import (
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
)

// Rules is an addon's list option of rules (map_local, map_remote,
// modify_headers, modify_body, block_list): declared with an empty list,
// parsed as a whole whenever it changes, and swapped at once, so that a
// hook sees either the old rules or the new ones. One bad rule rejects the
// whole new value (the error names the option and the rule) and leaves the
// active rules untouched. It is safe for concurrent use.
type Rules[R any] struct {
	name   string
	opt    addon.Opt[[]string]
	parse  func(string) (R, error)
	active atomic.Pointer[[]R]
}

// Declare declares the option name on l; parse reads one value.
func (r *Rules[R]) Declare(l *addon.Loader, name, help string, parse func(string) (R, error)) {
	r.name, r.parse = name, parse
	r.opt = addon.Declare(l, name, []string{}, help)
}

// Configure parses the option's value when it is among updated; before
// Declare it does nothing.
func (r *Rules[R]) Configure(updated map[string]bool) error {
	if r.parse == nil || !updated[r.name] {
		return nil
	}
	rules, err := ParseAll(r.name, r.opt.Get(), r.parse)
	if err != nil {
		return err
	}
	r.active.Store(&rules)
	return nil
}

// Set replaces the rules without the option, for embedders that do not
// use the options.
func (r *Rules[R]) Set(rules []R) {
	rules = append([]R(nil), rules...)
	r.active.Store(&rules)
}

// Active returns the rules in force: none before the first Configure or
// Set. The slice is shared: read it, never change it.
func (r *Rules[R]) Active() []R {
	if p := r.active.Load(); p != nil {
		return *p
	}
	return nil
}

// Values returns the option's value as set, unparsed.
func (r *Rules[R]) Values() []string {
	if r.parse == nil {
		return nil
	}
	return r.opt.Get()
}
