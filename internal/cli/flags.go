package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/textwrap"
)

// flagSet holds mitmdump's command-line flags. Each maps onto an option, as
// in mitmproxy, so a flag is just another way to write --set.
type flagSet struct {
	fs *pflag.FlagSet

	version, options, commands, quiet, verbose, noServer bool
	detail                                               int
	flowDetail                                           int
	sets, scripts, modes                                 []string
	// simple maps flag name -> option name for string-valued flags.
	simple map[string]string
	// lists maps flag name -> option name for repeatable flags.
	lists map[string]string
	// bools maps flag name -> option name (with --no-NAME counterparts).
	bools map[string]string
	vals  map[string]*string
	lvals map[string]*[]string
	bvals map[string]*bool
	nvals map[string]*bool
	// name is the tool's name in --help ("mitmdump" when empty).
	name string
	// metavar is the placeholder --help shows for a flag's value
	// (mitmproxy's metavar: --listen-port PORT).
	metavar map[string]string
}

func newFlagSet(opts *addon.Options) *flagSet {
	f := &flagSet{
		fs:     pflag.NewFlagSet("mitmdump", pflag.ContinueOnError),
		simple: map[string]string{}, lists: map[string]string{}, bools: map[string]string{},
		vals: map[string]*string{}, lvals: map[string]*[]string{}, bvals: map[string]*bool{}, nvals: map[string]*bool{},
		metavar: map[string]string{},
	}
	fs := f.fs
	fs.SortFlags = false
	fs.BoolVar(&f.version, "version", false, "show version number and exit")
	fs.BoolVar(&f.options, "options", false, "show all options and their default values")
	fs.BoolVar(&f.commands, "commands", false, "show all commands and their signatures")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "quiet: termlog_verbosity=error, flow_detail=0")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "verbose: termlog_verbosity=debug, flow_detail=2")
	fs.IntVar(&f.flowDetail, "flow-detail", -1, "the display detail level for flows in mitmdump: 0 (quiet) to 4 (full)")
	f.metavar["flow-detail"] = "LEVEL"
	// The 0.18-era -d, -dd, -ddd: flow detail 2, 3 and 4.
	fs.CountVarP(&f.detail, "detail", "d", "increase flow detail (the seed's -d/-dd/-ddd)")
	fs.StringArrayVar(&f.sets, "set", nil, "set an option: --set name=value (repeat for sequences)")
	f.metavar["set"] = "option[=value]"
	fs.StringArrayVarP(&f.scripts, "scripts", "s", nil, "execute a script (repeatable): -s \"path [args...]\"")
	f.metavar["scripts"] = "SCRIPT"
	fs.BoolVarP(&f.noServer, "no-server", "n", false, "start without a proxy server")
	fs.StringArrayVarP(&f.modes, "mode", "m", nil, "the proxy mode (repeatable)")
	f.metavar["mode"] = "MODE"

	f.addBool(opts, "server", "", "server")
	f.addString(opts, "listen-host", "", "listen_host")
	f.addString(opts, "listen-port", "p", "listen_port")
	f.addString(opts, "confdir", "", "confdir")
	f.addString(opts, "save-stream-file", "w", "save_stream_file")
	f.addString(opts, "rfile", "r", "rfile")
	f.addString(opts, "stickycookie", "", "stickycookie")
	f.addString(opts, "stickyauth", "", "stickyauth")
	f.addString(opts, "upstream-auth", "", "upstream_auth")
	f.addString(opts, "proxyauth", "", "proxyauth")
	f.addString(opts, "stream-large-bodies", "", "stream_large_bodies")
	f.addString(opts, "body-size-limit", "", "body_size_limit")
	f.addString(opts, "server-replay-extra", "", "server_replay_extra")
	f.addString(opts, "termlog-verbosity", "", "termlog_verbosity")
	f.addString(opts, "save-stream-filter", "", "save_stream_filter")
	f.addString(opts, "readfile-filter", "", "readfile_filter")
	f.addString(opts, "dumper-filter", "", "dumper_filter")
	f.addString(opts, "client-replay-concurrency", "", "client_replay_concurrency")
	f.addString(opts, "cert-passphrase", "", "cert_passphrase")
	f.addString(opts, "key-size", "", "key_size")
	f.addList(opts, "ignore-hosts", "", "ignore_hosts")
	f.addList(opts, "allow-hosts", "", "allow_hosts")
	f.addList(opts, "tcp-hosts", "", "tcp_hosts")
	f.addList(opts, "certs", "", "certs")
	f.addList(opts, "client-replay", "C", "client_replay")
	f.addList(opts, "server-replay", "S", "server_replay")
	f.addList(opts, "map-remote", "M", "map_remote")
	f.addList(opts, "map-local", "", "map_local")
	f.addList(opts, "modify-body", "B", "modify_body")
	f.addList(opts, "modify-headers", "H", "modify_headers")
	f.addList(opts, "block-list", "", "block_list")
	f.addBool(opts, "ssl-insecure", "k", "ssl_insecure")
	// mitmweb's flags, where its options are its own (not another tool's).
	for _, fl := range [][2]string{{"web-port", "web_port"}, {"web-host", "web_host"}, {"intercept", "intercept"}} {
		if o, _, ok := opts.Lookup(fl[1]); ok && !o.Ignored {
			f.addString(opts, fl[0], "", fl[1])
		}
	}
	// Every other boolean option gets --NAME and --no-NAME, as mitmproxy.
	for _, name := range opts.Names() {
		o, _, _ := opts.Lookup(name)
		// Other tools' options have no flags here (--set takes them).
		if o.Kind == addon.Bool && !o.Ignored {
			fl := strings.ReplaceAll(name, "_", "-")
			if fs.Lookup(fl) == nil && fs.Lookup("no-"+fl) == nil {
				f.addBool(opts, fl, "", name)
			}
		}
	}
	return f
}

func (f *flagSet) help(opts *addon.Options, name string) string {
	o, _, ok := opts.Lookup(name)
	if !ok {
		return "option " + name
	}
	return o.Help
}

func (f *flagSet) addString(opts *addon.Options, flag, short, option string) {
	v := new(string)
	f.fs.StringVarP(v, flag, short, "", f.help(opts, option))
	f.simple[flag], f.vals[flag] = option, v
	f.setMetavar(flag, option)
}

func (f *flagSet) addList(opts *addon.Options, flag, short, option string) {
	v := new([]string)
	f.fs.StringArrayVarP(v, flag, short, nil, f.help(opts, option))
	f.lists[flag], f.lvals[flag] = option, v
	f.setMetavar(flag, option)
}

// metavars are mitmproxy's placeholders (tools/cmdline.py); other flags
// show the option's name in capitals, as argparse does.
var metavars = map[string]string{
	"rfile": "PATH", "stickycookie": "FILTER", "stickyauth": "FILTER", "save_stream_file": "PATH",
	"listen_host": "HOST", "listen_port": "PORT", "ignore_hosts": "HOST", "allow_hosts": "HOST", "tcp_hosts": "HOST",
	"upstream_auth": "USER:PASS", "proxyauth": "SPEC", "certs": "SPEC", "cert_passphrase": "PASS",
	"client_replay": "PATH", "server_replay": "PATH", "map_remote": "PATTERN", "map_local": "PATTERN",
	"modify_body": "PATTERN", "modify_headers": "PATTERN", "confdir": "PATH", "block_list": "PATTERN",
	"save_stream_filter": "FILTER", "readfile_filter": "FILTER", "dumper_filter": "FILTER",
	"stream_large_bodies": "SIZE", "body_size_limit": "SIZE", "key_size": "BITS",
	"web_port": "PORT", "web_host": "HOST", "intercept": "FILTER",
}

func (f *flagSet) setMetavar(flag, option string) {
	if m, ok := metavars[option]; ok {
		f.metavar[flag] = m
		return
	}
	f.metavar[flag] = strings.ToUpper(option)
}

// usage writes the flags with their placeholders and help, in two columns
// as mitmproxy's argparse help: a long flag's help starts on the next line.
func (f *flagSet) usage(w io.Writer) {
	const col, width = 24, 79
	var sb strings.Builder
	name := f.name
	if name == "" {
		name = "mitmdump"
	}
	sb.WriteString("usage: " + name + " [options] [filter ...]\n\npositional arguments:\n")
	line := func(left, help string) {
		sb.WriteString("  " + left)
		lines := textwrap.Wrap(help, width-col)
		if len(lines) == 0 {
			sb.WriteString("\n")
			return
		}
		if len(left)+2 <= col-2 {
			sb.WriteString(strings.Repeat(" ", col-2-len(left)))
		} else {
			sb.WriteString("\n" + strings.Repeat(" ", col))
		}
		sb.WriteString(lines[0] + "\n")
		for _, l := range lines[1:] {
			sb.WriteString(strings.Repeat(" ", col) + l + "\n")
		}
	}
	line("filter", "Filter expression, equivalent to setting the dumper_filter, save_stream_filter and readfile_filter options.")
	sb.WriteString("\noptions:\n")
	line("-h, --help", "show this help message and exit")
	f.fs.VisitAll(func(fl *pflag.Flag) {
		left := "--" + fl.Name
		if fl.Shorthand != "" {
			left = "-" + fl.Shorthand + ", " + left
		}
		if mv := f.metavar[fl.Name]; mv != "" {
			left += " " + mv
		}
		line(left, fl.Usage)
	})
	fmt.Fprint(w, sb.String())
}

func (f *flagSet) addBool(opts *addon.Options, flag, short, option string) {
	v, nv := new(bool), new(bool)
	f.fs.BoolVarP(v, flag, short, false, f.help(opts, option))
	if f.fs.Lookup("no-"+flag) == nil {
		f.fs.BoolVar(nv, "no-"+flag, false, "disable "+option)
	}
	f.bools[flag], f.bvals[flag], f.nvals[flag] = option, v, nv
}

// specs turns the flags that were given into "name=value" option specs, in
// a fixed order; the CLI applies them after config.yaml.
func (f *flagSet) specs() ([]string, error) {
	var specs []string
	changed := func(name string) bool { return f.fs.Changed(name) }
	for flag, option := range f.simple {
		if changed(flag) {
			v := *f.vals[flag]
			if flag == "listen-port" {
				if _, err := strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("invalid port %q for -p/--listen-port", v)
				}
			}
			specs = append(specs, option+"="+v)
		}
	}
	for flag, option := range f.lists {
		if changed(flag) {
			for _, v := range *f.lvals[flag] {
				specs = append(specs, option+"="+v)
			}
		}
	}
	for flag, option := range f.bools {
		if changed(flag) && *f.bvals[flag] {
			specs = append(specs, option+"=true")
		}
		if changed("no-"+flag) && *f.nvals[flag] {
			specs = append(specs, option+"=false")
		}
	}
	for _, s := range f.scripts {
		specs = append(specs, "scripts="+s)
	}
	for _, m := range f.modes {
		specs = append(specs, "mode="+m)
	}
	if f.noServer {
		specs = append(specs, "server=false")
	}
	specs = append(specs, f.sets...)
	// Verbosity flags last, as mitmproxy applies them over the rest.
	if f.detail > 0 {
		specs = append(specs, fmt.Sprintf("flow_detail=%d", min(1+f.detail, 4)))
	}
	if f.flowDetail >= 0 {
		specs = append(specs, fmt.Sprintf("flow_detail=%d", f.flowDetail))
	}
	if f.quiet {
		specs = append(specs, "termlog_verbosity=error", "flow_detail=0")
	}
	if f.verbose {
		specs = append(specs, "termlog_verbosity=debug", "flow_detail=2")
	}
	return specs, nil
}
