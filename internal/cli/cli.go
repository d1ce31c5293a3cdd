// Package cli is mitmdump's command line: flags to options, then the front
// door (package mitmgo) assembles, starts and stops the proxy. Everything
// that is not about the command line lives there, so that mitmweb and the
// console share it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/mitmgo/mitmgo"
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

// Tool is what a command other than mitmdump changes in its assembly
// (mitmweb): its name in messages, and its front-door configuration.
type Tool struct {
	// Name prefixes error messages ("mitmweb: ...").
	Name string
	// Config is the tool's front-door configuration; Out, Color and Stdin
	// are filled in from Env.
	Config mitmgo.Config
	// Attach, when set, is given the assembled master before the command
	// line is applied (a tool's addons that need the view or commands).
	Attach func(m *mitmgo.Master) error
}

// Main runs mitmdump with args and returns the exit status.
func Main(args []string, env Env) int {
	return MainTool(args, env, Tool{Name: "mitmdump", Config: mitmgo.Config{Dump: true}})
}

// MainTool runs a tool built like mitmdump (the same flags, options and
// start-up) with args and returns the exit status.
func MainTool(args []string, env Env, tool Tool) int {
	cfg := tool.Config
	cfg.Out, cfg.Color, cfg.Stdin = env.Stdout, env.isTerminal(env.Stdout), env.Stdin
	m, err := mitmgo.New(cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", tool.Name, err)
		return 1
	}
	if tool.Attach != nil {
		if err := tool.Attach(m); err != nil {
			_ = m.Close()
			fmt.Fprintf(env.Stderr, "%s: %v\n", tool.Name, err)
			return 1
		}
	}
	// Whatever happens, the addons are told that mitmdump is done (a
	// script host started while configuring stops).
	defer m.Close()

	flags := newFlagSet(m.Options)
	flags.name = tool.Name
	flags.fs.SetOutput(env.Stderr)
	flags.fs.Usage = func() { flags.usage(env.Stderr) }
	if err := flags.fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.Stderr, "%s: %v\nRun %s --help for the flags, or --options for every option.\n", tool.Name, err, tool.Name)
		return 2
	}
	if flags.version {
		fmt.Fprintf(env.Stdout, "mitmgo %s %s\nGo:       %s\nPlatform: %s/%s\n", tool.Name, proxy.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if flags.options {
		fmt.Fprint(env.Stdout, m.Options.Dump())
		return 0
	}

	specs, err := flags.specs()
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", tool.Name, err)
		return 2
	}
	if filter := strings.Join(flags.fs.Args(), " "); filter != "" {
		// A positional filter sets the dump, save and read filters at once.
		for _, name := range []string{"dumper_filter", "save_stream_filter", "readfile_filter"} {
			specs = append(specs, name+"="+filter)
		}
	}
	if flags.commands {
		// As mitmproxy: quiet, and with the scripts loaded, so that
		// their commands are listed too.
		specs = append(specs, "termlog_verbosity=error", "flow_detail=0")
	}
	if err := m.Setup(specs); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", tool.Name, err)
		return 2
	}
	if flags.commands {
		if err := m.Commands.Dump(env.Stdout); err != nil {
			return 1
		}
		return 0
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := env.Signals
	if sig == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sig = ch
	}
	go func() {
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
		}
	}()
	return exitStatus(m.Run(ctx), env.Stderr, tool.Name)
}

// exitStatus prints what Run returned that is not in the log already and
// returns the exit status.
func exitStatus(err error, stderr io.Writer, name string) int {
	if err == nil {
		return 0
	}
	for _, e := range flatten(err) {
		var se *mitmgo.StartupError
		var le *mitmgo.LoggedError
		switch {
		case errors.As(e, &se):
			fmt.Fprintln(stderr, se.Error())
		case errors.As(e, &le):
		default:
			fmt.Fprintf(stderr, "%s: %v\n", name, e)
		}
	}
	return 1
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ExpandHome replaces a leading "~" with the user's home directory.
func ExpandHome(p string) string { return mitmgo.ExpandHome(p) }
