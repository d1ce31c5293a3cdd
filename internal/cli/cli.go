// Package cli is mitmdump's command line: flags to options, the addon chain
// in mitmproxy's order, start-up checks, the proxy's run and its shutdown.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/tty"
	"github.com/mitmgo/mitmgo/proxy"
)

// Env is the process environment the command runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals delivers shutdown requests; nil means SIGINT and SIGTERM.
	Signals <-chan os.Signal
	// IsTerminal overrides terminal detection for colour (tests).
	IsTerminal func(w io.Writer) bool
}

func (e Env) isTerminal(w io.Writer) bool {
	if e.IsTerminal != nil {
		return e.IsTerminal(w)
	}
	return tty.IsTerminal(w)
}

// startupErrors records error-level log entries until the proxy is running,
// as mitmproxy's errorcheck addon: any of them makes mitmdump exit 1.
type startupErrors struct {
	fromScript func(*addon.LogEntry) bool
	mu         sync.Mutex
	running    bool
	errs       []string
}

func (s *startupErrors) Name() string { return "errorcheck" }

func (s *startupErrors) AddLog(e *addon.LogEntry) {
	// A script's own output (ctx.log.error in the seed's logging.py) is not
	// a start-up failure; the script host logs load failures itself.
	if s.fromScript != nil && s.fromScript(e) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running && e.Level >= slog.LevelError && e.Level < addon.LevelAlert {
		s.errs = append(s.errs, e.Msg)
	}
}

func (s *startupErrors) Running() {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
}

func (s *startupErrors) failed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// Main runs mitmdump with args and returns the exit status.
func Main(args []string, env Env) int {
	m := addon.NewManager()
	opts := m.Options()
	opts.MustAdd("confdir", addon.String, "~/.mitmproxy", "Location of the default mitmproxy configuration files.")
	srv := proxy.New(m)
	errCheck := &startupErrors{}
	chain, err := buildChain(m, srv, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 1
	}
	if err := m.Add(chain...); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 1
	}
	if err := m.Add(errCheck); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 1
	}
	if a, ok := m.Get("scriptloader"); ok {
		if fs, ok := a.(interface{ FromScript(*addon.LogEntry) bool }); ok {
			errCheck.fromScript = fs.FromScript
		}
	}

	flags := newFlagSet(opts)
	flags.fs.SetOutput(env.Stderr)
	flags.fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: mitmdump [options] [filter ...]\n\n%s", flags.fs.FlagUsages())
	}
	if err := flags.fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.Stderr, "mitmdump: %v\nRun mitmdump --help for the flags, or --options for every option.\n", err)
		return 2
	}
	if flags.version {
		fmt.Fprintf(env.Stdout, "mitmgo mitmdump %s\nGo:       %s\nPlatform: %s/%s\n", proxy.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if flags.options {
		fmt.Fprint(env.Stdout, opts.Dump())
		return 0
	}

	specs, err := flags.specs()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 2
	}
	if filter := strings.Join(flags.fs.Args(), " "); filter != "" {
		// A positional filter sets the dump, save and read filters at once.
		for _, name := range []string{"dumper_filter", "save_stream_filter", "readfile_filter"} {
			if _, _, ok := opts.Lookup(name); ok {
				specs = append(specs, name+"="+filter)
			}
		}
	}
	// confdir first: config.yaml lives there, and flags override it. Set
	// all its values at once, so that only the last one takes effect (each
	// applied confdir would get a CA of its own).
	var confdirs []string
	for _, s := range specs {
		if strings.HasPrefix(s, "confdir=") {
			confdirs = append(confdirs, s)
		}
	}
	if len(confdirs) > 0 {
		if err := opts.Set(confdirs...); err != nil {
			fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
			return 2
		}
	}
	if err := opts.LoadYAML(filepath.Join(ExpandHome(opts.String("confdir")), "config.yaml")); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 2
	}
	if err := opts.Set(specs...); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 2
	}
	if err := m.ConfigureAll(); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 2
	}
	if err := opts.CheckDeferred(); err != nil {
		fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
		return 2
	}
	return run(m, srv, errCheck, env)
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

func run(m *addon.Manager, srv *proxy.Server, errCheck *startupErrors, env Env) int {
	log := m.Log()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	m.SetShutdown(stop)

	sig := env.Signals
	if sig == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sig = ch
	}

	serving := m.Options().Bool("server")
	var serveDone chan error
	if serving {
		ln, err := srv.Listen()
		if err != nil {
			fmt.Fprintf(env.Stderr, "mitmdump: %v\n", err)
			m.Done()
			return 1
		}
		log.Info(fmt.Sprintf("HTTP(S) proxy listening at %s.", proxy.ListenAddrString(ln.Addr())))
		serveDone = make(chan error, 1)
		go func() { serveDone <- srv.Serve(ln) }()
	}
	if errs := errCheck.failed(); len(errs) > 0 {
		plural := ""
		if len(errs) > 1 {
			plural = "s"
		}
		fmt.Fprintf(env.Stderr, "Error%s logged during startup:\n%s\n", plural, strings.Join(errs, "\n"))
		shutdown(srv, m)
		return 1
	}
	m.Running()

	status := 0
	// Reading a file (-r) runs beside the proxy, so a signal interrupts it.
	var readDone chan error
	if r, ok := fileRunner(m); ok {
		readDone = make(chan error, 1)
		go func() { readDone <- r.run(ctx) }()
	}
	// With -r, -C or -S (and no keepserving) the keepserving addon shuts
	// mitmdump down once that work is done. Without a server and without
	// such work there is nothing to do.
	if !serving && !m.Options().Bool("keepserving") && !exitsWhenDone(m) {
		stop()
	}
wait:
	for {
		select {
		case <-sig:
			break wait
		case <-ctx.Done():
			break wait
		case err := <-readDone:
			readDone = nil
			if err != nil {
				log.Error(err.Error())
				status = 1
			}
		case err := <-serveDone:
			if err != nil {
				log.Error(fmt.Sprintf("proxy server stopped: %v", err))
				status = 1
			}
			break wait
		}
	}
	stop()
	if readDone != nil {
		if err := <-readDone; err != nil {
			log.Error(err.Error())
			status = 1
		}
	}
	shutdown(srv, m)
	if s, ok := m.Get("save"); ok {
		if se, ok := s.(interface{ Err() error }); ok && se.Err() != nil {
			fmt.Fprintf(env.Stderr, "mitmdump: saving flows failed: %v\n", se.Err())
			status = 1
		}
	}
	return status
}

// exitsWhenDone asks the keepserving addon whether mitmdump has work (-r,
// -C, -S) after which it exits by itself.
func exitsWhenDone(m *addon.Manager) bool {
	a, ok := m.Get("keepserving")
	if !ok {
		return false
	}
	k, ok := a.(interface{ ExitsWhenDone() bool })
	return ok && k.ExitsWhenDone()
}

// shutdown stops the proxy (requests in flight get a few seconds to finish)
// and runs done on every addon.
func shutdown(srv *proxy.Server, m *addon.Manager) {
	// The script host learns first: from now on its death is expected,
	// and a hook still running when the grace ends is stopped, so that a
	// flow stuck in a script cannot hold the proxy's shutdown forever.
	if a, ok := m.Get("scriptloader"); ok {
		if s, ok := a.(interface{ BeginShutdown() }); ok {
			s.BeginShutdown()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	m.Done()
}
