package addon

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/mitmgo/mitmgo/internal/textwrap"
)

// Kind is an option's type, as mitmproxy's typespecs.
type Kind int

const (
	// Bool options take true/false; "--set name" alone means true.
	Bool Kind = iota
	// Int options take a decimal integer.
	Int
	// String options take any text.
	String
	// OptionalString is a string that may be None (unset).
	OptionalString
	// OptionalInt is an int that may be None (unset).
	OptionalInt
	// Strings is a sequence of strings; repeated --set appends.
	Strings
)

func (k Kind) String() string {
	switch k {
	case Bool:
		return "bool"
	case Int:
		return "int"
	case String:
		return "str"
	case OptionalString:
		return "optional str"
	case OptionalInt:
		return "optional int"
	case Strings:
		return "sequence of str"
	}
	return "unknown"
}

// Option describes one option. Values are bool, int, string, []string, or for
// the optional kinds a *string / *int that is nil when unset.
type Option struct {
	Name    string
	Kind    Kind
	Default any
	Help    string
	// Choices, when set, lists the values a String option accepts.
	Choices []string
	// Ignored marks an option of another tool (mitmweb's web_port in
	// mitmdump): declared so that a config.yaml or --set shared between
	// the tools is accepted, used by nothing here, and left out of Dump
	// (--options), as mitmproxy's tools list only their own.
	Ignored bool
	value   any
}

// ErrUnknownOption is wrapped by errors about options that do not exist.
var ErrUnknownOption = errors.New("unknown option")

// Options is the typed options registry. Addons declare options in their load
// hook; values come from config.yaml, --set and flags. Reads are safe from any
// goroutine.
//
// Code reads options through typed handles (Declare, Lookup; see Opt). The
// accessors by name (Bool, Int, String, Strings, IsSet, Get) read an
// undeclared or misspelt name as the zero value: they are for tests and for
// names that come from outside (the set command, --set, flags). The root
// package's TestNoOptionReadsByName keeps the module's non-test code off them.
type Options struct {
	mu       sync.RWMutex
	opts     map[string]*Option
	deferred map[string][]string
	// changed is called with the names of changed options after an update;
	// an error rolls the update back.
	changed func(updated map[string]bool) error
}

// NewOptions returns an empty registry.
func NewOptions() *Options {
	return &Options{opts: map[string]*Option{}, deferred: map[string][]string{}}
}

// Add declares an option. def must match kind (nil for unset optional kinds).
// Values set for it before it was declared (with Set) are applied now.
func (o *Options) Add(name string, kind Kind, def any, help string, choices ...string) error {
	def, err := coerce(kind, def)
	if err != nil {
		return fmt.Errorf("option %s: bad default: %w", name, err)
	}
	o.mu.Lock()
	if _, dup := o.opts[name]; dup {
		o.mu.Unlock()
		return fmt.Errorf("option %s is already declared", name)
	}
	opt := &Option{Name: name, Kind: kind, Default: def, Help: help, Choices: choices, value: def}
	o.opts[name] = opt
	pending, ok := o.deferred[name]
	delete(o.deferred, name)
	o.mu.Unlock()
	if ok {
		v, err := o.parseValues(opt, pending)
		if err != nil {
			return err
		}
		return o.Update(map[string]any{name: v})
	}
	return nil
}

// AddIgnored declares an option of another tool (see Option.Ignored).
func (o *Options) AddIgnored(name string, kind Kind, def any, help string, choices ...string) error {
	if err := o.Add(name, kind, def, help, choices...); err != nil {
		return err
	}
	o.mu.Lock()
	o.opts[name].Ignored = true
	o.mu.Unlock()
	return nil
}

// MustAdd is Add for built-in options whose declaration cannot fail.
func (o *Options) MustAdd(name string, kind Kind, def any, help string, choices ...string) {
	if err := o.Add(name, kind, def, help, choices...); err != nil {
		panic(err)
	}
}

func coerce(kind Kind, v any) (any, error) {
	switch kind {
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Int:
		if i, ok := v.(int); ok {
			return i, nil
		}
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case OptionalString:
		switch s := v.(type) {
		case nil:
			return (*string)(nil), nil
		case *string:
			return s, nil
		case string:
			return &s, nil
		}
	case OptionalInt:
		switch i := v.(type) {
		case nil:
			return (*int)(nil), nil
		case *int:
			return i, nil
		case int:
			return &i, nil
		}
	case Strings:
		switch s := v.(type) {
		case nil:
			return []string{}, nil
		case []string:
			return slices.Clone(s), nil
		case string:
			return []string{s}, nil
		}
	}
	return nil, fmt.Errorf("expected %s, got %T", kind, v)
}

// Lookup returns a copy of the option's description and current value.
func (o *Options) Lookup(name string) (Option, any, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	opt, ok := o.opts[name]
	if !ok {
		return Option{}, nil, false
	}
	return *opt, opt.value, true
}

// Get returns the current value of name, or nil if it is not declared.
func (o *Options) Get(name string) any {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if opt, ok := o.opts[name]; ok {
		return opt.value
	}
	return nil
}

// Bool returns a Bool option's value (false if undeclared).
func (o *Options) Bool(name string) bool { b, _ := o.Get(name).(bool); return b }

// Int returns an Int option's value, or an OptionalInt's (0 when unset).
func (o *Options) Int(name string) int {
	switch v := o.Get(name).(type) {
	case int:
		return v
	case *int:
		if v != nil {
			return *v
		}
	}
	return 0
}

// String returns a String option's value, or an OptionalString's ("" when
// unset).
func (o *Options) String(name string) string {
	switch v := o.Get(name).(type) {
	case string:
		return v
	case *string:
		if v != nil {
			return *v
		}
	}
	return ""
}

// IsSet reports whether an optional option has a value.
func (o *Options) IsSet(name string) bool {
	switch v := o.Get(name).(type) {
	case *string:
		return v != nil
	case *int:
		return v != nil
	case nil:
		return false
	}
	return true
}

// Strings returns a Strings option's value.
func (o *Options) Strings(name string) []string {
	s, _ := o.Get(name).([]string)
	return slices.Clone(s)
}

// Default returns the declared default of name, or nil if it is not
// declared.
func (o *Options) Default(name string) any {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if opt, ok := o.opts[name]; ok {
		return opt.Default
	}
	return nil
}

// HasChanged reports whether name differs from its default.
func (o *Options) HasChanged(name string) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	opt, ok := o.opts[name]
	return ok && !reflect.DeepEqual(opt.value, opt.Default)
}

// Reset sets options back to their defaults: those named, or every one
// when none is named (mitmproxy's options.reset). Addons are told of the
// options that changed.
func (o *Options) Reset(names ...string) error {
	if len(names) == 0 {
		names = o.Names()
	}
	values := map[string]any{}
	for _, n := range names {
		o.mu.RLock()
		opt, ok := o.opts[n]
		if ok && !reflect.DeepEqual(opt.value, opt.Default) {
			values[n] = opt.Default
		}
		o.mu.RUnlock()
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownOption, n)
		}
	}
	return o.Update(values)
}

// SaveYAML writes the options that differ from their defaults to a
// config.yaml at path (mitmproxy's options.save): keys the file has for
// other options are kept, keys that name no option are dropped.
func (o *Options) SaveYAML(path string) error {
	data := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := yaml.Unmarshal(b, &data); err != nil {
			return fmt.Errorf("%s: invalid YAML: %w", path, err)
		}
		if data == nil {
			data = map[string]any{}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for _, n := range o.Names() {
		if o.HasChanged(n) {
			v := o.Get(n)
			switch p := v.(type) {
			case *string:
				v = *p
			case *int:
				v = *p
			}
			data[n] = v
		}
	}
	for k := range data {
		if _, _, ok := o.Lookup(k); !ok {
			delete(data, k)
		}
	}
	out, err := yaml.Marshal(data)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		out = nil
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Names lists the declared options, sorted.
func (o *Options) Names() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	names := make([]string, 0, len(o.opts))
	for n := range o.opts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseValue converts the text form of a value for option name.
func (o *Options) ParseValue(name, text string) (any, error) {
	o.mu.RLock()
	opt, ok := o.opts[name]
	o.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownOption, name)
	}
	return o.parseValues(opt, []string{text})
}

// parseValues converts one or more --set texts for opt. A Strings option
// takes each text as one element; other kinds take the last one.
func (o *Options) parseValues(opt *Option, texts []string) (any, error) {
	if opt.Kind == Strings {
		out := []string{}
		for _, t := range texts {
			if t == "" {
				// "--set name" with no value empties a sequence.
				continue
			}
			out = append(out, t)
		}
		return out, nil
	}
	text := texts[len(texts)-1]
	switch opt.Kind {
	case Bool:
		if text == "toggle" {
			b, _ := o.Get(opt.Name).(bool)
			return !b, nil
		}
		switch strings.ToLower(text) {
		case "", "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("option %s: %q is not a boolean (use true, false or toggle)", opt.Name, text)
	case Int, OptionalInt:
		if text == "" && opt.Kind == OptionalInt {
			return (*int)(nil), nil
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("option %s: %q is not an integer", opt.Name, text)
		}
		if opt.Kind == OptionalInt {
			return &n, nil
		}
		return n, nil
	case String:
		if len(opt.Choices) > 0 && !slices.Contains(opt.Choices, text) {
			return nil, fmt.Errorf("option %s: %q is not one of %s", opt.Name, text, strings.Join(opt.Choices, ", "))
		}
		return text, nil
	case OptionalString:
		if text == "" {
			return (*string)(nil), nil
		}
		return &text, nil
	}
	return nil, fmt.Errorf("option %s: unsupported kind", opt.Name)
}

// Set applies "name=value" specs, as mitmdump's --set. Repeating a sequence
// option's spec builds the sequence. Specs naming options that are not
// declared yet are kept until an addon declares them (scripts declare options
// while loading); CheckDeferred reports those that never were.
func (o *Options) Set(specs ...string) error {
	grouped := map[string][]string{}
	var order []string
	for _, s := range specs {
		name, value, _ := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("invalid --set %q: expected name=value", s)
		}
		if _, seen := grouped[name]; !seen {
			order = append(order, name)
		}
		grouped[name] = append(grouped[name], value)
	}
	update := map[string]any{}
	for _, name := range order {
		o.mu.Lock()
		opt, ok := o.opts[name]
		if !ok {
			o.deferred[name] = append(o.deferred[name], grouped[name]...)
			o.mu.Unlock()
			continue
		}
		o.mu.Unlock()
		v, err := o.parseValues(opt, grouped[name])
		if err != nil {
			return err
		}
		update[name] = v
	}
	return o.Update(update)
}

// CheckDeferred returns an error naming the options set but never declared.
func (o *Options) CheckDeferred() error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if len(o.deferred) == 0 {
		return nil
	}
	names := make([]string, 0, len(o.deferred))
	for n := range o.deferred {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: %s (see --options for the list)", ErrUnknownOption, strings.Join(names, ", "))
}

// Update sets typed values, then tells the addons (configure). If an addon
// rejects the change, every value is restored, the addons are told again
// (so those that accepted the new values before the rejection go back to the
// old ones, as mitmproxy's rollback does), and the error is returned.
func (o *Options) Update(values map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	o.mu.Lock()
	old := map[string]any{}
	for name, v := range values {
		opt, ok := o.opts[name]
		if !ok {
			o.mu.Unlock()
			o.restore(old)
			return fmt.Errorf("%w: %s", ErrUnknownOption, name)
		}
		cv, err := coerce(opt.Kind, v)
		if err != nil {
			o.mu.Unlock()
			o.restore(old)
			return fmt.Errorf("option %s: %w", name, err)
		}
		old[name] = opt.value
		opt.value = cv
	}
	changed := o.changed
	o.mu.Unlock()
	if changed == nil {
		return nil
	}
	updated := make(map[string]bool, len(values))
	for n := range values {
		updated[n] = true
	}
	if err := changed(updated); err != nil {
		o.restore(old)
		// The old values were accepted before; an error now has nowhere
		// to go but the one already being returned.
		_ = changed(updated)
		return err
	}
	return nil
}

func (o *Options) restore(old map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, v := range old {
		o.opts[name].value = v
	}
}

// LoadYAML reads a mitmproxy config.yaml (a mapping of option names to
// values). A missing file is not an error.
func (o *Options) LoadYAML(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: invalid YAML: %w", path, err)
	}
	// Specs are built in name order (the map has none), keeping the order
	// of each list's items.
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	var specs []string
	for _, name := range names {
		v := raw[name]
		switch val := v.(type) {
		case []any:
			if len(val) == 0 {
				specs = append(specs, name+"=")
			}
			for _, e := range val {
				specs = append(specs, fmt.Sprintf("%s=%v", name, e))
			}
		case nil:
			specs = append(specs, name+"=")
		default:
			specs = append(specs, fmt.Sprintf("%s=%v", name, val))
		}
	}
	if err := o.Set(specs...); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Dump writes every option with its help text and current value as YAML, the
// form of mitmdump --options (mitmproxy's optmanager.dump_defaults): each
// option preceded by an empty line and its help wrapped at 70 columns as
// Python's textwrap does, ending in " Type <kind>." or, for options with
// choices, " Valid values are 'a', 'b'.".
//
// One difference remains: an unset optional value is written "null", where
// mitmproxy's YAML writer leaves the value empty ("name:").
func (o *Options) Dump() string {
	var sb strings.Builder
	for _, name := range o.Names() {
		opt, v, _ := o.Lookup(name)
		if opt.Ignored {
			continue
		}
		help := strings.TrimSpace(opt.Help)
		if len(opt.Choices) > 0 {
			quoted := make([]string, len(opt.Choices))
			for i, c := range opt.Choices {
				quoted[i] = pyRepr(c)
			}
			help += " Valid values are " + strings.Join(quoted, ", ") + "."
		} else {
			help += " Type " + opt.Kind.String() + "."
		}
		sb.WriteByte('\n')
		for _, line := range textwrap.Wrap(help, 70) {
			sb.WriteString("# " + line + "\n")
		}
		sb.WriteString(name + ":")
		if val := yamlValue(v); strings.HasPrefix(val, "\n") {
			sb.WriteString(val) // a block sequence starts on the next line
		} else {
			sb.WriteString(" " + val)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// pyRepr quotes a string as Python's repr does for plain text.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"`
	}
	r := strings.NewReplacer(`\`, `\\`, "'", `\'`)
	return "'" + r.Replace(s) + "'"
}

func yamlValue(v any) string {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return "null"
		}
		v = *x
	case *int:
		if x == nil {
			return "null"
		}
		v = *x
	case []string:
		if len(x) == 0 {
			return "[]"
		}
	}
	if s, ok := v.(string); ok && strings.ContainsAny(s, "\r\n") {
		// A double-quoted scalar stays on the option's line, as ruamel
		// writes it (yaml.v3 would start a literal block); Go's escapes
		// are valid YAML ones.
		return strconv.Quote(s)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimRight(string(out), "\n")
	if strings.Contains(s, "\n") {
		return "\n" + s
	}
	// mitmproxy's YAML writer (ruamel) quotes with single quotes where
	// yaml.v3 uses double ones for simple strings: '' rather than "".
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s, `\`) {
		return "'" + strings.ReplaceAll(s[1:len(s)-1], "'", "''") + "'"
	}
	return s
}
