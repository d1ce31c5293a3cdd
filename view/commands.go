package view

import (
	"fmt"
	"os"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

func p(name string, t command.Type) command.Param { return command.Param{Name: name, Type: t} }

func ok(any) (any, error) { return nil, nil }

// addCommands registers mitmproxy's view.* commands.
func (v *View) addCommands(l *addon.Loader) {
	add := l.AddCommand
	add(command.Command{Name: "view.focus.go", Params: []command.Param{p("offset", command.Int)},
		Help: "Go to a specified offset. Positive offests are from the beginning of\nthe view, negative from the end of the view, so that 0 is the first\nflow, -1 is the last flow.",
		Run:  func(a command.Args) (any, error) { v.FocusIndex(a.Int(0)); return nil, nil }})
	add(command.Command{Name: "view.focus.next", Help: "Set focus to the next flow.",
		Run: func(command.Args) (any, error) { v.FocusNext(); return nil, nil }})
	add(command.Command{Name: "view.focus.prev", Help: "Set focus to the previous flow.",
		Run: func(command.Args) (any, error) { v.FocusPrev(); return nil, nil }})
	add(command.Command{Name: "view.order.options", Help: "Choices supported by the view_order option.", Returns: command.Strs,
		Run: func(command.Args) (any, error) {
			out := append([]string(nil), Orders...)
			sortStrings(out)
			return out, nil
		}})
	add(command.Command{Name: "view.order.reverse", Params: []command.Param{p("boolean", command.Bool)},
		Run: func(a command.Args) (any, error) { v.SetReversed(a.Bool(0)); return nil, nil }})
	add(command.Command{Name: "view.order.set", Params: []command.Param{p("order_key", command.Str)}, Help: "Sets the current view order.",
		Run: func(a command.Args) (any, error) { return nil, v.SetOrder(a.Str(0)) }})
	add(command.Command{Name: "view.order", Help: "Returns the current view order.", Returns: command.Str,
		Run: func(command.Args) (any, error) { return v.Order(), nil }})
	add(command.Command{Name: "view.filter.set", Params: []command.Param{p("filter_expr", command.Str)}, Help: "Sets the current view filter.",
		Run: func(a command.Args) (any, error) { return nil, v.SetFilter(a.Str(0)) }})
	add(command.Command{Name: "view.clear", Help: "Clears both the store and view.",
		Run: func(command.Args) (any, error) { v.Clear(); return nil, nil }})
	add(command.Command{Name: "view.clear_unmarked", Help: "Clears only the unmarked flows.",
		Run: func(command.Args) (any, error) { v.ClearUnmarked(); return nil, nil }})
	add(command.Command{Name: "view.settings.getval", Returns: command.Str,
		Params: []command.Param{p("flow", command.Flow), p("key", command.Str), p("default", command.Str)},
		Help:   "Get a value from the settings store for the specified flow.",
		Run:    func(a command.Args) (any, error) { return v.Setting(a.Flow(0), a.Str(1), a.Str(2)), nil }})
	add(command.Command{Name: "view.settings.setval.toggle", Params: []command.Param{p("flows", command.Flows), p("key", command.Str)},
		Help: "Toggle a boolean value in the settings store, setting the value to\nthe string \"true\" or \"false\".",
		Run: func(a command.Args) (any, error) {
			flows := a.Flows(0)
			for _, f := range flows {
				val := "true"
				if v.Setting(f, a.Str(1), "false") == "true" {
					val = "false"
				}
				v.SetSetting(f, a.Str(1), val)
			}
			v.ctx.Update(flows...)
			return nil, nil
		}})
	add(command.Command{Name: "view.settings.setval",
		Params: []command.Param{p("flows", command.Flows), p("key", command.Str), p("value", command.Str)},
		Help:   "Set a value in the settings store for the specified flows.",
		Run: func(a command.Args) (any, error) {
			flows := a.Flows(0)
			for _, f := range flows {
				v.SetSetting(f, a.Str(1), a.Str(2))
			}
			v.ctx.Update(flows...)
			return nil, nil
		}})
	add(command.Command{Name: "view.flows.duplicate", Params: []command.Param{p("flows", command.Flows)},
		Help: "Duplicates the specified flows, and sets the focus to the first\nduplicate.",
		Run: func(a command.Args) (any, error) {
			if dups := v.Duplicate(a.Flows(0)...); len(dups) > 0 {
				v.ctx.Log.Log(nil, addon.LevelAlert, fmt.Sprintf("Duplicated %d flows", len(dups)))
			}
			return nil, nil
		}})
	add(command.Command{Name: "view.flows.remove", Params: []command.Param{p("flows", command.Flows)},
		Help: "Removes the flow from the underlying store and the view.",
		Run: func(a command.Args) (any, error) {
			flows := a.Flows(0)
			v.Remove(flows...)
			if len(flows) > 1 {
				v.ctx.Log.Log(nil, addon.LevelAlert, fmt.Sprintf("Removed %d flows", len(flows)))
			}
			return nil, nil
		}})
	add(command.Command{Name: command.ResolveCommand, Params: []command.Param{p("flow_spec", command.Str)}, Returns: command.Flows,
		Help: "Resolve a flow list specification to an actual list of flows.",
		Run: func(a command.Args) (any, error) {
			flows, err := v.Resolve(a.Str(0))
			if err != nil {
				return nil, &command.Error{Msg: err.Error(), Err: err}
			}
			return flows, nil
		}})
	add(command.Command{Name: "view.flows.create", Params: []command.Param{p("method", command.Str), p("url", command.Str)},
		Run: func(a command.Args) (any, error) {
			f, err := NewFlow(a.Str(0), a.Str(1))
			if err != nil {
				return nil, err
			}
			v.Add(f)
			return nil, nil
		}})
	add(command.Command{Name: "view.flows.load", Params: []command.Param{p("path", command.Path)},
		Help: "Load flows into the view, without processing them with addons.",
		Run: func(a command.Args) (any, error) {
			if _, err := v.LoadFile(a.Str(0)); err != nil {
				v.ctx.Log.Error(err.Error())
			}
			return nil, nil
		}})
	add(command.Command{Name: "view.properties.length", Help: "Returns view length.", Returns: command.Int,
		Run: func(command.Args) (any, error) { return v.Len(), nil }})
	add(command.Command{Name: "view.properties.marked", Help: "Returns true if view is in marked mode.", Returns: command.Bool,
		Run: func(command.Args) (any, error) { return v.ShowMarked(), nil }})
	add(command.Command{Name: "view.properties.marked.toggle", Help: "Toggle whether to show marked views only.",
		Run: func(command.Args) (any, error) { v.SetShowMarked(!v.ShowMarked()); return nil, nil }})
	add(command.Command{Name: "view.properties.inbounds", Params: []command.Param{p("index", command.Int)}, Returns: command.Bool,
		Help: "Is this 0 <= index < len(self)?",
		Run:  func(a command.Args) (any, error) { i := a.Int(0); return i >= 0 && i < v.Len(), nil }})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Duplicate adds copies of flows (new ids, not live) and focuses the first
// (view.flows.duplicate).
func (v *View) Duplicate(flows ...flow.Any) []flow.Any {
	dups := make([]flow.Any, 0, len(flows))
	v.EditFlows(func() {
		for _, f := range flows {
			if v.readableFlow(f) {
				dups = append(dups, flow.CopyAny(f))
			}
		}
	})
	if len(dups) > 0 {
		v.Add(dups...)
		_ = v.SetFocus(dups[0])
	}
	return dups
}

// readableFlow reports whether f may be read (copied) now; the caller holds
// the lock.
func (v *View) readableFlow(f flow.Any) bool {
	e, ok := v.store[f.Base().ID]
	return !ok || e.readable()
}

// NewFlow makes the flow of view.flows.create: a request with the method
// (upper-cased) and URL, its Host header set, and no response.
func NewFlow(method, url string) (*flow.HTTPFlow, error) {
	req, err := flow.NewRequest(strings.ToUpper(method), url, nil, flow.Headers{})
	if err != nil {
		return nil, &command.Error{Msg: "Invalid URL: " + err.Error(), Err: err}
	}
	client := flow.NewClient(flow.Address{}, flow.Address{}, "regular")
	client.TimestampStart = req.TimestampStart - 0.0001
	f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address{Host: req.Host, Port: req.Port}))
	f.SetLive(false)
	req.Headers.Set("Host", req.Host)
	f.Request = req
	return f, nil
}

// LoadFile adds the flows of a flow file, each with a new id, so that the
// same file can be loaded again (view.flows.load). It returns how many it
// added.
func (v *View) LoadFile(path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	flows, err := readfile.ReadFlows([]string{path})
	if err != nil {
		return 0, err
	}
	add := make([]flow.Any, 0, len(flows))
	for _, f := range flows {
		if fa, ok := f.(flow.Any); ok {
			fa.Base().ID = flow.NewID()
			add = append(add, fa)
		}
	}
	v.Add(add...)
	return len(add), nil
}
