// Package console is mitmgo's console, mitmproxy's interactive terminal
// tool: a full-screen UI on Bubble Tea (github.com/charmbracelet/bubbletea)
// over the front door's view, commands and options.
//
// The UI is the Elm architecture: the App model's Update takes key presses
// and the console's own messages and changes a plain State; View renders it
// to a string. Every key binding runs a command through the command
// registry, as mitmproxy's console does (the Keymap holds mitmproxy 12's
// default bindings and ~/.mitmproxy/keys.yaml); the console's own commands
// (console.nav.*, console.view.*, console.command, console.choose,
// console.edit.focus, console.flowview.mode.set...) are registered in the
// registry too, so that a key bound in keys.yaml or typed at the ":" prompt
// does what the default binding does.
//
// # Concurrency
//
// The view tells the console about flows from the proxy's goroutines. The
// console keeps, per flow, the row the flow list shows (rows.go), taken in
// the view's events: a hook's own event (view.Event.Hook, on the flow's
// goroutine, after every addon before the view changed it) under the view's
// lock, so that a command marking the flow meanwhile does not race it, and
// other events under the view's check (View.IfReadable: after a command's
// change the flow may have been resumed before the event arrives); drawing
// the list then reads only those rows, for the visible
// window only (View.Window). The flow view
// reads a flow only when the view says it may be read (over, or
// intercepted and waiting). A hook that changes nothing the row shows
// keeps the row, and the flow list keeps the lines drawn of each row, so
// that a redraw renders only the rows that changed.
//
// Redraws after flow events are spaced to about one per frame (60 a
// second) under load, with a short burst allowed after a quiet time so
// that a flow's request and its response each reach the screen at once;
// Bubble Tea writes the terminal at 120 frames a second. Styles in the
// flow list and the bars are drawn from each palette entry's escape
// sequences (Palette.Paint), not through Lip Gloss for every cell.
//
// # Environment
//
// Bodies and flow parts are edited in $MITMPROXY_EDITOR or $EDITOR (else
// sensible-editor, nano or vim if found, else vi) and viewed in
// $MITMPROXY_EDITOR, $PAGER or $EDITOR (else less), as mitmproxy 12 picks
// them, split into words as Python's shlex.split does; they run on the
// terminal while the UI waits. MITMGO_CONSOLE_RENDERLOG=path appends
// a line per redraw (the time in nanoseconds and the number of flows shown),
// for benchmarks. Text from flows and the log is escaped before it is drawn
// (sanitize.go): a control character in a header cannot drive the terminal.
package console

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/view"
)

// Compile-time checks of the hooks the console relies on.
var (
	_ addon.LoadHook      = (*Console)(nil)
	_ addon.ConfigureHook = (*Console)(nil)
	_ addon.LogHook       = (*Console)(nil)
	_ addon.RunningHook   = (*Console)(nil)
)

// consoleOpts are the console's options (mitmproxy 12's names).
type consoleOpts struct {
	layout, palette, flowlistLayout, defaultContentview, eventlogVerbosity addon.Opt[string]
	layoutHeaders, transparent, mouse, quickhelp, stripNewlines            addon.Opt[bool]
	focusFollow                                                            addon.Opt[bool]
}

// Console is the console: an addon (it declares the console_* options and
// the console.* commands, and takes the log) and the Bubble Tea program's
// model (App).
type Console struct {
	st     *State
	master *mitmgo.Master
	ctx    *addon.Context
	app    *App

	// actions are what commands ask of the UI; the UI runs them after the
	// command returns (or when woken, for a command run elsewhere).
	actMu   sync.Mutex
	actions []func(st *State)

	// snap is what commands read of the UI from any goroutine.
	snapMu sync.Mutex
	snap   uiSnapshot

	// dirty says that flows or the log changed since the last redraw;
	// wake asks the program to redraw.
	dirty   atomic.Bool
	wake    chan struct{}
	program atomic.Pointer[tea.Program]

	renderer *lipgloss.Renderer
	// Input and Output are the terminal (standard input and output when
	// nil).
	Input  io.Reader
	Output io.Writer
	// ProgramOptions are added to the Bubble Tea program's (tests).
	ProgramOptions []tea.ProgramOption
	started        atomic.Bool
	// OnRunning runs when the proxy is up (the running hook): the command
	// starts the UI there.
	OnRunning func()
	stopMu    sync.Mutex
	stopped   bool
	// spawn runs $EDITOR and $PAGER (tests replace it).
	spawn spawnFunc
	// externalRuns counts the programs ($EDITOR, $PAGER) that have the
	// terminal (see External).
	externalRuns atomic.Int32
}

// External reports whether an external program ($EDITOR, $PAGER) has the
// terminal: a Ctrl-C typed there is the program's, though the terminal
// sends SIGINT to mitmproxy too.
func (c *Console) External() bool { return c.externalRuns.Load() > 0 }

type uiSnapshot struct {
	context    string
	flowviewOK bool
	tab        int
}

// New returns the console addon.
func New() *Console {
	c := &Console{wake: make(chan struct{}, 1)}
	c.renderer = lipgloss.NewRenderer(io.Discard)
	c.renderer.SetColorProfile(termenv.Ascii)
	c.st = &State{Log: newEventRing(0), Keymap: DefaultKeymap(), rows: newRowCache(), snaps: &flowSnaps{}, loc: time.Local}
	c.st.palette = NewPalette("solarized_dark", true, c.renderer)
	c.app = newApp(c)
	c.st.app = c.app
	return c
}

// Name is the addon's name.
func (c *Console) Name() string { return "console" }

// State is the console's state (tests, and screens' constructors).
func (c *Console) State() *State { return c.st }

// App is the Bubble Tea model.
func (c *Console) App() *App { return c.app }

// SetRenderer sets the renderer the palette's styles are made with (its
// colour profile: termenv.Ascii in tests, the terminal's otherwise).
func (c *Console) SetRenderer(r *lipgloss.Renderer) {
	c.renderer = r
	c.applyPalette()
}

func (c *Console) applyPalette() {
	c.st.palette = NewPalette(c.st.opts.palette.Get(), c.st.opts.transparent.Get(), c.renderer)
}

// Load declares the console's options and registers its commands.
func (c *Console) Load(l *addon.Loader) {
	o := &c.st.opts
	o.defaultContentview = addon.Declare(l, "console_default_contentview", "auto", "The default content view mode.")
	o.eventlogVerbosity = addon.Declare(l, "console_eventlog_verbosity", "info", "EventLog verbosity.", "error", "warn", "info", "alert", "debug")
	o.layout = addon.Declare(l, "console_layout", "single", "Console layout.", "horizontal", "single", "vertical")
	o.layoutHeaders = addon.Declare(l, "console_layout_headers", true, "Show layout component headers")
	o.palette = addon.Declare(l, "console_palette", "solarized_dark", "Color palette.", Palettes...)
	o.transparent = addon.Declare(l, "console_palette_transparent", true, "Set transparent background for palette.")
	o.mouse = addon.Declare(l, "console_mouse", true, "Console mouse interaction.")
	o.flowlistLayout = addon.Declare(l, "console_flowlist_layout", "default", "Set the flowlist layout", "default", "list", "table")
	o.stripNewlines = addon.Declare(l, "console_strip_trailing_newlines", false, "Strip trailing newlines from edited request/response bodies.")
	o.quickhelp = addon.Declare(l, "console_quickhelp_visible", true, "Show the quick help bar at the bottom of the console.")
	addon.Declare(l, "command_history", true, "Persist command history between mitmproxy invocations.")
	c.ctx = l.Context()
	c.registerCommands(l)
}

// Attach connects the console to the assembled master (cli.Tool.Attach):
// its view, commands and options.
func (c *Console) Attach(m *mitmgo.Master) error {
	if m.View == nil {
		return fmt.Errorf("the console needs the view (mitmgo.Config.View)")
	}
	c.master = m
	c.st.View, c.st.Commands, c.st.Options = m.View, m.Commands, m.Options
	follow, err := addon.Lookup[bool](m.Options, "console_focus_follow")
	if err != nil {
		return err
	}
	c.st.opts.focusFollow = follow
	c.st.fopts = lookupForeign(m.Options)
	m.View.Subscribe(c.viewEvent)
	return nil
}

// Configure follows the console's options.
func (c *Console) Configure(updated map[string]bool) error {
	o := &c.st.opts
	if o.palette.Changed(updated) || o.transparent.Changed(updated) {
		c.do(func(st *State) { c.applyPalette() })
	}
	if o.mouse.Changed(updated) && c.started.Load() {
		on := o.mouse.Get()
		c.do(func(st *State) {
			if on {
				st.Do(func() tea.Msg { return tea.EnableMouseCellMotion() })
			} else {
				st.Do(func() tea.Msg { return tea.DisableMouse() })
			}
		})
	}
	c.markDirty()
	return nil
}

// AddLog keeps a log entry for the event log.
func (c *Console) AddLog(e *addon.LogEntry) {
	msg := e.Msg
	if e.Client != "" {
		msg = e.Client + ": " + msg
	}
	// Log lines carry flow data (URLs, script output): no control
	// characters reach the terminal.
	c.st.Log.Add(LogEntry{Time: e.Time, Level: e.Level, Msg: cleanLines(msg)})
	c.markDirty()
}

// Running loads the key bindings of keys.yaml in the confdir and shows the
// proxy's address.
func (c *Console) Running() {
	if err := c.LoadKeys(); err != nil {
		c.ctx.Log.Error(err.Error())
	}
	c.loadHistory()
	c.drainIfIdle()
	if c.master != nil {
		if a := c.master.Addr(); a != nil {
			addr := a.String()
			c.do(func(st *State) { st.Listen = addr })
		}
	}
	if c.OnRunning != nil {
		c.OnRunning()
	}
}

// LoadKeys applies keys.yaml from the confdir option's directory.
func (c *Console) LoadKeys() error {
	dir := "~/.mitmproxy"
	if declared(c.st.fopts.confdir) {
		dir = c.st.fopts.confdir.Get()
	}
	path := filepath.Join(mitmgo.ExpandHome(dir), KeysFile)
	defer c.markDirty()
	return c.st.Keymap.LoadFile(path)
}

// viewEvent keeps the rows of the flows the view changes (on the goroutine
// that changed them, where they may be read unless InFlight).
func (c *Console) viewEvent(ev view.Event) {
	switch ev.Kind {
	case view.Added, view.Updated:
		// A hook's own event may read the flow (under the view's lock,
		// where commands change what they change in flight). Any other is
		// read only under the view's check: after a command's change the
		// flow may have been resumed before this event arrives, and the
		// proxy write it again; then only what commands change is brought
		// up to date.
		f, added := ev.Flow, ev.Kind == view.Added
		take := func() {
			// The copy first: the flow view redraws from it when it
			// sees the new row. A flow added is most often new: its
			// row is taken without looking for an old one.
			watched := c.st.snaps.take(f)
			c.st.rows.update(f, watched || added)
		}
		switch {
		case ev.Hook:
			c.st.View.EditFlows(take)
		case ev.InFlight || !c.st.View.IfReadable(f, take):
			c.st.rows.touch(f)
		}
	case view.StoreRemoved:
		c.st.rows.remove(ev.Flow.Base().ID)
	case view.Refreshed:
		// view.clear and view.clear_unmarked drop flows without a
		// StoreRemoved each: forget their rows.
		c.st.rows.prune(c.st.View)
	}
	c.markDirty()
}

// markDirty asks for a redraw.
func (c *Console) markDirty() {
	if c.dirty.CompareAndSwap(false, true) {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// do queues an action on the UI state. Actions queued by a command that
// runs in the UI's Update run when it returns; others wake the UI.
func (c *Console) do(fn func(st *State)) {
	c.actMu.Lock()
	c.actions = append(c.actions, fn)
	c.actMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// drain runs the queued actions (on the UI goroutine).
func (c *Console) drain() {
	for {
		c.actMu.Lock()
		acts := c.actions
		c.actions = nil
		c.actMu.Unlock()
		if len(acts) == 0 {
			return
		}
		for _, a := range acts {
			a(c.st)
		}
	}
}

func (c *Console) snapshot() uiSnapshot {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	return c.snap
}

func (c *Console) setSnapshot(s uiSnapshot) {
	c.snapMu.Lock()
	c.snap = s
	c.snapMu.Unlock()
}

// refreshMsg is sent when flows or the log changed, or actions wait.
type refreshMsg struct{}

// tickMsg refreshes the status bar (message expiry, counters).
type tickMsg struct{}

// Redraws after flow events: at most one per frame on average, so that
// under load the UI costs the proxy a bounded share however many flows
// arrive, and a few at once (burst) after a quiet time, so that the
// events of one flow (its request, then its response a moment later) each
// reach the screen without waiting for a frame. The terminal is written
// at fps frames per second (Bubble Tea's renderer): at most half a frame
// after a redraw.
const (
	frame = 16 * time.Millisecond
	burst = 3
	fps   = 120
)

// limiter spaces redraws: a token bucket of burst redraws, refilled by one
// a frame.
type limiter struct {
	tokens float64
	last   time.Time
}

// wait says how long to wait before the next redraw at now (0: at once),
// and takes its token.
func (l *limiter) wait(now time.Time) time.Duration {
	if l.last.IsZero() {
		l.tokens = burst
	} else {
		l.tokens = min(burst, l.tokens+float64(now.Sub(l.last))/float64(frame))
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens * float64(frame))
}

// Run runs the UI on the terminal until it is quit (Q, or q at the top) or
// Stop is called; it restores the terminal before returning.
func (c *Console) Run() error {
	in, out := c.Input, c.Output
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	r := lipgloss.NewRenderer(out)
	c.SetRenderer(r)
	if path := os.Getenv("MITMGO_CONSOLE_RENDERLOG"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("MITMGO_CONSOLE_RENDERLOG: %w", err)
		}
		defer f.Close()
		c.app.renderLog = f
		defer func() { c.app.renderLog = nil }()
	}
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(fps)}
	if c.st.opts.mouse.Get() {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	opts = append(opts, c.ProgramOptions...)
	p := tea.NewProgram(c.app, opts...)
	c.stopMu.Lock()
	if c.stopped {
		c.stopMu.Unlock()
		return nil
	}
	c.program.Store(p)
	c.stopMu.Unlock()
	c.started.Store(true)
	stop := make(chan struct{})
	go c.forward(p, stop)
	_, err := p.Run()
	close(stop)
	c.program.Store(nil)
	return err
}

// forward turns wake-ups into refresh messages, spaced by the limiter;
// wake-ups while it waits are one redraw.
func (c *Console) forward(p *tea.Program, stop chan struct{}) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var lim limiter
	for {
		select {
		case <-stop:
			return
		case <-c.wake:
			if d := lim.wait(time.Now()); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-stop:
					t.Stop()
					return
				case <-t.C:
				}
			}
			p.Send(refreshMsg{})
		case <-tick.C:
			p.Send(tickMsg{})
		}
	}
}

// Stop ends the UI if it runs (from any goroutine).
func (c *Console) Stop() {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	c.stopped = true
	if p := c.program.Load(); p != nil {
		p.Quit()
	}
}

var _ addon.FlowKeeper = (*Console)(nil)

// KeepsFlows is true: the rows hold the flows' own strings past their
// hooks. The console needs the view, which keeps every flow anyway.
func (c *Console) KeepsFlows() bool { return true }
