package mitmgo

import (
	"io"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/dumper"
	"github.com/mitmgo/mitmgo/addons/intercept"
	"github.com/mitmgo/mitmgo/addons/keepserving"
	"github.com/mitmgo/mitmgo/view"
)

// Options are typed handles on the options every tool has (see
// addon.Opt). Options of the other tools are there too (mitmweb's web_port
// in mitmdump): setting them is accepted and changes nothing where they do
// not apply.
type Options struct {
	// Confdir is where the CA and config.yaml live ("~/.mitmproxy").
	Confdir addon.Opt[string]
	// ListenHost and ListenPort are where the proxy listens; an unset
	// port is the mode's default (8080), 0 any free port.
	ListenHost addon.Opt[string]
	ListenPort addon.Opt[*int]
	// Mode lists the proxy modes ("regular").
	Mode addon.Opt[[]string]
	// Server starts the proxy server (true).
	Server addon.Opt[bool]
	// Scripts are the Python scripts to run ("path [args...]").
	Scripts addon.Opt[[]string]
	// TermlogVerbosity is the level of the log (info).
	TermlogVerbosity addon.Opt[string]
	// FlowDetail is how much of each flow the dumper prints (1).
	FlowDetail addon.Opt[int]
	// KeepServing keeps mitmdump running after -r, -C and -S.
	KeepServing addon.Opt[bool]
	// ViewFilter, ViewOrder and ViewOrderReversed shape the view.
	ViewFilter        addon.Opt[*string]
	ViewOrder         addon.Opt[string]
	ViewOrderReversed addon.Opt[bool]
	// Intercept is the filter of the flows to intercept; InterceptActive
	// turns interception on and off.
	Intercept       addon.Opt[*string]
	InterceptActive addon.Opt[bool]
	// WebHost, WebPort and WebOpenBrowser are mitmweb's.
	WebHost        addon.Opt[string]
	WebPort        addon.Opt[int]
	WebOpenBrowser addon.Opt[bool]
}

// lookupOptions makes the handles; every option is declared by the
// master's chain or as another tool's.
func lookupOptions(o *addon.Options) (opts Options, err error) {
	look := func(name string, set func() error) {
		if err == nil {
			err = set()
		}
	}
	bind := func(dst any, name string) {
		look(name, func() error {
			var e error
			switch d := dst.(type) {
			case *addon.Opt[string]:
				*d, e = addon.Lookup[string](o, name)
			case *addon.Opt[*string]:
				*d, e = addon.Lookup[*string](o, name)
			case *addon.Opt[*int]:
				*d, e = addon.Lookup[*int](o, name)
			case *addon.Opt[int]:
				*d, e = addon.Lookup[int](o, name)
			case *addon.Opt[bool]:
				*d, e = addon.Lookup[bool](o, name)
			case *addon.Opt[[]string]:
				*d, e = addon.Lookup[[]string](o, name)
			}
			return e
		})
	}
	bind(&opts.Confdir, "confdir")
	bind(&opts.ListenHost, "listen_host")
	bind(&opts.ListenPort, "listen_port")
	bind(&opts.Mode, "mode")
	bind(&opts.Server, "server")
	bind(&opts.Scripts, "scripts")
	bind(&opts.TermlogVerbosity, "termlog_verbosity")
	bind(&opts.FlowDetail, "flow_detail")
	bind(&opts.KeepServing, "keepserving")
	bind(&opts.ViewFilter, "view_filter")
	bind(&opts.ViewOrder, "view_order")
	bind(&opts.ViewOrderReversed, "view_order_reversed")
	bind(&opts.Intercept, "intercept")
	bind(&opts.InterceptActive, "intercept_active")
	bind(&opts.WebHost, "web_host")
	bind(&opts.WebPort, "web_port")
	bind(&opts.WebOpenBrowser, "web_open_browser")
	return opts, err
}

// toolOptions declares the options of the front door itself.
type toolOptions struct{}

func (toolOptions) Name() string { return "tooloptions" }

// Load declares confdir, which the CA (tlsconfig) and config.yaml use.
func (toolOptions) Load(l *addon.Loader) {
	addon.Declare(l, "confdir", "~/.mitmproxy", "Location of the default mitmproxy configuration files.")
}

// uiOptions declares the options of mitmweb and the console (mitmproxy
// 12's names, defaults, help and choices) for the tools that do not run
// them, until those tools' own addons declare them.
type uiOptions struct{}

func (uiOptions) Name() string { return "uioptions" }

func (uiOptions) Load(l *addon.Loader) {
	addon.Declare(l, "command_history", true, "Persist command history between mitmproxy invocations.")
	addon.Declare(l, "console_default_contentview", "auto", "The default content view mode.")
	addon.Declare(l, "console_eventlog_verbosity", "info", "EventLog verbosity.", "error", "warn", "info", "alert", "debug")
	addon.Declare(l, "console_layout", "single", "Console layout.", "horizontal", "single", "vertical")
	addon.Declare(l, "console_layout_headers", true, "Show layout component headers")
	addon.Declare(l, "console_palette", "solarized_dark", "Color palette.",
		"dark", "light", "lowdark", "lowlight", "solarized_dark", "solarized_light")
	addon.Declare(l, "console_palette_transparent", true, "Set transparent background for palette.")
	addon.Declare(l, "console_mouse", true, "Console mouse interaction.")
	addon.Declare(l, "console_flowlist_layout", "default", "Set the flowlist layout", "default", "list", "table")
	addon.Declare(l, "console_strip_trailing_newlines", false, "Strip trailing newlines from edited request/response bodies.")
	addon.Declare(l, "console_quickhelp_visible", true, "Show the quick help bar at the bottom of the console.")
	addon.Declare(l, "web_open_browser", true, "Start a browser.")
	addon.Declare(l, "web_debug", false, "Enable mitmweb debugging.")
	addon.Declare(l, "web_port", 8081, "Web UI port.")
	addon.Declare(l, "web_host", "127.0.0.1", "Web UI host.")
	addon.Declare(l, "web_columns", []string{"tls", "icon", "path", "method", "status", "size", "time"},
		"Columns to show in the flow list. Can be one of the following: tls, icon, index, method, version, path, quickactions, size, status, time, timestamp, comment")
	addon.Declare(l, "web_theme", "system", "Preferred color theme for the mitmweb user interface.", "system", "dark", "light")
	addon.Declare(l, "web_password", "",
		"Password to protect the mitmweb user interface. Values starting with `$` are interpreted as an argon2 hash, "+
			"everything else is considered a plaintext password. If no password is provided, a random token is generated on startup."+
			"For automated calls, you can pass the password as token query parameter"+
			"or as `Authorization: Bearer ...` header.")
	addon.Declare[*string](l, "web_static_viewer", new(""), "The path to output a static viewer.")
}

// declareForeign declares, as ignored, every option that a tool other than
// this one declares: those of every built-in and of mitmweb and the
// console. It learns them by loading all of them into a scratch manager.
func declareForeign(o *addon.Options) error {
	scratch := addon.NewManager()
	all := []any{
		uiOptions{},
		dumper.New(io.Discard, false),
		keepserving.New(scratch),
		intercept.New(),
		view.New(),
	}
	if err := scratch.Add(all...); err != nil {
		return err
	}
	so := scratch.Options()
	for _, name := range so.Names() {
		if _, _, ok := o.Lookup(name); ok {
			continue
		}
		opt, _, _ := so.Lookup(name)
		if err := o.AddIgnored(name, opt.Kind, opt.Default, opt.Help, opt.Choices...); err != nil {
			return err
		}
	}
	return nil
}
