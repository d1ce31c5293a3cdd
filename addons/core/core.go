// Package core is mitmproxy's core addon: the commands every tool has for
// options (set, options.load/save/reset) and for changing flows (flow.mark,
// flow.resume, flow.kill, flow.revert, flow.set, flow.decode, flow.encode,
// flow.comment), with mitmproxy's names, arguments, help and messages.
//
// The flow commands change flows outside their hooks: they do so inside
// Context.EditFlows and then fire the update hook (Context.Update), so that
// the view re-files the flows and a UI redraws them. Marking, commenting,
// resuming and killing work on flows in flight too (those fields are
// atomic or under the flow's lock); the commands that read or change more
// (a backup, a decode, flow.set, flow.revert) change only the flows that
// may be read (Context.EditReadable: over, or intercepted and waiting),
// warn about each other one, and count only those they changed.
package core

import (
	"fmt"
	"os"
	"strconv"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/emoji"
)

// Core is the addon.
type Core struct {
	ctx *addon.Context
}

var _ addon.LoadHook = (*Core)(nil)

// New returns the addon.
func New() *Core { return &Core{} }

// Name is mitmproxy's addon name.
func (c *Core) Name() string { return "core" }

func p(name string, t command.Type) command.Param { return command.Param{Name: name, Type: t} }

// Load registers the commands.
func (c *Core) Load(l *addon.Loader) {
	c.ctx = l.Context()
	add := l.AddCommand
	add(command.Command{Name: "set", Params: []command.Param{p("option", command.Str), {Name: "value", Type: command.Str, Variadic: true}},
		Help:     "Set an option. When the value is omitted, booleans are set to true,\nstrings and integers are set to None (if permitted), and sequences\nare emptied. Boolean values can be true, false or toggle.\nMultiple values are concatenated with a single space.",
		Run:      func(a command.Args) (any, error) { return nil, c.Set(a.Str(0), a.Strs(1)...) },
		Complete: c.completeSet})
	add(command.Command{Name: "flow.resume", Params: []command.Param{p("flows", command.Flows)}, Help: "Resume flows if they are intercepted.",
		Run: func(a command.Args) (any, error) { c.Resume(a.Flows(0)); return nil, nil }})
	add(command.Command{Name: "flow.mark", Params: []command.Param{p("flows", command.Flows), p("marker", command.Marker)}, Help: "Mark flows.",
		Run: func(a command.Args) (any, error) { return nil, c.Mark(a.Flows(0), a.Str(1)) }})
	add(command.Command{Name: "flow.mark.toggle", Params: []command.Param{p("flows", command.Flows)}, Help: "Toggle mark for flows.",
		Run: func(a command.Args) (any, error) { c.MarkToggle(a.Flows(0)); return nil, nil }})
	add(command.Command{Name: "flow.kill", Params: []command.Param{p("flows", command.Flows)}, Help: "Kill running flows.",
		Run: func(a command.Args) (any, error) { c.Kill(a.Flows(0)); return nil, nil }})
	add(command.Command{Name: "flow.revert", Params: []command.Param{p("flows", command.Flows)}, Help: "Revert flow changes.",
		Run: func(a command.Args) (any, error) { c.Revert(a.Flows(0)); return nil, nil }})
	add(command.Command{Name: "flow.set.options", Returns: command.Strs,
		Run: func(command.Args) (any, error) {
			return []string{"host", "status_code", "method", "path", "url", "reason"}, nil
		}})
	add(command.Command{Name: "flow.set", Params: []command.Param{p("flows", command.Flows), p("attr", command.Choice("flow.set.options")), p("value", command.Str)},
		Help: "Quickly set a number of common values on flows.",
		Run:  func(a command.Args) (any, error) { return nil, c.FlowSet(a.Flows(0), a.Str(1), a.Str(2)) }})
	add(command.Command{Name: "flow.decode", Params: []command.Param{p("flows", command.Flows), p("part", command.Str)}, Help: "Decode flows.",
		Run: func(a command.Args) (any, error) { c.Decode(a.Flows(0), a.Str(1)); return nil, nil }})
	add(command.Command{Name: "flow.encode.toggle", Params: []command.Param{p("flows", command.Flows), p("part", command.Str)},
		Help: "Toggle flow encoding on and off, using deflate for encoding.",
		Run:  func(a command.Args) (any, error) { c.EncodeToggle(a.Flows(0), a.Str(1)); return nil, nil }})
	add(command.Command{Name: "flow.encode", Params: []command.Param{p("flows", command.Flows), p("part", command.Str), p("encoding", command.Choice("flow.encode.options"))},
		Help: "Encode flows with a specified encoding.",
		Run:  func(a command.Args) (any, error) { c.Encode(a.Flows(0), a.Str(1), a.Str(2)); return nil, nil }})
	add(command.Command{Name: "flow.encode.options", Returns: command.Strs, Help: "The possible values for an encoding specification.",
		Run: func(command.Args) (any, error) { return []string{"gzip", "deflate", "br", "zstd"}, nil }})
	add(command.Command{Name: "flow.comment", Params: []command.Param{p("flow", command.Flow), p("comment", command.Str)}, Help: "Add a comment to a flow",
		Run: func(a command.Args) (any, error) { c.Comment(a.Flow(0), a.Str(1)); return nil, nil }})
	add(command.Command{Name: "options.load", Params: []command.Param{p("path", command.Path)}, Help: "Load options from a file.",
		Run: func(a command.Args) (any, error) {
			if err := c.loadOptions(a.Str(0)); err != nil {
				return nil, command.Errorf("Could not load options - %w", err)
			}
			return nil, nil
		}})
	add(command.Command{Name: "options.save", Params: []command.Param{p("path", command.Path)}, Help: "Save options to a file.",
		Run: func(a command.Args) (any, error) {
			if err := c.ctx.Options.SaveYAML(a.Str(0)); err != nil {
				return nil, command.Errorf("Could not save options - %w", err)
			}
			return nil, nil
		}})
	add(command.Command{Name: "options.reset", Help: "Reset all options to defaults.",
		Run: func(command.Args) (any, error) { return nil, c.ctx.Options.Reset() }})
	add(command.Command{Name: "options.reset.one", Params: []command.Param{p("name", command.Str)}, Help: "Reset one option to its default value.",
		Run: func(a command.Args) (any, error) {
			if _, _, ok := c.ctx.Options.Lookup(a.Str(0)); !ok {
				return nil, command.Errorf("No such option: %s", a.Str(0))
			}
			return nil, c.ctx.Options.Reset(a.Str(0))
		}})
}

func (c *Core) alert(msg string) { c.ctx.Log.Log(nil, addon.LevelAlert, msg) }

// edit runs fn on each flow inside EditFlows and fires update for those
// it reports changed; it returns them. fn may change only what may change
// in flight (see the package documentation).
func (c *Core) edit(flows []flow.Any, fn func(f flow.Any) bool) []flow.Any {
	var updated []flow.Any
	c.ctx.EditFlows(func() {
		for _, f := range flows {
			if fn(f) {
				updated = append(updated, f)
			}
		}
	})
	c.ctx.Update(updated...)
	return updated
}

// editReadable is edit for fn that reads or changes the flow beyond that:
// it runs fn on the flows that may be read (Context.EditReadable), and
// warns about each other one that it cannot be what (a verb: "decode"),
// as a UI refuses to edit a flow in progress.
func (c *Core) editReadable(flows []flow.Any, what string, fn func(f flow.Any) bool) []flow.Any {
	var updated, refused []flow.Any
	c.ctx.EditReadable(flows, func(f flow.Any, readable bool) {
		switch {
		case !readable:
			refused = append(refused, f)
		case fn(f):
			updated = append(updated, f)
		}
	})
	for _, f := range refused {
		c.ctx.Log.Warn(inFlight(what, f))
	}
	c.ctx.Update(updated...)
	return updated
}

// inFlight is the warning for a flow that cannot be changed now.
func inFlight(what string, f flow.Any) string {
	return fmt.Sprintf("Cannot %s flow %s: it is in progress; intercept it or wait until it is done.", what, f.Base().ID)
}

// completeSet completes set's arguments: the option names, then the
// option's values (its choices, or a boolean's true, false and toggle).
func (c *Core) completeSet(idx int, args []string) ([]string, bool) {
	if idx == 0 {
		return c.ctx.Options.Names(), true
	}
	if len(args) == 0 {
		return nil, true
	}
	opt, _, ok := c.ctx.Options.Lookup(args[0])
	switch {
	case !ok:
		return nil, true
	case opt.Kind == addon.Bool:
		return []string{"true", "false", "toggle"}, true
	}
	return opt.Choices, true
}

// Set sets an option as the set command does: with no value a boolean
// becomes true, an optional value unset, a sequence empty; a boolean may be
// "toggle"d.
func (c *Core) Set(option string, values ...string) error {
	opt, _, ok := c.ctx.Options.Lookup(option)
	if !ok {
		return command.Errorf("Unknown option(s): %s", option)
	}
	var specs []string
	switch {
	case len(values) == 0 && (opt.Kind == addon.String || opt.Kind == addon.Int):
		return command.Errorf("Option is required: %s", option)
	case len(values) == 0:
		specs = []string{option + "="}
	case len(values) > 1 && opt.Kind != addon.Strings:
		return command.Errorf("Received multiple values for %s: %q", option, values)
	default:
		for _, v := range values {
			specs = append(specs, option+"="+v)
		}
	}
	if err := c.ctx.Options.Set(specs...); err != nil {
		return &command.Error{Msg: err.Error(), Err: err}
	}
	return nil
}

// Resume resumes the intercepted flows.
func (c *Core) Resume(flows []flow.Any) {
	c.edit(flows, func(f flow.Any) bool { return f.Base().Resume() })
}

// Mark sets the marker of flows ("" unmarks).
func (c *Core) Mark(flows []flow.Any, marker string) error {
	if marker != "" && !emoji.IsMarker(marker) {
		return command.Errorf("invalid marker value")
	}
	c.edit(flows, func(f flow.Any) bool { f.Base().SetMarked(marker); return true })
	return nil
}

// MarkToggle marks unmarked flows with the default marker and unmarks
// marked ones.
func (c *Core) MarkToggle(flows []flow.Any) {
	c.edit(flows, func(f flow.Any) bool {
		b := f.Base()
		if b.Marked() != "" {
			b.SetMarked("")
		} else {
			b.SetMarked(emoji.Default)
		}
		return true
	})
}

// Kill kills the flows that are still running.
func (c *Core) Kill(flows []flow.Any) {
	updated := c.edit(flows, func(f flow.Any) bool { return f.Base().Kill() == nil })
	c.alert(fmt.Sprintf("Killed %d flows.", len(updated)))
}

// Revert restores the flows that were changed since their backup.
func (c *Core) Revert(flows []flow.Any) {
	updated := c.editReadable(flows, "revert", func(f flow.Any) bool {
		if !f.Modified() {
			return false
		}
		return f.Revert()
	})
	c.alert(fmt.Sprintf("Reverted %d flows.", len(updated)))
}

// FlowSet sets a common attribute of flows: host, method, path or url of
// the request, status_code or reason of the response.
func (c *Core) FlowSet(flows []flow.Any, attr, value string) error {
	status := 0
	if attr == "status_code" {
		n, err := strconv.Atoi(value)
		if err != nil {
			return command.Errorf("Status code is not an integer: %s", value)
		}
		status = n
	}
	var setErr error
	updated := c.editReadable(flows, "set "+attr+" on", func(f flow.Any) bool {
		hf, ok := f.(*flow.HTTPFlow)
		if !ok || setErr != nil {
			return false
		}
		if r := hf.Request; r != nil {
			switch attr {
			case "method":
				r.Method = value
			case "host":
				r.SetHost(value)
			case "path":
				r.Path = value
			case "url":
				if err := r.SetURL(value); err != nil {
					setErr = command.Errorf("URL %q is invalid: %w", value, err)
					return false
				}
			}
		}
		if r := hf.Response; r != nil {
			switch attr {
			case "status_code":
				r.StatusCode = status
				if reason := flow.ReasonPhrase(status); reason != "" && reason != "Unknown" {
					r.Reason = reason
				}
			case "reason":
				r.Reason = value
			}
		}
		return true
	})
	if setErr != nil {
		return setErr
	}
	c.alert(fmt.Sprintf("Set %s on  %d flows.", attr, len(updated)))
	return nil
}

// part returns the request or response of an HTTP flow, or nil.
func part(f flow.Any, name string) *flow.Message {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok {
		return nil
	}
	switch name {
	case "request":
		if hf.Request != nil {
			return &hf.Request.Message
		}
	case "response":
		if hf.Response != nil {
			return &hf.Response.Message
		}
	}
	return nil
}

// Decode removes the content encoding of a part ("request" or
// "response") of flows, after a backup.
func (c *Core) Decode(flows []flow.Any, partName string) {
	updated := c.editReadable(flows, "decode", func(f flow.Any) bool {
		m := part(f, partName)
		if m == nil {
			return false
		}
		f.Backup()
		if err := m.Decode(); err != nil {
			c.ctx.Log.Warn(fmt.Sprintf("Cannot decode flow %s: %v", f.Base().ID, err))
		}
		return true
	})
	c.alert(fmt.Sprintf("Decoded %d flows.", len(updated)))
}

// EncodeToggle deflates a part that has no encoding and decodes one that
// has.
func (c *Core) EncodeToggle(flows []flow.Any, partName string) {
	updated := c.editReadable(flows, "toggle the encoding of", func(f flow.Any) bool {
		m := part(f, partName)
		if m == nil {
			return false
		}
		f.Backup()
		var err error
		if enc := m.Headers.Get("content-encoding"); enc == "" || enc == "identity" {
			err = m.Encode("deflate")
		} else {
			err = m.Decode()
		}
		if err != nil {
			c.ctx.Log.Warn(fmt.Sprintf("Cannot change the encoding of flow %s: %v", f.Base().ID, err))
		}
		return true
	})
	c.alert(fmt.Sprintf("Toggled encoding on %d flows.", len(updated)))
}

// Encode encodes a part that has no encoding yet.
func (c *Core) Encode(flows []flow.Any, partName, encoding string) {
	updated := c.editReadable(flows, "encode", func(f flow.Any) bool {
		m := part(f, partName)
		if m == nil {
			return false
		}
		if enc := m.Headers.Get("content-encoding"); enc != "" && enc != "identity" {
			return false
		}
		f.Backup()
		if err := m.Encode(encoding); err != nil {
			c.ctx.Log.Warn(fmt.Sprintf("Cannot encode flow %s: %v", f.Base().ID, err))
		}
		return true
	})
	c.alert(fmt.Sprintf("Encoded %d flows.", len(updated)))
}

// Comment sets a flow's comment (mitmproxy's comment addon), after a
// backup, so that flow.revert takes it back. On a flow in flight the
// comment is set (it is atomic) but no backup is taken: a backup reads the
// whole flow while the proxy writes it, and one taken later, once the flow
// may be read, would already hold the new comment and could not take it
// back. mitmproxy's flow.comment takes none at all.
func (c *Core) Comment(f flow.Any, comment string) {
	var updated []flow.Any
	c.ctx.EditReadable([]flow.Any{f}, func(f flow.Any, readable bool) {
		if readable {
			f.Backup()
		}
		f.Base().SetComment(comment)
		updated = append(updated, f)
	})
	c.ctx.Update(updated...)
}

// loadOptions reads a config.yaml into the options. As mitmproxy's
// load_paths, a path that is not a file is ignored, and options that are
// not declared wait until an addon declares them.
func (c *Core) loadOptions(path string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	return c.ctx.Options.LoadYAML(path)
}
