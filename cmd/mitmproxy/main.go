// Command mitmproxy is mitmgo's console: mitmdump's proxy, flags, options
// and scripts, with the flows in a full-screen terminal UI (package
// console) instead of the flow dump. Log lines go to the UI's event log
// once it runs, and to standard error before it starts (a start-up error).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/console"
	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/internal/tty"
)

func main() {
	env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(runTool(os.Args[1:], env, os.Stdin, os.Stdout, true))
}

// run is mitmproxy on a given terminal (tests: a pipe and a buffer).
func run(args []string, env cli.Env, in io.Reader, out io.Writer) int {
	return runTool(args, env, in, out, false)
}

// switchWriter sends the log to standard error until the UI takes the
// terminal, and drops it from then on (the event log has it).
type switchWriter struct {
	mu  sync.Mutex
	w   io.Writer
	off bool
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off || s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *switchWriter) set(off bool) {
	s.mu.Lock()
	s.off = off
	s.mu.Unlock()
}

// runTool is mitmproxy: mitmdump's command line with the view and the
// console. The UI starts once the proxy runs (the running hook) on in/out;
// leaving it (Q, or q then y) shuts the master down, and a signal that stops
// the master ends the UI and restores the terminal. With needTTY, output
// that is not a terminal is an error, as in mitmproxy.
func runTool(args []string, env cli.Env, in io.Reader, out io.Writer, needTTY bool) int {
	c := console.New()
	c.Input, c.Output = in, out
	if env.Signals == nil {
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		done := make(chan struct{})
		defer close(done)
		env.Signals = consoleSignals(sigs, c.External, done)
	}
	log := &switchWriter{w: env.Stderr}
	uiDone := make(chan struct{})
	var master *mitmgo.Master
	var startOnce sync.Once
	started := false
	var noTTY atomic.Bool
	c.OnRunning = func() {
		if needTTY && !tty.IsTerminal(out) {
			noTTY.Store(true)
			fmt.Fprintln(env.Stderr, "Error: mitmproxy's console interface requires a tty. "+
				"Please run mitmproxy in an interactive shell environment.")
			master.Shutdown()
			return
		}
		startOnce.Do(func() {
			started = true
			log.set(true)
			go func() {
				defer close(uiDone)
				if err := c.Run(); err != nil {
					// No UI (no terminal): say why, and log to standard
					// error again.
					log.set(false)
					fmt.Fprintf(env.Stderr, "mitmproxy: %v\n", err)
				}
				// What the shutdown logs stays in the event log, as
				// mitmproxy writes nothing once its UI is gone.
				if master != nil {
					master.Shutdown()
				}
			}()
		})
	}
	env.Stdout = log
	env.IsTerminal = func(io.Writer) bool { return false }
	code := cli.MainTool(args, env, cli.Tool{
		Name:   "mitmproxy",
		Config: mitmgo.Config{View: true, Addons: []any{c}},
		Attach: func(m *mitmgo.Master) error {
			master = m
			return c.Attach(m)
		},
	})
	startOnce.Do(func() {})
	if started {
		c.Stop()
		<-uiDone
	}
	if noTTY.Load() && code == 0 {
		return 1
	}
	return code
}

// consoleSignals passes the shutdown signals of in on, but for SIGINT while
// an external program has the terminal (external): the terminal sends a
// Ctrl-C typed in $EDITOR or $PAGER to mitmproxy as well, and it is that
// program's, as in mitmproxy. It stops when done is closed.
func consoleSignals(in <-chan os.Signal, external func() bool, done <-chan struct{}) <-chan os.Signal {
	out := make(chan os.Signal, 1)
	go func() {
		for {
			select {
			case s := <-in:
				if s == os.Interrupt && external() {
					continue
				}
				select {
				case out <- s:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return out
}
