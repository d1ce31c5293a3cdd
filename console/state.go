package console

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// State is what the console's screens read and act on: the master's view,
// commands and options, the event log, the status bar's message, and the
// screen stack's pending changes. It belongs to the UI goroutine (the Bubble
// Tea program's Update and View); the view, registry, options and event log
// it points to are safe from any goroutine.
type State struct {
	// View is the master's flow view (never nil while the console runs).
	View *view.View
	// Commands is the command registry every key binding calls.
	Commands *command.Registry
	// Options is the options registry (console_*, view_*, intercept...).
	Options *addon.Options
	// Log is the event log.
	Log *EventLog
	// Keymap holds the key bindings (defaults and keys.yaml).
	Keymap *Keymap

	// Width and Height are the terminal's size.
	Width, Height int

	// message is the status bar's message, shown until expiry.
	message    string
	messageErr bool
	messageExp time.Time
	now        func() time.Time

	// Pending changes of the screen stack, applied by the app after the
	// current Update.
	push []Screen
	pops int
	quit bool

	// prompt is the active prompt line (nil: none).
	prompt *prompt
	// cmds are tea.Cmds queued by commands run from key bindings
	// (console.edit.focus runs $EDITOR through tea.ExecProcess).
	cmds []tea.Cmd

	app     *App
	rows    *rowCache
	snaps   *flowSnaps
	palette *Palette
	opts    consoleOpts
	fopts   foreignOpts
	// loc is the time zone of the times shown (local; UTC in tests).
	loc *time.Location
	// Listen is the proxy's listen address shown in the status bar.
	Listen string
}

// Push shows s on top of the current screen once the current Update
// returns.
func (st *State) Push(s Screen) { st.push = append(st.push, s) }

// Pop goes back to the previous screen (mitmproxy's "q"); popping the last
// screen asks to quit.
func (st *State) Pop() { st.pops++ }

// Quit ends the console (mitmproxy's console.exit).
func (st *State) Quit() { st.quit = true }

// Do queues a tea.Cmd to run after the current Update (for commands that
// run outside the UI goroutine, such as an editor).
func (st *State) Do(c tea.Cmd) {
	if c != nil {
		st.cmds = append(st.cmds, c)
	}
}

// Message shows msg in the status bar for a few seconds.
func (st *State) Message(msg string) {
	st.message, st.messageErr = msg, false
	st.messageExp = st.clock().Add(messageTimeout)
}

// Error shows err in the status bar, in the error colour.
func (st *State) Error(err error) {
	if err == nil {
		return
	}
	st.message, st.messageErr = err.Error(), true
	st.messageExp = st.clock().Add(messageTimeout)
}

// StatusMessage returns the status bar's current message and whether it is
// an error ("" when none, or expired).
func (st *State) StatusMessage() (string, bool) {
	if st.message == "" || st.clock().After(st.messageExp) {
		return "", false
	}
	return st.message, st.messageErr
}

const messageTimeout = 5 * time.Second

func (st *State) clock() time.Time {
	if st.now != nil {
		return st.now()
	}
	return time.Now()
}

// Run runs a command line through the registry ("flow.mark.toggle @focus",
// "set intercept=~q"), as a key binding does. A failure is shown in the
// status bar and returned; a string result is shown in the status bar.
func (st *State) Run(cmdline string) (any, error) {
	// The line is parsed here, on the UI goroutine, also for a command
	// that runs off it, so that @focus is the flow focused now.
	c, args, err := st.Commands.Parse(cmdline)
	if err != nil {
		st.Error(err)
		return nil, err
	}
	if offUI(c.Name) {
		st.runOffUI(c, args, cmdline)
		return nil, nil
	}
	ret, err := st.Commands.Run(c, args)
	if err != nil {
		st.Error(err)
		return nil, err
	}
	switch r := ret.(type) {
	case string:
		if r != "" {
			st.Message(r)
		}
	case []string:
		if len(r) > 0 {
			st.Message(strings.Join(r, ", "))
		}
	}
	return ret, nil
}

// Call runs one command with arguments given as strings (no quoting
// needed), reporting errors as Run does.
func (st *State) Call(name string, args ...string) (any, error) {
	ret, err := st.Commands.CallStrings(name, args)
	if err != nil {
		st.Error(err)
		return nil, err
	}
	if s, ok := ret.(string); ok && s != "" {
		st.Message(s)
	}
	return ret, nil
}

// Focus returns the focused flow of the view, or nil.
func (st *State) Focus() flow.Any {
	if st.View == nil {
		return nil
	}
	f, _ := st.View.Focus()
	return f
}

// Style returns the style of one of mitmproxy's palette entries ("title",
// "heading", "heading_key", "key", "text", "head", "focus",
// "option_selected", "option_active", "error", "warn", "alert",
// "highlight", "method_get", "code_200", ...) in the console_palette.
func (st *State) Style(name string) lipgloss.Style {
	return st.palette.Style(name)
}

// Prompt opens the prompt line with a label and an initial value; done runs
// with the text when Enter is pressed (not when Esc cancels). Tab completes
// from complete when it is not nil.
func (st *State) Prompt(label, initial string, done func(st *State, value string), complete func(text string) []string) {
	st.prompt = newPrompt(label, initial, done, complete)
}

// Choose opens a list of choices over the current screen (mitmproxy's
// chooser overlay); done runs with the choice picked with Enter.
func (st *State) Choose(title string, choices []string, current string, done func(st *State, choice string)) {
	st.Push(newChooser(title, choices, current, done))
}

// OptionString reads a string option by name for UI display, "" when it is
// not declared.
func (st *State) optionText(name string) string {
	if st.Options == nil {
		return ""
	}
	_, v, ok := st.Options.Lookup(name)
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case string:
		return x
	}
	return fmt.Sprint(v)
}

var errNoFlow = errors.New("no flow selected")

// paint renders one line of text in a palette entry: Style(name).Render(text)
// at the cost of a concatenation (Palette.Paint).
func (st *State) paint(name, text string) string {
	return st.palette.Paint(name, text)
}

// offUI are the commands that run scripts' hooks, which take as long as a
// hook does (a sleep, a network call; script_hook_timeout bounds them):
// they run off the UI goroutine, so that the console keeps drawing the
// flows and taking keys meanwhile. mitmproxy runs script.run on its event
// loop, where a sleeping hook stops its console.
func offUI(name string) bool { return name == "script.run" }

// runOffUI runs c, which Run parsed from cmdline, in a tea.Cmd. The
// command's end, or its error, is shown in the status bar and the event
// log.
func (st *State) runOffUI(c *command.Command, args command.Args, cmdline string) {
	reg, log, name := st.Commands, st.Log, c.Name
	st.Do(func() tea.Msg {
		_, err := reg.Run(c, args)
		return execDoneMsg{apply: func(st *State) {
			if err != nil {
				st.Error(err)
				log.Add(LogEntry{Time: time.Now(), Level: slog.LevelError, Msg: cleanLines(name + ": " + err.Error())})
				return
			}
			log.Add(LogEntry{Time: time.Now(), Level: slog.LevelInfo, Msg: cleanLines(cmdline + ": finished")})
			st.Message(name + " finished")
		}}
	})
}
