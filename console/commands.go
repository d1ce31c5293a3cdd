package console

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// registerCommands adds the console's commands (mitmproxy's
// consoleaddons.py, and a few of mitmgo's own: console.search*,
// console.intercept.toggle, eventstore.clear).
func (c *Console) registerCommands(l *addon.Loader) {
	p := func(name string, t command.Type) command.Param { return command.Param{Name: name, Type: t} }
	rest := func(name string, t command.Type) command.Param {
		return command.Param{Name: name, Type: t, Variadic: true}
	}
	add := l.AddCommand
	ui := func(name, help string, fn func(st *State)) {
		add(command.Command{Name: name, Help: help, Run: func(command.Args) (any, error) {
			c.do(fn)
			return nil, nil
		}})
	}
	nav := func(name, help string, k NavKind) {
		ui(name, help, func(st *State) { c.app.toTop(NavMsg{k}) })
	}
	nav("console.nav.start", "Go to the start of a list or scrollable.", NavStart)
	nav("console.nav.end", "Go to the end of a list or scrollable.", NavEnd)
	nav("console.nav.next", "Go to the next navigatable item.", NavNext)
	nav("console.nav.select", "Select a navigable item for viewing or editing.", NavSelect)
	nav("console.nav.up", "Go up.", NavUp)
	nav("console.nav.down", "Go down.", NavDown)
	nav("console.nav.pageup", "Go up.", NavPageUp)
	nav("console.nav.pagedown", "Go down.", NavPageDown)
	nav("console.nav.left", "Go left.", NavLeft)
	nav("console.nav.right", "Go right.", NavRight)

	add(command.Command{Name: "console.layout.options", Returns: command.Strs, Help: "Returns the available options for the console_layout option.",
		Run: func(command.Args) (any, error) { return []string{"single", "vertical", "horizontal"}, nil }})
	add(command.Command{Name: "console.layout.cycle", Help: "Cycle through the console layout options.",
		Run: func(command.Args) (any, error) {
			opts := []string{"single", "vertical", "horizontal"}
			i := slices.Index(opts, c.st.opts.layout.Get())
			return nil, c.st.opts.layout.Set(opts[(i+1)%len(opts)])
		}})
	ui("console.panes.next", "Go to the next layout pane.", func(st *State) { c.app.switchPane() })
	ui("console.panes.prev", "Go to the previous layout pane.", func(st *State) { c.app.switchPane() })

	for _, v := range []struct {
		name, help string
		make       func() Screen
	}{
		{"console.view.keybindings", "View the commands list.", NewKeyBindings},
		{"console.view.commands", "View the commands list.", NewCommands},
		{"console.view.options", "View the options editor.", NewOptionsEditor},
		{"console.view.eventlog", "View the event log.", NewEventLog},
		{"console.view.help", "View help.", NewHelp},
	} {
		mk := v.make
		ui(v.name, v.help, func(st *State) {
			s := mk()
			if h, ok := s.(interface{ SetHelpContext(string) }); ok {
				// Help lists the keys of the view it was opened from.
				h.SetHelpContext(contextOf(c.app.Top()))
			}
			st.Push(s)
		})
	}
	add(command.Command{Name: "console.view.flow", Params: []command.Param{p("flow", command.Flow)}, Help: "View a flow.",
		Run: func(a command.Args) (any, error) {
			f := a.Flow(0)
			if f == nil {
				return nil, command.Errorf("No flow selected.")
			}
			c.do(func(st *State) {
				if cur := st.Focus(); cur != f {
					_ = st.View.SetFocus(f)
				}
				st.Push(newFlowView())
			})
			return nil, nil
		}})
	ui("console.exit", "Exit mitmproxy.", func(st *State) { st.Quit() })
	ui("console.view.pop", "Pop a view off the console stack. At the top level, this prompts the\nuser to exit mitmproxy.",
		func(st *State) { st.Pop() })

	// Prompts.
	add(command.Command{Name: "console.command", Params: []command.Param{rest("command_str", command.Str)},
		Help: "Prompt the user to edit a command with a (possibly empty) starting value.",
		Run: func(a command.Args) (any, error) {
			var parts []string
			for _, s := range a.Strs(0) {
				parts = append(parts, command.Quote(s))
			}
			partial := strings.Join(parts, " ")
			if partial != "" {
				partial += " "
			}
			c.do(func(st *State) { c.app.commandPrompt(partial) })
			return nil, nil
		}})
	add(command.Command{Name: "console.command.set", Params: []command.Param{p("option_name", command.Str)},
		Help: "Prompt the user to set an option.",
		Run: func(a command.Args) (any, error) {
			name := a.Str(0)
			if _, _, ok := c.st.Options.Lookup(name); !ok {
				return nil, command.Errorf("No such option: %s", name)
			}
			val := c.st.optionText(name)
			// As mitmproxy: the value as Python's repr, the cursor
			// before its closing quote.
			text := "set " + name + " " + pyrepr.Str(val)
			c.do(func(st *State) {
				st.CommandPrompt(text)
				st.prompt.input.SetCursor(len([]rune(text)) - 1)
			})
			return nil, nil
		}})
	add(command.Command{Name: "console.command.confirm", Params: []command.Param{p("prompt", command.Str), p("cmd", command.Cmd), rest("args", command.Arg)},
		Help: "Prompt the user before running the specified command.",
		Run: func(a command.Args) (any, error) {
			q, name, args := a.Str(0), a.Str(1), a.Strs(2)
			c.do(func(st *State) {
				st.Confirm(q, func(st *State) { _, _ = st.Call(name, args...) })
			})
			return nil, nil
		}})
	add(command.Command{Name: "console.choose", Params: []command.Param{p("prompt", command.Str), p("choices", command.Strs), rest("cmd", command.Arg)},
		Help: "Prompt the user to choose from a specified list of strings, then\ninvoke another command with all occurrences of {choice} replaced by\nthe choice the user made.",
		Run: func(a command.Args) (any, error) {
			c.choose(a.Str(0), a.Strs(1), a.Strs(2))
			return nil, nil
		}})
	add(command.Command{Name: "console.choose.cmd", Params: []command.Param{p("prompt", command.Str), p("choicecmd", command.Cmd), rest("subcmd", command.Arg)},
		Help: "Prompt the user to choose from a list of strings returned by a\ncommand, then invoke another command with all occurrences of {choice}\nreplaced by the choice the user made.",
		Run: func(a command.Args) (any, error) {
			v, err := c.st.Commands.Execute(a.Str(1))
			if err != nil {
				return nil, err
			}
			choices, _ := v.([]string)
			c.choose(a.Str(0), choices, a.Strs(2))
			return nil, nil
		}})

	// Flow view and editing.
	add(command.Command{Name: "console.bodyview.options", Returns: command.Strs, Help: "Possible parts for console.bodyview.",
		Run: func(command.Args) (any, error) { return []string{"request", "response"}, nil }})
	add(command.Command{Name: "console.bodyview", Params: []command.Param{p("flow", command.Flow), p("part", command.Choice("console.bodyview.options"))},
		Help: "Spawn an external viewer for a flow request or response body based\non the detected MIME type. We use the mailcap system to find the\ncorrect viewer, and fall back to the programs in $PAGER or $EDITOR\nif necessary.",
		Run:  func(a command.Args) (any, error) { return nil, c.bodyView(a.Flow(0), a.Str(1)) }})
	add(command.Command{Name: "console.edit.focus.options", Returns: command.Strs, Help: "Possible components for console.edit.focus.",
		Run: func(command.Args) (any, error) { return c.editOptions() }})
	add(command.Command{Name: "console.edit.focus", Params: []command.Param{p("flow_part", command.Choice("console.edit.focus.options"))},
		Help: "Edit a component of the currently focused flow.",
		Run:  func(a command.Args) (any, error) { return nil, c.editFocus(a.Str(0)) }})
	add(command.Command{Name: "console.flowview.mode.options", Returns: command.Strs, Help: "Returns the valid options for the flowview mode.",
		Run: func(command.Args) (any, error) { return viewModes(), nil }})
	add(command.Command{Name: "console.flowview.mode.set", Params: []command.Param{p("mode", command.Choice("console.flowview.mode.options"))},
		Help: "Set the display mode for the current flow view.",
		Run: func(a command.Args) (any, error) {
			s := c.snapshot()
			if !s.flowviewOK {
				return nil, command.Errorf("Not viewing a flow.")
			}
			mode := strings.ToLower(a.Str(0))
			if !slices.Contains(viewModes(), mode) {
				return nil, command.Errorf("Invalid flowview mode.")
			}
			return c.st.Commands.CallStrings("view.settings.setval", []string{"@focus", fmt.Sprintf("flowview_mode_%d", s.tab), mode})
		}})
	add(command.Command{Name: "console.flowview.mode", Returns: command.Str, Help: "Get the display mode for the current flow view.",
		Run: func(command.Args) (any, error) {
			s := c.snapshot()
			if !s.flowviewOK {
				return nil, command.Errorf("Not viewing a flow.")
			}
			return c.st.Commands.CallStrings("view.settings.getval",
				[]string{"@focus", fmt.Sprintf("flowview_mode_%d", s.tab), c.st.opts.defaultContentview.Get()})
		}})
	add(command.Command{Name: "console.search", Params: []command.Param{rest("text", command.Str)},
		Help: "Search the flow view's bodies for text (n and N go to the next and previous match).",
		Run: func(a command.Args) (any, error) {
			text := strings.Join(a.Strs(0), " ")
			c.do(func(st *State) { c.app.toTop(ActionMsg{Name: "search", Args: []string{text}}) })
			return nil, nil
		}})
	ui("console.search.next", "Go to the next search match.", func(st *State) { c.app.toTop(ActionMsg{Name: "search.next"}) })
	ui("console.search.prev", "Go to the previous search match.", func(st *State) { c.app.toTop(ActionMsg{Name: "search.prev"}) })
	add(command.Command{Name: "console.intercept.toggle", Help: "Toggle whether the intercept filter is active.",
		Run: func(command.Args) (any, error) { return c.st.Commands.Execute("set intercept_active toggle") }})

	// Key bindings.
	add(command.Command{Name: "console.key.contexts", Returns: command.Strs, Help: "The available contexts for key binding.",
		Run: func(command.Args) (any, error) { return slices.Clone(Contexts), nil }})
	add(command.Command{Name: "console.key.bind", Params: []command.Param{p("contexts", command.Strs), p("key", command.Str), p("cmd", command.Cmd), rest("args", command.Arg)},
		Help: "Bind a shortcut key.",
		Run: func(a command.Args) (any, error) {
			cmd := a.Str(2)
			for _, s := range a.Strs(3) {
				cmd += " " + command.Quote(s)
			}
			// Called directly (the Keymap is safe for concurrent use):
			// the command's error is the bind's. The redraw is asked for
			// after the change, so that it shows it.
			defer c.markDirty()
			return nil, wrapCmdErr(c.st.Keymap.Add(a.Str(1), cmd, a.Strs(0), ""))
		}})
	add(command.Command{Name: "console.keymap.load", Params: []command.Param{p("path", command.Path)},
		Help: "Load key bindings from a keys.yaml file (as ~/.mitmproxy/keys.yaml is at start).",
		Run: func(a command.Args) (any, error) {
			defer c.markDirty()
			if err := c.st.Keymap.LoadFile(mitmgo.ExpandHome(a.Str(0))); err != nil {
				return nil, command.Errorf("Could not load key bindings - %s", err)
			}
			return nil, nil
		}})
	add(command.Command{Name: "console.key.unbind", Params: []command.Param{p("contexts", command.Strs), p("key", command.Str)},
		Help: "Un-bind a shortcut key.",
		Run: func(a command.Args) (any, error) {
			defer c.markDirty()
			return nil, wrapCmdErr(c.st.Keymap.Remove(a.Str(1), a.Strs(0)))
		}})
	for _, name := range []string{"key.unbind.focus", "key.execute.focus", "key.edit.focus", "options.reset.focus"} {
		n := name
		ui("console."+n, "Act on the focused entry of the current view.", func(st *State) { c.app.toTop(ActionMsg{Name: n}) })
	}
	for _, op := range []string{"add", "insert", "delete", "editor"} {
		o := op
		add(command.Command{Name: "console.grideditor." + o, Help: gridHelp[o], Run: func(command.Args) (any, error) {
			c.do(func(st *State) {
				g, ok := c.app.Top().(interface{ GridEdit(st *State, op string) })
				if !ok {
					st.Error(fmt.Errorf("Not in a grideditor."))
					return
				}
				g.GridEdit(st, o)
			})
			return nil, nil
		}})
	}
	for _, op := range []string{"load", "load_escaped", "save"} {
		o := op
		add(command.Command{Name: "console.grideditor." + o, Help: gridHelp[o], Params: []command.Param{p("path", command.Path)},
			Run: func(a command.Args) (any, error) {
				path := a.Str(0)
				c.do(func(st *State) {
					g, ok := c.app.Top().(*gridEditor)
					if !ok {
						st.Error(fmt.Errorf("Not in a grideditor."))
						return
					}
					g.GridFile(st, o, path)
				})
				return nil, nil
			}})
	}
	add(command.Command{Name: "commands.history.add", Params: []command.Param{p("command", command.Str)},
		Help: "Add a command to the command history.",
		Run: func(a command.Args) (any, error) {
			line := a.Str(0)
			c.app.cmdHistory.add(line)
			c.saveHistory(line)
			return nil, nil
		}})
	add(command.Command{Name: "commands.history.get", Returns: command.Strs, Help: "Get the entire command history.",
		Run: func(command.Args) (any, error) {
			return c.app.cmdHistory.all(), nil
		}})
	add(command.Command{Name: "commands.history.clear", Help: "Clear the command history.",
		Run: func(command.Args) (any, error) {
			c.app.cmdHistory.clear()
			if path := c.historyFile(); path != "" {
				if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
					c.ctx.Log.Warn(fmt.Sprintf("Failed deleting %s: %v", path, err))
				}
			}
			return nil, nil
		}})
	add(command.Command{Name: "eventstore.clear", Help: "Clear the event log.",
		Run: func(command.Args) (any, error) {
			c.st.Log.Clear()
			c.markDirty()
			return nil, nil
		}})
}

var gridHelp = map[string]string{
	"add": "Add a row after the cursor.", "insert": "Insert a row before the cursor.",
	"delete": "Delete row", "editor": "Spawn an external editor on the current cell.",
	"load":         "Read a file into the current cell.",
	"load_escaped": "Read a file containing a Python-style escaped string into the\ncurrent cell.",
	"save":         "Save data to file as a CSV.",
}

func wrapCmdErr(err error) error {
	if err == nil {
		return nil
	}
	return command.Errorf("%s", err.Error())
}

// drainIfIdle runs queued actions now when no UI runs them (tests, and
// commands run before the UI starts): a command that reports what the
// action did needs it done.
func (c *Console) drainIfIdle() {
	if !c.started.Load() {
		c.drain()
	}
}

// choose opens a chooser; the chosen value replaces {choice} in the command
// line made of cmd, which then runs.
func (c *Console) choose(title string, choices []string, cmd []string) {
	c.do(func(st *State) {
		st.Choose(title, choices, "", func(st *State, choice string) {
			parts := make([]string, len(cmd))
			for i, x := range cmd {
				parts[i] = command.Quote(strings.ReplaceAll(x, "{choice}", choice))
			}
			_, _ = st.Run(strings.Join(parts, " "))
		})
	})
}

// viewModes are the content views the flow view offers (lower case, as
// mitmproxy's available_views).
func viewModes() []string {
	var out []string
	for _, n := range contentview.Names() {
		if n == "auto" || contentview.Supported(n) {
			out = append(out, strings.ToLower(n))
		}
	}
	return out
}

// switchPane moves the focus to the other pane (not in the single
// layout).
func (a *App) switchPane() {
	if a.layout() == "single" {
		a.focus = 0
		return
	}
	a.focus = 1 - a.focus
}

// CommandPrompt opens the command prompt (":") with a starting text, with
// completion (Tab) and history (up/down).
func (st *State) CommandPrompt(partial string) {
	if st.app != nil {
		st.app.commandPrompt(partial)
	}
}

// commandPrompt opens the command prompt (":") with a starting text.
func (a *App) commandPrompt(partial string) {
	st := a.c.st
	st.prompt = newPrompt(":", partial, func(st *State, text string) {
		if strings.TrimSpace(text) == "" {
			return
		}
		ret, err := st.Run(text)
		if err == nil {
			a.showResult(ret)
		}
	}, a.complete)
	st.prompt.label = ""
	st.prompt.input.Prompt = ":"
	st.prompt.history = a.cmdHistory
	st.prompt.history.reset()
	st.prompt.onAdd = a.c.saveHistory
	st.prompt.hint = func(text string) string {
		_, rest := st.Commands.ParsePartial(text)
		var names []string
		for _, p := range rest {
			if p.Name != "" {
				names = append(names, p.String())
			}
		}
		if len(names) == 0 {
			return ""
		}
		return strings.Join(names, " ")
	}
}

// showResult shows a command's result in the status bar (mitmproxy shows
// it in an overlay; a line is enough for most results).
func (a *App) showResult(ret any) {
	st := a.c.st
	switch r := ret.(type) {
	case nil, string, []string:
		// Run showed strings already.
	case []flow.Any:
		st.Message(fmt.Sprintf("%d flows", len(r)))
	case bool, int:
		st.Message(fmt.Sprint(r))
	default:
		st.Message(fmt.Sprint(r))
	}
}

// complete completes the word at the end of a command line: command names,
// flow specifications, choices, option names for set, paths.
func (a *App) complete(text string) []string {
	st := a.c.st
	parts, remaining := st.Commands.ParsePartial(text)
	var prefix, word string
	var typ command.Type
	argIdx := 0
	cmdName := ""
	if len(parts) > 0 && !parts[0].Space {
		cmdName = parts[0].Value
	}
	for _, p := range parts {
		if !p.Space {
			argIdx++
		}
	}
	if len(parts) == 0 || parts[len(parts)-1].Space {
		prefix = text
		if len(parts) == 0 {
			typ = command.Cmd
		} else if len(remaining) > 0 {
			typ = remaining[0].Type
		} else {
			return nil
		}
		argIdx++
	} else {
		last := parts[len(parts)-1]
		word = last.Value
		prefix = text[:len(text)-len(word)]
		typ = last.Type
	}
	// The candidates are the command registry's (CompleteArg: the
	// command's own, as set's option names and values, else its
	// parameter type's), as mitmweb's command bar gets them; paths are
	// quoted for the line (completePathArg).
	var args []string
	for i, p := range parts {
		if i > 0 && !p.Space && (i < len(parts)-1 || word == "") {
			args = append(args, command.Unquote(p.Value))
		}
	}
	var cands []string
	filter := true
	c, known := st.Commands.Get(cmdName)
	switch {
	case argIdx <= 1 || !known:
		cands = typ.Complete(st.Commands, word)
	case typ == command.Path:
		cands, filter = completePathArg(st.Commands, c, argIdx-2, args, word), false
	default:
		cands, filter = st.Commands.CompleteArg(c, argIdx-2, args, word), false
	}
	var out []string
	for _, c := range cands {
		if !filter || strings.HasPrefix(c, word) {
			out = append(out, prefix+c)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// completePathArg completes a path argument as typed into arguments for
// the command line: a quoted word is completed without its quotes (glob
// characters in it are names: the registry's completer takes them so),
// and a completion with spaces or quotes is quoted (mitmproxy's
// command_lexer.quote), so that the line still parses.
func completePathArg(r *command.Registry, c *command.Command, idx int, args []string, word string) []string {
	raw := word
	if raw != "" && (raw[0] == '"' || raw[0] == '\'') {
		raw = strings.TrimSuffix(raw[1:], raw[:1])
	}
	out := r.CompleteArg(c, idx, args, raw)
	for i, c := range out {
		out[i] = command.Quote(c)
	}
	return out
}

// historyFile is the command history's file in the confdir, or "" when
// command_history is off.
func (c *Console) historyFile() string {
	f := c.st.fopts
	if !f.commandHistory.Get() || !declared(f.confdir) {
		return ""
	}
	return filepath.Join(mitmgo.ExpandHome(f.confdir.Get()), "command_history")
}

// historyKeep is how many entries of the history file are kept (the file
// is rewritten with the newest half when it grows past it, as mitmproxy's
// vacuum does).
const historyKeep = 1024

// loadHistory reads the command history file (the running hook).
func (c *Console) loadHistory() {
	path := c.historyFile()
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = slices.DeleteFunc(lines, func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(lines) >= historyKeep {
		lines = lines[len(lines)-historyKeep/2:]
		_ = os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	}
	c.app.cmdHistory.prepend(lines)
}

// saveHistory appends a command line to the history file.
func (c *Console) saveHistory(line string) {
	path := c.historyFile()
	if path == "" || strings.TrimSpace(line) == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.WriteString(line + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.ctx.Log.Warn(fmt.Sprintf("Failed writing to %s: %v", path, err))
	}
}
