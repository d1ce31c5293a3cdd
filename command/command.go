// Package command is mitmgo's command registry: mitmproxy's typed commands
// (mitmproxy/command.py). A command has a dotted name ("flow.resume"),
// typed parameters and an optional typed result. Addons register commands
// in their load hook (addon.Loader.AddCommand); a key in the console, a
// button in mitmweb, a script or --commands reaches them here by name.
//
// A command runs three ways, as in mitmproxy:
//
//   - Call(name, args...) with Go values (a []flow.Any for a flow[]);
//   - CallStrings(name, texts) parses each text by its parameter's type
//     (a flow[] by resolving "@marked" or a filter expression through the
//     view.flows.resolve command);
//   - Execute("flow.mark @focus true") splits a command line first, with
//     mitmproxy's quoting (Parse, then Run: a caller may parse a line on
//     one goroutine and run it on another).
//
// Errors are *Error values with mitmproxy's messages ("Unknown command:
// x", "Invalid choice.", "Command requires one flow, specification matched
// 3.").
//
// A script host registers the commands of its scripts like any addon: a
// Command whose Run forwards the call to the script, with the parameter
// types the script declared (TypeByName reads mitmproxy's display names).
package command

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
	"github.com/mitmgo/mitmgo/internal/textwrap"
)

// Error is mitmproxy's CommandError: what a command reports to its caller
// (a UI shows the message).
type Error struct {
	Msg string
	// Err is the error the message came from, if any.
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Msg: err.Error(), Err: errors.Unwrap(err)}
}

// asError turns any error into an *Error.
func asError(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	return &Error{Msg: err.Error(), Err: err}
}

// Param is one parameter of a command.
type Param struct {
	Name string
	Type Type
	// Variadic takes every remaining argument (Python's *args); it must
	// be the last parameter. The command receives them as a []any of the
	// type's values (Args.Strs reads strings).
	Variadic bool
	// Default is the value of the argument when a caller leaves it out
	// (a Python default value, as inject.websocket's is_text=True); nil
	// means the argument is required. Only trailing parameters may have
	// one.
	Default any
}

// String is the parameter as signatures show it: "name", or "*name".
func (p Param) String() string {
	if p.Variadic {
		return "*" + p.Name
	}
	return p.Name
}

// Command is one command.
type Command struct {
	// Name is the dotted name ("flow.resume").
	Name string
	// Help says what the command does (mitmproxy's docstring); it is
	// wrapped at 70 columns when shown.
	Help   string
	Params []Param
	// Returns is the result's type; None (the zero Type) for commands
	// that return nothing.
	Returns Type
	// Run does the work, with one value per parameter, converted as Type
	// says. An error it returns reaches the caller as an *Error.
	Run func(args Args) (any, error)
	// Complete, when set, lists the candidates for argument idx (from 0)
	// given the arguments before it, where the parameter's type cannot
	// know them (set: option names, then that option's values); ok false
	// leaves it to the type's completer.
	Complete func(idx int, args []string) (cands []string, ok bool)
}

// Signature is mitmproxy's signature_help: "name param *rest -> type".
func (c *Command) Signature() string {
	parts := make([]string, 0, len(c.Params))
	for _, p := range c.Params {
		parts = append(parts, p.String())
	}
	s := c.Name + " " + strings.Join(parts, " ")
	if !c.Returns.IsNone() {
		s += " -> " + c.Returns.String()
	}
	return s
}

// HelpText is the help wrapped as mitmproxy shows it ("" when none).
//
// mitmproxy wraps a method's docstring as it is written, indentation
// included, and the indentation changes where lines break. A line of Help
// that starts without indentation is taken as indented as a method's
// docstring is (eight spaces), so that Go commands written with the line
// breaks of mitmproxy's docstrings print as mitmproxy's do.
func (c *Command) HelpText() string {
	lines := strings.Split(strings.TrimSpace(c.Help), "\n")
	for i := 1; i < len(lines); i++ {
		if l := lines[i]; l != "" && l[0] != ' ' && l[0] != '\t' {
			lines[i] = "        " + l
		}
	}
	return strings.Join(textwrap.Wrap(strings.Join(lines, "\n"), 70), "\n")
}

// Args are the converted arguments a command runs with, one per parameter
// (a variadic parameter's values are one []any).
type Args []any

// Str returns argument i as a string.
func (a Args) Str(i int) string { s, _ := a[i].(string); return s }

// Int returns argument i as an int.
func (a Args) Int(i int) int { n, _ := a[i].(int); return n }

// Bool returns argument i as a bool.
func (a Args) Bool(i int) bool { b, _ := a[i].(bool); return b }

// Bytes returns argument i as bytes.
func (a Args) Bytes(i int) []byte { b, _ := a[i].([]byte); return b }

// Flow returns argument i as a flow.
func (a Args) Flow(i int) flow.Any { f, _ := a[i].(flow.Any); return f }

// Flows returns argument i as flows.
func (a Args) Flows(i int) []flow.Any { f, _ := a[i].([]flow.Any); return f }

// Strs returns argument i as strings: a str[] or cut[] argument, or the
// values of a variadic string parameter.
func (a Args) Strs(i int) []string {
	switch v := a[i].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// Registry holds the commands. It is safe for concurrent use; commands run
// on the caller's goroutine, without the registry's lock.
type Registry struct {
	mu   sync.RWMutex
	cmds map[string]*Command
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{cmds: map[string]*Command{}} }

// Add registers a command, replacing one of the same name (as mitmproxy,
// where a script may redefine a command).
func (r *Registry) Add(c Command) error {
	if c.Name == "" || strings.ContainsAny(c.Name, " \t\r\n'\"") {
		return fmt.Errorf("command %q: invalid name", c.Name)
	}
	if c.Run == nil {
		return fmt.Errorf("command %s: no Run function", c.Name)
	}
	for i, p := range c.Params {
		if p.Type.IsNone() {
			return fmt.Errorf("command %s: argument %s has no type", c.Name, p.Name)
		}
		if p.Variadic && i != len(c.Params)-1 {
			return fmt.Errorf("command %s: only the last argument may be variadic", c.Name)
		}
	}
	c.Params = slices.Clone(c.Params)
	r.mu.Lock()
	r.cmds[c.Name] = &c
	r.mu.Unlock()
	return nil
}

// MustAdd is Add for built-in commands, which are known to be valid.
func (r *Registry) MustAdd(c Command) {
	if err := r.Add(c); err != nil {
		panic(err)
	}
}

// Remove unregisters a command (a script that is unloaded).
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	delete(r.cmds, name)
	r.mu.Unlock()
}

// Get returns the command registered under name.
func (r *Registry) Get(name string) (*Command, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.cmds[name]
	return c, ok
}

// Names lists the command names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.cmds))
	for n := range r.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Commands lists the commands, sorted by name.
func (r *Registry) Commands() []*Command {
	r.mu.RLock()
	out := make([]*Command, 0, len(r.cmds))
	for _, c := range r.cmds {
		out = append(out, c)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *Registry) lookup(name string) (*Command, error) {
	c, ok := r.Get(name)
	if !ok {
		return nil, &Error{Msg: "Unknown command: " + name}
	}
	return c, nil
}

// Call runs a command with Go values, one per parameter (the values of a
// variadic parameter follow one by one). Flows may be given as []flow.Any
// or []*flow.HTTPFlow.
func (r *Registry) Call(name string, args ...any) (any, error) {
	c, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	bound, err := r.bindNative(c, args)
	if err != nil {
		return nil, err
	}
	return r.run(c, bound)
}

func (r *Registry) bindNative(c *Command, args []any) (Args, error) {
	bound := make(Args, 0, len(c.Params))
	for i, p := range c.Params {
		if p.Variadic {
			rest := make([]any, 0, len(args)-i)
			for _, a := range args[min(i, len(args)):] {
				v, err := r.native(p, a)
				if err != nil {
					return nil, err
				}
				rest = append(rest, v)
			}
			return append(bound, rest), nil
		}
		if i >= len(args) {
			if p.Default != nil {
				bound = append(bound, p.Default)
				continue
			}
			return nil, &Error{Msg: fmt.Sprintf("command argument mismatch: missing a required argument: '%s'", p.Name)}
		}
		v, err := r.native(p, args[i])
		if err != nil {
			return nil, err
		}
		bound = append(bound, v)
	}
	if len(args) > len(c.Params) {
		return nil, &Error{Msg: "command argument mismatch: too many positional arguments"}
	}
	return bound, nil
}

// native checks (and where Go needs it, converts) a Go argument.
func (r *Registry) native(p Param, v any) (any, error) {
	switch p.Type.k {
	case kFlows:
		switch fs := v.(type) {
		case []*flow.HTTPFlow:
			out := make([]flow.Any, len(fs))
			for i, f := range fs {
				out[i] = f
			}
			v = out
		case []*flow.TCPFlow:
			out := make([]flow.Any, len(fs))
			for i, f := range fs {
				out[i] = f
			}
			v = out
		}
	case kStrs, kCutSpec:
		if l, ok := v.([]any); ok {
			out := make([]string, 0, len(l))
			for _, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, &Error{Msg: fmt.Sprintf("command argument mismatch: argument %s: expected %s, got %T", p.Name, p.Type, v)}
				}
				out = append(out, s)
			}
			v = out
		}
	case kInt:
		if n, ok := v.(int64); ok {
			v = int(n)
		}
	case kMarker, kChoice:
		// Call passes these through as mitmproxy's does (the command
		// checks the value): the choices are words of a command line.
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	if !p.Type.Valid(r, v) {
		return nil, &Error{Msg: fmt.Sprintf("command argument mismatch: argument %s: expected %s, got %T", p.Name, p.Type, v)}
	}
	return v, nil
}

// CallStrings runs a command with the text of each argument, parsed by its
// parameter's type (mitmproxy's call_strings).
func (r *Registry) CallStrings(name string, args []string) (any, error) {
	c, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	bound, err := r.prepare(c, args)
	if err != nil {
		return nil, err
	}
	return r.run(c, bound)
}

func (r *Registry) prepare(c *Command, args []string) (Args, error) {
	n := len(c.Params)
	variadic := n > 0 && c.Params[n-1].Variadic
	fixed := n
	if variadic {
		fixed--
	}
	required := fixed
	for required > 0 && c.Params[required-1].Default != nil {
		required--
	}
	if len(args) < required || !variadic && len(args) > n {
		parts := make([]string, len(c.Params))
		for i, p := range c.Params {
			parts[i] = p.String() + ": " + p.Type.String()
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = pyrepr.Str(a)
		}
		return nil, &Error{Msg: fmt.Sprintf("Command argument mismatch: \n    Expected: (%s)\n    Received: [%s]",
			strings.Join(parts, ", "), strings.Join(quoted, ", "))}
	}
	bound := make(Args, 0, n)
	for i := 0; i < fixed; i++ {
		if i >= len(args) {
			bound = append(bound, c.Params[i].Default)
			continue
		}
		v, err := c.Params[i].Type.Parse(r, args[i])
		if err != nil {
			return nil, asError(err)
		}
		bound = append(bound, v)
	}
	if variadic {
		t := c.Params[n-1].Type
		rest := make([]any, 0, len(args)-fixed)
		for _, a := range args[min(fixed, len(args)):] {
			v, err := t.Parse(r, a)
			if err != nil {
				return nil, asError(err)
			}
			rest = append(rest, v)
		}
		bound = append(bound, rest)
	}
	return bound, nil
}

func (r *Registry) run(c *Command, args Args) (ret any, err error) {
	defer func() {
		if p := recover(); p != nil {
			ret, err = nil, &Error{Msg: fmt.Sprintf("command %s failed: panic: %v\n%s", c.Name, p, debug.Stack())}
		}
	}()
	ret, err = c.Run(args)
	if err != nil {
		return nil, asError(err)
	}
	if c.Returns.IsNone() {
		return nil, nil
	}
	if !c.Returns.Valid(r, ret) {
		return nil, &Error{Msg: fmt.Sprintf("%s returned unexpected data - expected %s", c.Name, c.Returns)}
	}
	return ret, nil
}

// Execute runs a command line: the command's name and its arguments,
// separated by spaces, with '...' or "..." around arguments that contain
// spaces (mitmproxy's execute). It is Parse, then Run.
func (r *Registry) Execute(cmdstr string) (any, error) {
	c, args, err := r.Parse(cmdstr)
	if err != nil {
		return nil, err
	}
	return r.run(c, args)
}

// Parse reads a command line as Execute does, without running it: the
// command it names and its arguments, each parsed by its parameter's type
// (a flow spec is resolved now), for Run. A UI that runs a command
// elsewhere (the console runs script.run off its goroutine) parses the
// line where it was given, so that @focus is the flow focused then, with
// the same parser and errors as Execute.
func (r *Registry) Parse(cmdstr string) (*Command, Args, error) {
	var words []string
	for _, p := range Lex(cmdstr) {
		if !isSpace(p) {
			words = append(words, Unquote(p))
		}
	}
	if len(words) == 0 {
		return nil, nil, &Error{Msg: "Invalid command: " + pyrepr.Str(cmdstr)}
	}
	c, err := r.lookup(words[0])
	if err != nil {
		return nil, nil, err
	}
	args, err := r.prepare(c, words[1:])
	if err != nil {
		return nil, nil, err
	}
	return c, args, nil
}

// Run runs c with the arguments Parse returned for it, on any goroutine.
func (r *Registry) Run(c *Command, args Args) (any, error) { return r.run(c, args) }

// choices runs a Choice's options command.
func (r *Registry) choices(cmd string) ([]string, error) {
	v, err := r.Execute(cmd)
	if err != nil {
		return nil, err
	}
	s, _ := v.([]string)
	return s, nil
}

// Dump writes every command's help and signature, sorted by signature, as
// mitmproxy's --commands does.
func (r *Registry) Dump(w io.Writer) error {
	cmds := r.Commands()
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].Signature() < cmds[j].Signature() })
	var sb strings.Builder
	for _, c := range cmds {
		if h := c.HelpText(); h != "" {
			for _, line := range strings.Split(h, "\n") {
				sb.WriteString("# " + line + "\n")
			}
		}
		sb.WriteString(c.Signature() + "\n\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// ParseResult is one part of a command line, as ParsePartial sees it.
type ParseResult struct {
	Value string
	// Type is the type expected there (Cmd for the command's name;
	// Unknown past the last parameter); zero for spaces.
	Type Type
	// Space marks a run of whitespace.
	Space bool
	// Valid reports whether Value parses as Type.
	Valid bool
}

// ParsePartial parses a command line that may be incomplete, for
// completion and highlighting: each part with the type expected there, and
// the parameters still to come (mitmproxy's parse_partial).
func (r *Registry) ParsePartial(cmdstr string) ([]ParseResult, []Param) {
	var out []ParseResult
	// The first word is a command; what follows are its arguments, once
	// it is known.
	cmdArgs := Param{Type: Arg}
	next := []Param{{Type: Cmd}, cmdArgs}
	var expected *Param
	for _, part := range Lex(cmdstr) {
		if isSpace(part) {
			out = append(out, ParseResult{Value: part, Space: true, Valid: true})
			continue
		}
		switch {
		case expected != nil && expected.Variadic:
		case len(next) > 0:
			p := next[0]
			next = next[1:]
			expected = &p
		default:
			expected = &Param{Type: Unknown}
		}
		if expected.Type.k == kCmd && len(next) > 0 && next[0].Type.k == kArg && next[0].Name == "" {
			if c, ok := r.Get(part); ok {
				next = append(slices.Clone(c.Params), next[1:]...)
			} else {
				next = next[1:]
			}
		}
		_, err := expected.Type.Parse(r, Unquote(part))
		out = append(out, ParseResult{Value: part, Type: expected.Type, Valid: err == nil})
	}
	return out, next
}

// CompleteArg lists the completions of c's argument idx (from 0) that start
// with text, given the arguments before it: the command's own candidates
// (Command.Complete), else its parameter type's (Type.Complete), sorted and
// without repeats. Paths come whole, as the path completer finds them from
// text, not filtered by it. Both UIs' command lines complete with it.
func (r *Registry) CompleteArg(c *Command, idx int, args []string, text string) []string {
	var typ Type
	switch n := len(c.Params); {
	case idx < n:
		typ = c.Params[idx].Type
	case n > 0 && c.Params[n-1].Variadic:
		typ = c.Params[n-1].Type
	default:
		return []string{}
	}
	cands, ok := []string(nil), false
	if c.Complete != nil {
		cands, ok = c.Complete(idx, args)
	}
	filter := true
	if !ok {
		cands = typ.Complete(r, text)
		filter = typ != Path
	}
	out := []string{}
	for _, cand := range cands {
		if !filter || strings.HasPrefix(cand, text) {
			out = append(out, cand)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
