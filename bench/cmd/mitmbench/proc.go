package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// proxyProc is a proxy started by the harness.
type proxyProc struct {
	name    string
	cmd     *exec.Cmd
	addr    string
	startup time.Duration
	out     *bytes.Buffer
	exited  chan struct{}
	// stopSignal asks the proxy to exit; nil means SIGINT.
	stopSignal os.Signal
}

// procOptions are what some starts add to a proxy's process.
type procOptions struct {
	// env is added to the environment.
	env []string
	// tee also receives the process's output (stdout and stderr).
	tee func(out io.Writer) io.Writer
	// outMax is how much of the output is kept (default 1 MiB).
	outMax int
	// extraLog, when not nil, returns a log file the process writes, for
	// the error messages.
	extraLog func() string
}

// startProxy runs bin with args plus a listen address on loopback, and
// measures the time from starting the process until it accepts a TCP
// connection.
func startProxy(ctx context.Context, name, bin string, args []string, confdir string, timeout time.Duration, opts procOptions) (*proxyProc, error) {
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	full := append([]string{"--listen-host", "127.0.0.1", "-p", strconv.Itoa(port), "--set", "confdir=" + confdir}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = append(append(os.Environ(), "HOME="+confdir), opts.env...)
	return startProcess(ctx, name, cmd, "127.0.0.1:"+strconv.Itoa(port), timeout, opts)
}

// startProcess starts cmd, which is to listen on addr, and measures the
// time from starting it until it accepts a TCP connection. If it exits or
// does not listen in time, the error carries its output and
// opts.extraLog.
func startProcess(ctx context.Context, name string, cmd *exec.Cmd, addr string, timeout time.Duration, opts procOptions) (*proxyProc, error) {
	out := &bytes.Buffer{}
	var w io.Writer = &limitedWriter{buf: out, max: cmp.Or(opts.outMax, 1<<20)}
	if opts.tee != nil {
		w = opts.tee(w)
	}
	// One writer for both: exec then writes from one goroutine at a time.
	cmd.Stdout = w
	cmd.Stderr = w
	p := &proxyProc{name: name, cmd: cmd, addr: addr, out: out, exited: make(chan struct{})}
	extraLog := opts.extraLog
	logs := func() string {
		s := out.String()
		if extraLog != nil {
			s += extraLog()
		}
		return s
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			p.startup = time.Since(began)
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before listening:\n%s", name, logs())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s within %v:\n%s", name, addr, timeout, logs())
		}
	}
}

// stop asks the proxy to exit (with stopSignal, or SIGINT as Ctrl-C
// would) and, if it has not exited within five seconds, kills it and the
// processes it started (nginx's workers do not end with their master).
func (p *proxyProc) stop() {
	if p.cmd.Process == nil {
		return
	}
	sig := p.stopSignal
	if sig == nil {
		sig = os.Interrupt
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		tree := benchkit.ProcTree(p.cmd.Process.Pid)
		p.cmd.Process.Kill()
		for _, pid := range tree[1:] {
			if child, err := os.FindProcess(pid); err == nil {
				child.Kill()
			}
		}
		<-p.exited
	}
}

// peakRSS is the sum of the high-water resident set sizes (VmHWM) of the
// proxy and its descendants (mitmgo runs scripts in a python3 child), in
// bytes; 0 where /proc does not tell. The peaks need not coincide, so the
// sum is an upper bound for a process tree.
func (p *proxyProc) peakRSS() int64 { return benchkit.TreePeakRSS(p.cmd.Process.Pid) }

// cpuTime is the CPU time (user + system) the proxy and its descendants
// have used so far; 0 where /proc does not tell.
func (p *proxyProc) cpuTime() time.Duration { return benchkit.TreeCPU(p.cmd.Process.Pid) }

// caFile is where mitmproxy (and mitmgo) keep the CA certificate in a
// confdir.
const caFile = "mitmproxy-ca-cert.pem"

// readCA adds the certificates of a PEM file to pool.
func readCA(pool *x509.CertPool, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(data) {
		return fmt.Errorf("no PEM certificate in %s", path)
	}
	return nil
}

// limitedWriter keeps at most max bytes of a proxy's output, for error
// messages.
type limitedWriter struct {
	buf *bytes.Buffer
	max int
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// buildMitmgo builds ./cmd/mitmdump of the module around dir into outDir.
func buildMitmgo(ctx context.Context, dir, outDir string) (string, error) {
	root, err := benchkit.ModuleRoot(dir)
	if err != nil {
		return "", fmt.Errorf("%w (use -mitmgo-bin)", err)
	}
	if _, err := os.Stat(root + "/cmd/mitmdump"); err != nil {
		return "", fmt.Errorf("no cmd/mitmdump in %s: %w", root, err)
	}
	return benchkit.BuildTool(ctx, root, outDir, "mitmdump")
}
