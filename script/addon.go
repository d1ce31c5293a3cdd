package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/shlex"
	"github.com/mitmgo/mitmgo/tnetstring"
)

const levelAlert = addon.LevelAlert

// DefaultBodyInlineLimit is the largest body that travels with a hook call;
// larger bodies are fetched when a handler first reads them.
const DefaultBodyInlineLimit = 64 << 10

// DefaultShutdownGrace is how long hooks still running when shutdown
// begins may go on before the Python child is stopped: as long as mitmdump
// gives the flows in progress.
const DefaultShutdownGrace = 5 * time.Second

// frozenMargin is how much longer than script_hook_timeout the child may
// stay silent while hooks wait before it is taken for frozen (a handler
// holding Python's GIL in C code, where its own watchdog cannot run).
const frozenMargin = 5 * time.Second

// FromScript reports whether a log entry, while it is being dispatched to
// the log hooks, is a script's own output (ctx.log, Python's logging,
// print(), warnings) rather than the host's (a script that does not load, an
// "Addon error"). mitmdump's start-up error check must ignore script output:
// the seed's logging.py logs an error from start() and keeps running.
//
// It works because log hooks run synchronously inside the log call; the
// entry carries no marker that a terminal would print.
func (a *Addon) FromScript(e *addon.LogEntry) bool {
	_, ok := a.own.Load(ownKey{e.Time.UnixNano(), e.Msg})
	return ok
}

// ownKey identifies a script log entry while it is dispatched.
type ownKey struct {
	t   int64
	msg string
}

// Config tunes the script host; the zero value is ready to use.
type Config struct {
	// CacheDir is where the embedded Python package is extracted. Empty
	// means mitmgo's directory in the user's cache directory, or, without
	// one, a temporary directory removed at Done.
	CacheDir string
	// BodyInlineLimit is the largest body sent along with a hook call;
	// larger ones are fetched on first use. 0 means
	// DefaultBodyInlineLimit; a negative value fetches every body on use.
	BodyInlineLimit int64
	// ReloadInterval is how often script files are checked for changes.
	// 0 means once a second; a negative value turns reloading off.
	ReloadInterval time.Duration
	// ShutdownGrace bounds shutdown (see BeginShutdown). 0 means
	// DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Stopping, closed when the program begins to shut down (the master's
	// Stopping channel), calls BeginShutdown. Without it shutdown begins
	// at Done, which a proxy waiting for a flow stuck in a hook never
	// reaches.
	Stopping <-chan struct{}
}

// Addon is the script host addon (mitmproxy's ScriptLoader). Register it
// with the addon manager where mitmproxy's chain has the script loader.
//
// It declares the options `scripts` (each entry is "path [args...]", split
// like a shell line; -s appends to it) and `python` (the interpreter). Load
// failures are logged at error level while the addon keeps running, as in
// mitmproxy; Errors lists them. Configure rejects a script file that does
// not exist, a duplicate, and a missing interpreter.
type Addon struct {
	cfg   Config
	ctx   *addon.Context
	log   *slog.Logger
	opts  *addon.Options
	limit int64
	// The options this addon declares.
	scriptsOpt     addon.Opt[[]string]
	pythonOpt      addon.Opt[string]
	hookTimeoutOpt addon.Opt[int]

	hookLimit   atomic.Int64                        // script_hook_timeout, seconds; 0: none
	hookScripts atomic.Pointer[map[string][]string] // hook -> scripts defining it

	// Shutdown: shuttingDown is set by BeginShutdown (a host that dies
	// from then on is not restarted); finishedCh is closed when Done has
	// finished.
	shuttingDown atomic.Bool
	finishedCh   chan struct{}
	stopWatch    bool // the goroutine watching Config.Stopping runs

	life     sync.Mutex // serialises configure, reload, restart and done
	scripts  []*scriptState
	nextSID  int64
	running  bool
	finished bool
	pyDir    string
	pyTemp   bool
	sent     map[string]any // option values the child holds, for rollbacks

	hostMu sync.Mutex
	cur    *host
	ready  chan struct{}      // closed while cur is usable
	hosts  map[*host]struct{} // every child not yet exited, published or not

	hooks atomic.Uint64 // bit i: some script defines hookNames[i]

	fails      int // restarts that followed quickly on each other
	lastStart  time.Time
	restarting atomic.Bool // a restart goroutine runs

	watchStop chan struct{}
	watchDone chan struct{}

	flowsMu     sync.Mutex
	intercepted map[string]*flow.Flow
	nIntercept  atomic.Int32

	own sync.Map // ownKey -> struct{}: script entries being logged

	pyFlows flowState // what the child holds for flows (see stream.go)

	// Commands (commands.go): the registry; which script registered a
	// command and the command it replaced (both under the life lock);
	// the flows the child has seen, by id.
	cmds     *command.Registry
	cmdOwner map[string]*scriptState
	cmdPrev  map[string]*command.Command
	refs     flowRefs

	views atomic.Pointer[[]contentview.View] // the scripts' content views (views.go)
}

// scriptState is one entry of the scripts option.
type scriptState struct {
	spec  string
	path  string   // as given, ~ expanded
	abs   string   // absolute path for the child
	argv  []string // path and arguments, the script's sys.argv
	sid   int64
	mtime time.Time
	size  int64
	err   error    // the last load's failure
	cmds  []string // the commands it registered
	// configured: configure ran with every option since the last load;
	// until then option changes are not forwarded to it (mitmproxy runs
	// a script's configure once at start).
	configured bool
}

var (
	_ addon.LoadHook      = (*Addon)(nil)
	_ addon.ConfigureHook = (*Addon)(nil)
	_ addon.RunningHook   = (*Addon)(nil)
	_ addon.DoneHook      = (*Addon)(nil)
	_ addon.Namer         = (*Addon)(nil)
)

// New returns the script host addon with the default configuration.
func New() *Addon { return NewWithConfig(Config{}) }

// NewWithConfig returns the script host addon configured by c.
func NewWithConfig(c Config) *Addon {
	a := &Addon{cfg: c, limit: c.BodyInlineLimit, intercepted: map[string]*flow.Flow{},
		hosts: map[*host]struct{}{}, finishedCh: make(chan struct{})}
	if a.limit == 0 {
		a.limit = DefaultBodyInlineLimit
	}
	if a.cfg.ShutdownGrace <= 0 {
		a.cfg.ShutdownGrace = DefaultShutdownGrace
	}
	a.ready = make(chan struct{})
	close(a.ready)
	return a
}

// Name is mitmproxy's name for the script loader.
func (a *Addon) Name() string { return "scriptloader" }

// Load declares the options.
func (a *Addon) Load(l *addon.Loader) {
	a.ctx = l.Context()
	a.log = a.ctx.Log
	a.opts = a.ctx.Options
	a.cmds = a.ctx.Commands
	a.scriptsOpt = addon.Declare(l, "scripts", []string{}, "Execute a script.")
	a.pythonOpt = addon.Declare(l, "python", "",
		"The Python interpreter that runs scripts (Python 3.8 or newer). Empty means $MITMGO_PYTHON, else python3 on the PATH.")
	a.hookTimeoutOpt = addon.Declare(l, "script_hook_timeout", 0,
		"Kill a flow when a script's handler for one of its events runs longer than this many seconds, "+
			"interrupting the handler so that other flows go on (mitmgo). 0 means no limit, as in mitmproxy.")
	a.loadRunCommand(l) // script.run (run.go)
}

// Errors returns why scripts failed to load, the most recent load of each;
// nil when every script loaded.
func (a *Addon) Errors() []error {
	a.life.Lock()
	defer a.life.Unlock()
	var out []error
	for _, s := range a.scripts {
		if s.err != nil {
			out = append(out, s.err)
		}
	}
	return out
}

// Configure loads, unloads and reorders scripts when `scripts` changes and
// passes every option change on to the scripts' configure handlers; an
// OptionsError raised there rejects the change.
func (a *Addon) Configure(updated map[string]bool) error {
	if a.ctx == nil {
		return nil
	}
	if updated["script_hook_timeout"] {
		n := a.hookTimeoutOpt.Get()
		if n < 0 {
			return fmt.Errorf("option script_hook_timeout: %d is negative (0 means no limit)", n)
		}
		a.hookLimit.Store(int64(n))
	}
	var fresh []*scriptState
	if updated["scripts"] || updated["python"] {
		var err error
		if fresh, err = a.syncScripts(updated["python"]); err != nil {
			return err
		}
	}
	// Scripts loaded just now had configure with every option.
	return a.forwardConfigure(updated, fresh)
}

// Running tells the scripts that mitmgo is up.
func (a *Addon) Running() {
	a.life.Lock()
	defer a.life.Unlock()
	a.running = true
	if stopping := a.cfg.Stopping; stopping != nil && !a.stopWatch {
		a.stopWatch = true
		go func() {
			select {
			case <-stopping:
				a.BeginShutdown()
			case <-a.finishedCh:
			}
		}()
	}
	if h := a.liveHost(); h != nil && len(a.scripts) > 0 {
		a.lifecycle(h, "running", nil)
	}
}

// Done runs the scripts' done handlers and stops the Python child. It
// ends however the scripts behave: see BeginShutdown.
func (a *Addon) Done() {
	a.BeginShutdown()
	a.stopWatcher()
	a.life.Lock()
	defer a.life.Unlock()
	if a.finished {
		return
	}
	a.finished = true
	defer close(a.finishedCh)
	if h := a.liveHost(); h != nil {
		if len(a.scripts) > 0 {
			a.lifecycleTimeout(h, "done", nil, 10*time.Second)
		}
		a.setHost(nil)
		h.stop(3 * time.Second)
	}
	a.hooks.Store(0)
	if a.pyTemp && a.pyDir != "" {
		os.RemoveAll(filepath.Dir(a.pyDir))
	}
}

// BeginShutdown tells the addon that mitmgo is stopping. From then on a
// child that exits is expected (it is not restarted, and the log does not
// call it unexpected), and shutdown is bounded: a hook still running
// ShutdownGrace later (one that never returns blocks its flow, and the
// proxy waits for every flow) gets its child stopped, which kills the
// flows waiting for it, so that shutdown goes on. Config.Stopping calls
// it, and so does Done. Calling it again does nothing.
func (a *Addon) BeginShutdown() {
	if a.shuttingDown.CompareAndSwap(false, true) {
		go a.enforceGrace()
	}
}

func (a *Addon) enforceGrace() {
	t := time.NewTimer(a.cfg.ShutdownGrace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-a.finishedCh:
		return
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		a.stopBusyHosts()
		select {
		case <-a.finishedCh:
			return
		case <-tick.C:
		}
	}
}

// stopBusyHosts stops every child that has calls still waiting for it.
func (a *Addon) stopBusyHosts() {
	a.hostMu.Lock()
	var busy []*host
	for h := range a.hosts {
		if h.alive() && !h.closing.Load() && h.busy() {
			busy = append(busy, h)
		}
	}
	for _, h := range busy {
		h.setEnd("was stopped because mitmgo is shutting down")
		if a.cur == h {
			a.cur = nil
			a.closeReady()
		}
	}
	a.hostMu.Unlock()
	for _, h := range busy {
		a.log.Warn("Script host: hooks are still running at the end of the shutdown grace period; " +
			"stopping the Python script host")
		h.stop(time.Second)
	}
}

// Script management ------------------------------------------------------

type wantScript struct {
	spec string
	argv []string
}

func (a *Addon) parseSpecs(specs []string) ([]wantScript, error) {
	var out []wantScript
	seen := map[string]bool{}
	for _, spec := range specs {
		if seen[spec] {
			return nil, fmt.Errorf("Duplicate script: %s", spec)
		}
		seen[spec] = true
		argv, err := shlex.Split(spec)
		if err != nil {
			return nil, fmt.Errorf("option scripts: %q: %v", spec, err)
		}
		if len(argv) == 0 {
			return nil, errors.New("option scripts: empty script command")
		}
		argv[0] = expandHome(argv[0])
		st, err := os.Stat(argv[0])
		if err != nil {
			return nil, fmt.Errorf("No such script: %s", argv[0])
		}
		if st.IsDir() {
			return nil, fmt.Errorf("Not a file: %s", argv[0])
		}
		out = append(out, wantScript{spec: spec, argv: argv})
	}
	return out, nil
}

// syncScripts brings the loaded scripts in line with the scripts option;
// it returns the scripts it loaded.
func (a *Addon) syncScripts(pythonChanged bool) ([]*scriptState, error) {
	want, err := a.parseSpecs(a.scriptsOpt.Get())
	if err != nil {
		return nil, err
	}
	a.life.Lock()
	if a.finished {
		a.life.Unlock()
		return nil, nil
	}
	cur := map[string]*scriptState{}
	for _, s := range a.scripts {
		cur[s.spec] = s
	}
	keep := map[string]bool{}
	for _, w := range want {
		keep[w.spec] = true
	}
	h := a.liveHost()
	if pythonChanged && h != nil && a.interpreterChanged(h) {
		// A new interpreter: start over with every script.
		for _, s := range a.scripts {
			a.setScriptCommands(s, nil)
		}
		a.setHost(nil)
		h.stop(3 * time.Second)
		h = nil
		cur = map[string]*scriptState{}
		a.scripts = nil
	}
	for _, s := range a.scripts {
		if !keep[s.spec] {
			a.log.Info("Un-loading script: " + s.path)
			a.setScriptCommands(s, nil)
			if h != nil {
				a.lifecycleTimeout(h, "unload", map[string]any{"sid": s.sid}, 10*time.Second)
			}
		}
	}
	if len(want) == 0 {
		a.scripts = nil
		if h != nil {
			a.setHost(nil)
			h.stop(3 * time.Second)
		}
		a.hooks.Store(0)
		a.life.Unlock()
		return nil, nil
	}
	if h == nil {
		if h, err = a.ensureHost(); err != nil {
			a.life.Unlock()
			return nil, err
		}
		a.setHost(h)
	}
	var (
		order   []*scriptState
		fresh   []*scriptState
		decls   []decl
		changed bool
	)
	for i, w := range want {
		if s, ok := cur[w.spec]; ok {
			order = append(order, s)
			if i >= len(a.scripts) || a.scripts[i] != s {
				changed = true
			}
			continue
		}
		a.nextSID++
		s := &scriptState{spec: w.spec, path: w.argv[0], argv: w.argv, sid: a.nextSID}
		s.abs, _ = filepath.Abs(s.path)
		order = append(order, s)
		fresh = append(fresh, s)
	}
	a.scripts = order
	if changed {
		a.sendOrder(h)
	}
	for _, s := range fresh {
		decls = append(decls, a.loadScript(h, s)...)
	}
	a.life.Unlock()

	// Options the scripts declared; declaring one may apply a --set value
	// and configure every addon, this one included, so the lock is free.
	a.declare(decls)

	a.life.Lock()
	var rejected []*scriptState
	if h := a.liveHost(); h != nil {
		for _, s := range fresh {
			if !a.configureScript(h, s) {
				rejected = append(rejected, s)
			}
		}
		if a.running && len(fresh) > 0 {
			a.lifecycle(h, "running", map[string]any{"sids": sids(fresh)})
		}
	}
	if a.watchStop == nil && a.cfg.ReloadInterval >= 0 {
		a.startWatcher()
	}
	a.life.Unlock()
	a.resetRejected(decls, rejected)
	return fresh, nil
}

func sids(ss []*scriptState) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s.sid
	}
	return out
}

func (a *Addon) sendOrder(h *host) {
	m := newMsg("order")
	m.Set("sids", sids(a.scripts))
	if _, err := h.call(context.Background(), m, nil); err != nil {
		a.log.Error(fmt.Sprintf("Script host: reordering scripts failed: %v", err))
	}
}

// decl is an option a script declared in load().
type decl struct {
	s *scriptState
	d any
}

// loadScript (re)loads one script in the child; it returns the options the
// script declared. Called with the life lock held.
func (a *Addon) loadScript(h *host, s *scriptState) []decl {
	a.log.Info("Loading script " + s.path)
	s.configured = false
	if st, err := os.Stat(s.path); err == nil {
		s.mtime, s.size = st.ModTime(), st.Size()
	}
	m := newMsg("load")
	m.Set("sid", s.sid)
	// The path as given, as mitmproxy shows it in tracebacks; the child
	// runs in our working directory.
	m.Set("path", s.path)
	m.Set("name", s.path)
	argv := make([]any, len(s.argv))
	for i, x := range s.argv {
		argv[i] = x
	}
	m.Set("argv", argv)
	reply, err := h.call(context.Background(), m, nil)
	if err != nil {
		s.err = fmt.Errorf("script %s: %w", s.path, err)
		a.log.Error(fmt.Sprintf("in script %s: the script host failed: %v", s.path, err))
		return nil
	}
	a.setHooks(reply)
	a.setScriptCommands(s, reply.List("commands"))
	if reply.Bool("ok") {
		s.err = nil
	} else {
		s.err = fmt.Errorf("script %s did not load (the error is in the log)", s.path)
	}
	var out []decl
	for _, d := range reply.List("options") {
		out = append(out, decl{s, d})
	}
	return out
}

// configureScript runs configure(all options) on a freshly loaded script.
//
// It reports false when the script rejected the options (an OptionsError).
func (a *Addon) configureScript(h *host, s *scriptState) bool {
	m := newMsg("configure")
	names := a.opts.Names()
	up := make([]any, len(names))
	for i, n := range names {
		up[i] = n
	}
	m.Set("updated", up)
	m.Set("options", a.optionValues(names))
	m.Set("sids", []any{s.sid})
	m.Set("load", true)
	s.configured = true
	reply, err := h.call(context.Background(), m, nil)
	if reply != nil {
		a.setHooks(reply)
	}
	var re *replyError
	if errors.As(err, &re) {
		s.err = fmt.Errorf("in script %s: %s", s.path, re.msg)
		return false
	} else if err != nil {
		a.log.Error(fmt.Sprintf("in script %s: configure failed: %v", s.path, err))
	}
	return true
}

// resetRejected puts the options that the rejected scripts declared back
// to their defaults: a value set for them before they were declared (a
// --set at start) is what the script's configure rejected, and must not
// stick. Called without the life lock (the reset configures every addon).
func (a *Addon) resetRejected(decls []decl, rejected []*scriptState) {
	var names []string
	for _, dc := range decls {
		l, ok := dc.d.([]any)
		if !ok || len(l) < 1 || !slices.Contains(rejected, dc.s) {
			continue
		}
		name := anyStr(l[0])
		if _, _, ok := a.opts.Lookup(name); ok && fmt.Sprint(a.opts.Get(name)) != fmt.Sprint(a.opts.Default(name)) {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		if err := a.opts.Reset(names...); err != nil {
			a.log.Error(fmt.Sprintf("Script host: resetting options %s: %v", strings.Join(names, ", "), err))
		}
	}
}

// declare adds the options scripts declared in load(); an option declared
// already (by an earlier load of the script) stays as it is.
func (a *Addon) declare(decls []decl) {
	for _, dc := range decls {
		l, ok := dc.d.([]any)
		if !ok || len(l) < 4 {
			continue
		}
		name := anyStr(l[0])
		if _, _, exists := a.opts.Lookup(name); exists {
			continue
		}
		kind, def, err := goOption(anyStr(l[1]), l[2])
		if err != nil {
			a.log.Error(fmt.Sprintf("in script %s: option %s: %v", dc.s.path, name, err))
			continue
		}
		var choices []string
		if len(l) > 4 {
			if cl, ok := l[4].([]any); ok {
				for _, c := range cl {
					choices = append(choices, anyStr(c))
				}
			}
		}
		if err := a.opts.Add(name, kind, def, anyStr(l[3]), choices...); err != nil {
			// A --set value the scripts' configure rejected, typically.
			dc.s.err = fmt.Errorf("in script %s: %w", dc.s.path, err)
			a.log.Error(dc.s.err.Error())
		}
	}
}

// goOption converts a declaration from the child to an addon option kind
// and default.
func goOption(kind string, def any) (addon.Kind, any, error) {
	switch kind {
	case "bool":
		b, _ := def.(bool)
		return addon.Bool, b, nil
	case "int":
		n, _ := tnetstring.AsInt(def)
		return addon.Int, int(n), nil
	case "str":
		return addon.String, anyStr(def), nil
	case "optional str":
		if def == nil {
			return addon.OptionalString, nil, nil
		}
		return addon.OptionalString, anyStr(def), nil
	case "optional int":
		if def == nil {
			return addon.OptionalInt, nil, nil
		}
		n, _ := tnetstring.AsInt(def)
		return addon.OptionalInt, int(n), nil
	case "strings":
		out := []string{}
		if l, ok := def.([]any); ok {
			for _, x := range l {
				out = append(out, anyStr(x))
			}
		}
		return addon.Strings, out, nil
	}
	return 0, nil, fmt.Errorf("unsupported option type %q", kind)
}

// forwardConfigure passes an option change to the scripts, but for those
// in skip and those not configured since they loaded (see
// scriptState.configured), which get only the new values.
func (a *Addon) forwardConfigure(updated map[string]bool, skip []*scriptState) error {
	a.life.Lock()
	defer a.life.Unlock()
	h := a.liveHost()
	if h == nil || len(a.scripts) == 0 {
		return nil
	}
	var targets []any
	for _, s := range a.scripts {
		if s.configured && !slices.Contains(skip, s) {
			targets = append(targets, s.sid)
		}
	}
	names := make([]string, 0, len(updated))
	for n := range updated {
		names = append(names, n)
	}
	slices.Sort(names)
	prev := map[string]any{}
	for _, n := range names {
		prev[n] = a.sent[n]
	}
	up := make([]any, len(names))
	for i, n := range names {
		up[i] = n
	}
	if len(targets) == 0 {
		om := newMsg("options")
		om.Set("options", a.optionValues(names))
		_ = h.send(om)
		return nil
	}
	m := newMsg("configure")
	m.Set("updated", up)
	m.Set("options", a.optionValues(names))
	if len(targets) < len(a.scripts) {
		m.Set("sids", targets)
	}
	reply, err := h.call(context.Background(), m, nil)
	if reply != nil {
		a.setHooks(reply)
	}
	var re *replyError
	if errors.As(err, &re) {
		// The change is rolled back: the child must forget it too.
		back := tnetstring.NewDict()
		for _, n := range names {
			back.Set(n, prev[n])
			a.sent[n] = prev[n]
		}
		om := newMsg("options")
		om.Set("options", back)
		_ = h.send(om)
		return errors.New(re.msg)
	}
	if err != nil {
		a.log.Error(fmt.Sprintf("Script host: configure failed: %v", err))
	}
	return nil
}

// optionValues returns the values of names as the child expects them, and
// remembers them as sent.
func (a *Addon) optionValues(names []string) *tnetstring.Dict {
	d := tnetstring.NewDict()
	if a.sent == nil {
		a.sent = map[string]any{}
	}
	for _, n := range names {
		v := wireOption(a.opts.Get(n))
		d.Set(n, v)
		a.sent[n] = v
	}
	return d
}

func wireOption(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case string:
		return wireStr(x)
	case *string:
		if x == nil {
			return nil
		}
		return wireStr(*x)
	case *int:
		if x == nil {
			return nil
		}
		return int64(*x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = wireStr(s)
		}
		return out
	}
	return v
}

// wireStr sends valid UTF-8 as str and anything else as bytes.
func wireStr(s string) any {
	if utf8.ValidString(s) {
		return s
	}
	return []byte(s)
}

// setHooks records which hooks the scripts define, from a lifecycle reply.
func (a *Addon) setHooks(reply *tnetstring.Dict) {
	l, ok := reply.Get("hooks")
	if !ok {
		return
	}
	var bits uint64
	if names, ok := l.([]any); ok {
		for _, n := range names {
			if i, ok := hookIndex[anyStr(n)]; ok {
				bits |= 1 << i
			}
		}
	}
	a.hooks.Store(bits)
	if d := reply.Dict("hook_scripts"); d != nil {
		m := make(map[string][]string, d.Len())
		for _, e := range d.Entries {
			l, _ := e.Value.([]any)
			names := make([]string, len(l))
			for i, n := range l {
				names[i] = anyStr(n)
			}
			m[e.Key] = names
		}
		a.hookScripts.Store(&m)
	}
}

// scriptsFor names the scripts that handle hook, for the log.
func (a *Addon) scriptsFor(hook string) string {
	if m := a.hookScripts.Load(); m != nil {
		if names := (*m)[hook]; len(names) > 0 {
			return strings.Join(names, ", ")
		}
	}
	return "(unknown)"
}

// lifecycle sends a lifecycle command to the child and logs a failure.
func (a *Addon) lifecycle(h *host, cmd string, args map[string]any) {
	a.lifecycleTimeout(h, cmd, args, 0)
}

func (a *Addon) lifecycleTimeout(h *host, cmd string, args map[string]any, timeout time.Duration) {
	m := newMsg(cmd)
	for k, v := range args {
		m.Set(k, v)
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	reply, err := h.call(ctx, m, nil)
	if reply != nil {
		a.setHooks(reply)
	}
	if err != nil && !(errors.Is(err, errHostGone) && a.shuttingDown.Load()) {
		a.log.Error(fmt.Sprintf("Script host: %s failed: %v", cmd, err))
	}
}

// The child process --------------------------------------------------------

// interpreter finds the Python interpreter to run.
func (a *Addon) interpreter() (string, error) {
	name, from := a.pythonOpt.Get(), "--set python"
	if name == "" {
		name, from = os.Getenv("MITMGO_PYTHON"), "MITMGO_PYTHON"
	}
	if name == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", errors.New("scripts need Python 3.8 or newer, and no python3 was found on the PATH: " +
				"install python3 (for example `apt-get install python3`), or point mitmgo at an interpreter " +
				"with --set python=/path/to/python3 or the MITMGO_PYTHON environment variable")
		}
		return p, nil
	}
	p, err := exec.LookPath(expandHome(name))
	if err != nil {
		return "", fmt.Errorf("the Python interpreter %q (from %s) was not found: %v; "+
			"scripts need Python 3.8 or newer: install python3, or set --set python=/path/to/python3 "+
			"or the MITMGO_PYTHON environment variable", name, from, err)
	}
	return p, nil
}

// interpreterChanged reports whether the python option (or the environment)
// now names another interpreter than h runs.
func (a *Addon) interpreterChanged(h *host) bool {
	p, err := a.interpreter()
	return err != nil || p != h.python
}

// pythonDir extracts the embedded Python package once.
func (a *Addon) pythonDir() (string, error) {
	if a.pyDir != "" {
		return a.pyDir, nil
	}
	base, temp := a.cfg.CacheDir, false
	if base == "" {
		var ok bool
		base, ok = defaultCacheBase()
		if !ok {
			d, err := os.MkdirTemp("", "mitmgo-python-")
			if err != nil {
				return "", fmt.Errorf("extracting the Python script host: %w", err)
			}
			base, temp = d, true
		}
	}
	dir, err := extractPython(base)
	if err != nil && !temp && a.cfg.CacheDir == "" {
		// An unwritable cache directory: use a private temporary one.
		d, terr := os.MkdirTemp("", "mitmgo-python-")
		if terr != nil {
			return "", err
		}
		dir, err = extractPython(d)
		base, temp = d, true
	}
	if err != nil {
		return "", err
	}
	a.pyDir, a.pyTemp = dir, temp
	return dir, nil
}

// ensureHost starts a child (or returns the running one). A new child
// becomes the current one, but hook calls do not go to it until the caller
// says it is ready (setHost): a restarted child first loads the scripts.
// Called with the life lock held.
func (a *Addon) ensureHost() (*host, error) {
	if h := a.liveHost(); h != nil {
		return h, nil
	}
	python, err := a.interpreter()
	if err != nil {
		return nil, err
	}
	dir, err := a.pythonDir()
	if err != nil {
		return nil, err
	}
	h, err := startHost(python, dir, a)
	if err != nil {
		return nil, err
	}
	// The scripts add their views again as they load.
	a.views.Store(nil)
	a.hostMu.Lock()
	a.hosts[h] = struct{}{}
	a.hostMu.Unlock()
	go a.monitor(h)
	a.lastStart = time.Now()
	m := newMsg("init")
	m.Set("options", a.optionValues(a.opts.Names()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reply, err := h.call(ctx, m, nil)
	if err != nil {
		h.stop(time.Second)
		msg := fmt.Sprintf("starting the Python script host (%s) failed: %v", python, err)
		if tail := h.stderr(); tail != "" {
			msg += ": " + tail
		}
		return nil, errors.New(msg)
	}
	if v, ok := reply.List("version"), true; ok && len(v) >= 2 {
		maj, _ := tnetstring.AsInt(v[0])
		min, _ := tnetstring.AsInt(v[1])
		h.version = fmt.Sprintf("%d.%d", maj, min)
	}
	a.hostMu.Lock()
	a.cur = h
	a.hostMu.Unlock()
	return h, nil
}

// monitor kills a child that stays silent for longer than
// script_hook_timeout (plus a margin) while hooks wait for it. Its watchdog
// thread sends a heartbeat every second while the option is set, so
// silence means the whole interpreter is stuck: a handler holding the GIL
// in C code (a runaway regular expression), where the watchdog cannot run
// to interrupt it.
func (a *Addon) monitor(h *host) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-h.dead:
			return
		case <-t.C:
		}
		h.warnSlow(time.Now())
		limit := a.hookLimit.Load()
		oldest := h.oldestHook()
		if limit <= 0 || oldest.IsZero() {
			continue
		}
		last := time.Unix(0, h.lastMsg.Load())
		if last.Before(oldest) {
			last = oldest
		}
		if quiet := time.Since(last); quiet > time.Duration(limit)*time.Second+frozenMargin {
			h.setEnd("stopped responding")
			a.log.Error(fmt.Sprintf("Script host: the Python script host has not responded for %s while hooks "+
				"were waiting (script_hook_timeout is %d s); killing it", quiet.Round(time.Second), limit))
			h.kill()
			return
		}
	}
}

// liveHost returns the running child, or nil.
func (a *Addon) liveHost() *host {
	a.hostMu.Lock()
	defer a.hostMu.Unlock()
	if a.cur != nil && a.cur.alive() {
		return a.cur
	}
	return nil
}

func (a *Addon) setHost(h *host) {
	a.hostMu.Lock()
	defer a.hostMu.Unlock()
	a.cur = h
	a.closeReady()
}

// closeReady releases the hook calls waiting in hostForCall. Called with
// hostMu held.
func (a *Addon) closeReady() {
	select {
	case <-a.ready:
	default:
		close(a.ready)
	}
}

// hostForCall returns the child to send a hook to, waiting (a bounded time)
// while a dead one is being replaced; nil when there is none.
func (a *Addon) hostForCall() *host {
	a.hostMu.Lock()
	h, ready := a.cur, a.ready
	a.hostMu.Unlock()
	select {
	case <-ready:
	default:
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-ready:
		case <-t.C:
			return nil
		}
		a.hostMu.Lock()
		h = a.cur
		a.hostMu.Unlock()
	}
	if h != nil && h.alive() {
		return h
	}
	return nil
}

// hostLog implements hostEvents.
func (a *Addon) hostLog(level slog.Level, msg string, fromScript bool) {
	if a.log == nil {
		return
	}
	if !fromScript {
		a.log.Log(context.Background(), level, msg)
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	k := ownKey{r.Time.UnixNano(), msg}
	a.own.Store(k, struct{}{})
	_ = a.log.Handler().Handle(context.Background(), r)
	a.own.Delete(k)
}

// hostMessage implements hostEvents: what the child sends on its own.
func (a *Addon) hostMessage(h *host, msg *tnetstring.Dict) {
	switch msg.Str("cmd") {
	case "set_options":
		vals := msg.Dict("options")
		go a.setOptions(vals)
	case "shutdown":
		go a.ctx.Shutdown()
	case "flowop":
		a.flowop(msg.Str("fid"), msg.Str("op"))
	case "views":
		a.setViews(msg.List("views"))
	default:
		a.log.Debug(fmt.Sprintf("Script host: unexpected message %q", msg.Str("cmd")))
	}
}

// setOptions applies ctx.options changes a script made.
func (a *Addon) setOptions(vals *tnetstring.Dict) {
	upd := map[string]any{}
	for _, e := range vals.Entries {
		opt, _, ok := a.opts.Lookup(e.Key)
		if !ok {
			a.log.Error("Script set an unknown option: " + e.Key)
			return
		}
		v, err := fromWire(opt.Kind, e.Value)
		if err != nil {
			a.log.Error(fmt.Sprintf("Script set option %s: %v", e.Key, err))
			return
		}
		upd[e.Key] = v
	}
	if err := a.opts.Update(upd); err != nil {
		a.log.Error(fmt.Sprintf("Script set options: %v", err))
	}
}

// fromWire converts an option value from the child to the kind's Go type.
func fromWire(k addon.Kind, v any) (any, error) {
	switch k {
	case addon.Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case addon.Int:
		if n, ok := tnetstring.AsInt(v); ok {
			return int(n), nil
		}
	case addon.String:
		switch v.(type) {
		case string, []byte:
			return anyStr(v), nil
		}
	case addon.OptionalString:
		if v == nil {
			return nil, nil
		}
		switch v.(type) {
		case string, []byte:
			return anyStr(v), nil
		}
	case addon.OptionalInt:
		if v == nil {
			return nil, nil
		}
		if n, ok := tnetstring.AsInt(v); ok {
			return int(n), nil
		}
	case addon.Strings:
		if l, ok := v.([]any); ok {
			out := make([]string, len(l))
			for i, x := range l {
				out[i] = anyStr(x)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("a %T does not fit a %s option", v, k)
}

// hostExited implements hostEvents: restart a child that died, unless
// mitmgo ended it or is shutting down (then its end is expected).
func (a *Addon) hostExited(h *host, err error) {
	a.hostMu.Lock()
	delete(a.hosts, h)
	expected := h.closing.Load() || a.shuttingDown.Load()
	current := a.cur == h
	if current {
		a.cur = nil
		switch {
		case expected:
			a.closeReady()
		case a.readyClosed():
			// Hook calls wait for the restart (a restart in progress
			// keeps its own channel open).
			a.ready = make(chan struct{})
		}
	}
	a.hostMu.Unlock()
	if !current {
		return
	}
	if expected {
		a.log.Debug(fmt.Sprintf("Script host: the Python script host exited during shutdown (%v)", err))
		return
	}
	if a.restarting.CompareAndSwap(false, true) {
		go a.restart(err)
	}
}

// readyClosed reports whether hook calls may go to the current child.
// Called with hostMu held.
func (a *Addon) readyClosed() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// restart replaces a child that died. The new one is published only once
// the scripts are loaded, configured and running: until then hook calls
// wait for it (a bounded time, then their flows are killed), so that no
// flow passes a script that is not there yet.
func (a *Addon) restart(cause error) {
	defer a.restarting.Store(false)
	a.log.Error(fmt.Sprintf("The Python script host exited unexpectedly (%v); restarting it. "+
		"Flows whose script hooks were in progress are killed.", cause))
	for {
		a.life.Lock()
		if a.finished || a.shuttingDown.Load() || len(a.scripts) == 0 {
			a.setHost(nil)
			a.life.Unlock()
			return
		}
		// A child that keeps dying right after starting is restarted with a
		// growing delay.
		if time.Since(a.lastStart) < 5*time.Second {
			a.fails++
		} else {
			a.fails = 0
		}
		delay := time.Duration(0)
		if a.fails > 0 {
			delay = min(30*time.Second, 250*time.Millisecond<<min(a.fails, 7))
		}
		a.life.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		a.life.Lock()
		if a.finished || a.shuttingDown.Load() {
			a.setHost(nil)
			a.life.Unlock()
			return
		}
		h, err := a.ensureHost()
		if err != nil {
			a.log.Error(fmt.Sprintf("Restarting the Python script host failed: %v", err))
			a.lastStart = time.Now()
			a.life.Unlock()
			continue
		}
		var decls []decl
		for _, s := range a.scripts {
			decls = append(decls, a.loadScript(h, s)...)
		}
		scripts := slices.Clone(a.scripts)
		a.life.Unlock()
		a.declare(decls)
		a.life.Lock()
		if h.alive() {
			for _, s := range scripts {
				a.configureScript(h, s)
			}
			if a.running {
				a.lifecycle(h, "running", nil)
			}
		}
		switch {
		case !h.alive():
			// It died while loading the scripts: try again.
			a.life.Unlock()
			continue
		case a.finished || a.shuttingDown.Load():
			a.setHost(nil)
			a.life.Unlock()
			h.stop(time.Second)
			return
		}
		a.setHost(h)
		a.log.Info("The Python script host was restarted.")
		a.life.Unlock()
		return
	}
}

// Hot reload ---------------------------------------------------------------

func (a *Addon) startWatcher() {
	iv := a.cfg.ReloadInterval
	if iv == 0 {
		iv = time.Second
	}
	a.watchStop = make(chan struct{})
	a.watchDone = make(chan struct{})
	go a.watch(iv, a.watchStop, a.watchDone)
}

func (a *Addon) stopWatcher() {
	a.life.Lock()
	stop, done := a.watchStop, a.watchDone
	a.watchStop, a.watchDone = nil, nil
	a.life.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (a *Addon) watch(iv time.Duration, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		a.checkScripts()
	}
}

// checkScripts reloads scripts whose file changed, and drops those whose
// file is gone (as mitmproxy does).
func (a *Addon) checkScripts() {
	a.life.Lock()
	var changed []*scriptState
	var gone []string
	for _, s := range a.scripts {
		st, err := os.Stat(s.path)
		if err != nil {
			gone = append(gone, s.spec)
			continue
		}
		if !st.ModTime().Equal(s.mtime) || st.Size() != s.size {
			changed = append(changed, s)
		}
	}
	h := a.liveHost()
	var decls []decl
	if h != nil {
		for _, s := range changed {
			decls = append(decls, a.loadScript(h, s)...)
		}
	}
	a.life.Unlock()
	if len(gone) > 0 {
		specs := a.scriptsOpt.Get()
		specs = slices.DeleteFunc(specs, func(s string) bool {
			if slices.Contains(gone, s) {
				a.log.Info("Removing script " + s)
				return true
			}
			return false
		})
		if err := a.opts.Update(map[string]any{"scripts": specs}); err != nil {
			a.log.Error(fmt.Sprintf("Removing scripts: %v", err))
		}
	}
	if h == nil || len(changed) == 0 {
		return
	}
	a.declare(decls)
	a.life.Lock()
	defer a.life.Unlock()
	if h := a.liveHost(); h != nil {
		for _, s := range changed {
			if slices.Contains(a.scripts, s) {
				a.configureScript(h, s)
			}
		}
		if a.running {
			a.lifecycle(h, "running", map[string]any{"sids": sids(changed)})
		}
	}
}

// Helpers ------------------------------------------------------------------

func newMsg(cmd string) *tnetstring.Dict {
	// Room for a hook call's entries (cmd, hook, fid, live, the parts,
	// wsbase, lazy, id): one allocation instead of five as it grows.
	m := &tnetstring.Dict{Entries: make([]tnetstring.Entry, 1, 12)}
	m.Entries[0] = tnetstring.Entry{Key: "cmd", Value: cmd}
	return m
}

func anyStr(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
