// Package mitmgo is the front door of mitmgo, mitmproxy rebuilt in Go: the
// one place where a proxy is assembled with its options, its built-in
// addons in mitmproxy's order, its commands, and (for the interactive
// tools) its view of flows and interception. mitmdump, mitmweb and the
// console are built on it, and so is a Go program that embeds a proxy:
//
//	p, err := mitmgo.New(mitmgo.Config{Addons: []any{&AddHeader{}}})
//	if err != nil { ... }
//	p.Opts.ListenPort.Set(new(8081))
//	if err := p.Start(); err != nil { ... }
//	defer p.Close()
//
// An addon is any value with some of the hook methods of package addon
// (Request(*flow.HTTPFlow), Response(*flow.HTTPFlow), Load(*addon.Loader)
// to declare options and commands, ...). The program's addons run where
// mitmproxy runs scripts: after the built-ins that act on a request first
// (blocking, anticache, proxy authentication), before server replay,
// map/modify, saving and the output, which see what the addons changed.
//
// # Options
//
// Opts holds typed handles on the options every tool has
// (p.Opts.ListenHost.Set("127.0.0.1")); addon.Lookup makes one for any
// other option, and Set takes mitmproxy's --set syntax. Option changes made
// before Start reach the addons once, at Start, with every option (the
// configure hook), as mitmproxy's start-up does.
//
// Every option that any of mitmgo's tools declares is known to every tool:
// a config.yaml shared between mitmdump and mitmweb (web_port,
// console_mouse, view_filter) is accepted, and a tool ignores the options
// it has no use for, as mitmproxy's tools do.
//
// # Commands, view and intercept
//
// Commands is mitmproxy's command registry (set, flow.mark, export.file,
// replay.client, view.flows.resolve, ...). With Config.View, the master
// keeps every flow in View, ordered and filtered as view_order and
// view_filter say, and intercepts flows that match the intercept option
// until flow.resume or flow.kill.
package mitmgo

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/anticache"
	"github.com/mitmgo/mitmgo/addons/anticomp"
	"github.com/mitmgo/mitmgo/addons/block"
	"github.com/mitmgo/mitmgo/addons/blocklist"
	"github.com/mitmgo/mitmgo/addons/browser"
	"github.com/mitmgo/mitmgo/addons/clientplayback"
	"github.com/mitmgo/mitmgo/addons/core"
	"github.com/mitmgo/mitmgo/addons/cut"
	"github.com/mitmgo/mitmgo/addons/dnsresolver"
	"github.com/mitmgo/mitmgo/addons/dumper"
	"github.com/mitmgo/mitmgo/addons/export"
	"github.com/mitmgo/mitmgo/addons/intercept"
	"github.com/mitmgo/mitmgo/addons/keepserving"
	"github.com/mitmgo/mitmgo/addons/maplocal"
	"github.com/mitmgo/mitmgo/addons/mapremote"
	"github.com/mitmgo/mitmgo/addons/modifybody"
	"github.com/mitmgo/mitmgo/addons/modifyheaders"
	"github.com/mitmgo/mitmgo/addons/onboarding"
	"github.com/mitmgo/mitmgo/addons/proxyauth"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/addons/savehar"
	"github.com/mitmgo/mitmgo/addons/serverplayback"
	"github.com/mitmgo/mitmgo/addons/stickyauth"
	"github.com/mitmgo/mitmgo/addons/stickycookie"
	"github.com/mitmgo/mitmgo/addons/termlog"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/addons/upstreamauth"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/proxy"
	"github.com/mitmgo/mitmgo/script"
	"github.com/mitmgo/mitmgo/view"
)

// Config says what to assemble. The zero Config is an embedded proxy: the
// built-ins, log lines on standard error, no flow output, no view.
type Config struct {
	// Addons are the program's own addons, placed where mitmproxy places
	// scripts (see the package documentation).
	Addons []any
	// Out receives the log (termlog) and, with Dump, the flows. nil means
	// standard error.
	Out io.Writer
	// Color colours Out for a terminal.
	Color bool
	// Stdin is read for "-r -" (rfile=-); nil means standard input.
	Stdin io.Reader
	// Dump writes each flow to Out (the dumper) and, when the work given
	// by rfile, client_replay or server_replay is done, stops (unless
	// keepserving is set): mitmdump.
	Dump bool
	// View keeps every flow in Master.View, with interception
	// (intercept, intercept_active): mitmweb, the console, and programs
	// that use the flow commands.
	View bool
}

// Master is an assembled proxy: the addon chain, its options and commands,
// the proxy server and, with Config.View, the view. Create it with New.
type Master struct {
	// Addons is the addon chain; Options and Commands are its registries.
	Addons   *addon.Manager
	Options  *addon.Options
	Commands *command.Registry
	// Opts holds typed handles on the options every tool has.
	Opts Options
	// Server is the proxy server (the "proxyserver" addon).
	Server *proxy.Server
	// View is the flow store and view; nil without Config.View.
	View *view.View

	cfg      Config
	errCheck *errorCheck
	readFile *readfile.ReadFile

	mu         sync.Mutex
	configured bool
	started    bool
	closed     bool
	listener   netListener
	serveDone  chan error
	readDone   chan error
	stop       chan struct{}
	stopOnce   sync.Once
}

// New assembles a master. Its options have their defaults, or what config
// sets; change them before Start (Opts, Set, LoadConfig).
func New(cfg Config) (*Master, error) {
	if cfg.Out == nil {
		cfg.Out = os.Stderr
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	mgr := addon.NewManager()
	// Options set before Start configure the addons once, at Start.
	mgr.DeferConfigure()
	m := &Master{
		Addons: mgr, Options: mgr.Options(), Commands: mgr.Commands(),
		cfg: cfg, stop: make(chan struct{}),
	}
	m.Server = proxy.New(mgr)
	mgr.SetShutdown(m.Shutdown)
	m.errCheck = &errorCheck{}
	chain, err := m.chain(mgr, cfg)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(chain...); err != nil {
		return nil, err
	}
	if a, ok := mgr.Get("scriptloader"); ok {
		if fs, ok := a.(interface{ FromScript(*addon.LogEntry) bool }); ok {
			m.errCheck.fromScript = fs.FromScript
		}
	}
	// The options of the other tools, so that their settings are
	// accepted (and ignored).
	if err := declareForeign(m.Options); err != nil {
		return nil, err
	}
	if m.Opts, err = lookupOptions(m.Options); err != nil {
		return nil, err
	}
	return m, nil
}

// chain is mitmproxy's addon order (addons/__init__.py default_addons and
// the tools' masters): the log; the built-ins that see a request before
// scripts; the proxy server; scripts and the program's addons; server
// replay, map/modify, sticky auth/cookies and saving, which see what those
// changed; then the tool's own: the dumper and keepserving (mitmdump), or
// interception and the view (mitmweb, the console); readfile; the start-up
// error check.
func (m *Master) chain(mgr *addon.Manager, cfg Config) ([]any, error) {
	tlsConfig := tlsconfig.New()
	sh := savehar.New()
	sh.Stdout = cfg.Out
	rf := readfile.New(mgr)
	rf.Stdin = cfg.Stdin
	m.readFile = rf
	// The script host bounds shutdown from when it begins, so that a hook
	// that never returns cannot hold it up.
	scripts := script.NewWithConfig(script.Config{Stopping: m.Stopping()})
	chain := []any{
		&toolOptions{},
		termlog.New(cfg.Out, cfg.Color),
		core.New(),
		browser.New(),
		block.New(),
		blocklist.New(),
		anticache.New(),
		anticomp.New(),
		clientplayback.New(mgr, m.Server),
		cut.New(),
		export.New(),
		onboarding.New(tlsConfig.Store),
		proxyauth.New(),
		m.Server,
		scripts,
	}
	chain = append(chain, cfg.Addons...)
	chain = append(chain,
		// After the scripts, as mitmproxy's dns_resolver: a script's
		// answer in dns_request is used without resolving.
		dnsresolver.New(),
		serverplayback.New(),
		mapremote.New(),
		maplocal.New(),
		modifybody.New(),
		modifyheaders.New(),
		stickyauth.New(),
		stickycookie.New(),
		save.New(),
		sh,
		tlsConfig,
		upstreamauth.New(),
	)
	if cfg.Dump {
		d := dumper.New(cfg.Out, cfg.Color)
		// Content views that scripts add render bodies too.
		d.SetContentViews(scripts.ContentViews)
		chain = append(chain, d, keepserving.New(mgr))
	}
	if cfg.View {
		// The view comes last among the flow hooks: when its hook
		// returns, an intercepted flow waits (see package view).
		m.View = view.New()
		chain = append(chain, intercept.New(), m.View)
	}
	chain = append(chain, rf, m.errCheck)
	return chain, nil
}

// Set applies option specs in mitmproxy's --set syntax ("name=value";
// repeat a sequence option's spec for each element). Specs naming options
// nobody declared yet wait for a script to declare them; Start reports
// those that never were.
func (m *Master) Set(specs ...string) error { return m.Options.Set(specs...) }

// LoadConfig reads config.yaml from the confdir option's directory, as
// mitmproxy's tools do at start-up (a missing file is not an error).
func (m *Master) LoadConfig() error {
	dir := ExpandHome(m.Opts.Confdir.Get())
	for _, name := range []string{"config.yaml", "config.yml"} {
		if err := m.Options.LoadYAML(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// Setup applies a tool's start-up settings in mitmproxy's order: the
// confdir among specs first (config.yaml lives there), then config.yaml,
// then specs, which override it; then it configures the addons (Configure).
func (m *Master) Setup(specs []string) error {
	// All confdir values at once, so that only the last one takes
	// effect.
	var confdirs []string
	for _, s := range specs {
		if strings.HasPrefix(s, "confdir=") {
			confdirs = append(confdirs, s)
		}
	}
	if err := m.Set(confdirs...); err != nil {
		return err
	}
	if err := m.LoadConfig(); err != nil {
		return err
	}
	if err := m.Set(specs...); err != nil {
		return err
	}
	return m.Configure()
}

// Configure runs the configure hook of every addon with every option, once;
// Start calls it when it has not run. An option an addon rejects, or one
// set but never declared, is an error.
func (m *Master) Configure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.configured {
		return nil
	}
	m.configured = true
	if err := m.Addons.ConfigureAll(); err != nil {
		return err
	}
	return m.Options.CheckDeferred()
}

// ExpandHome replaces a leading "~" with the user's home directory.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
