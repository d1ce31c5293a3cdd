package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
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

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
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
	port, err := freePort()
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
		tree := procTree(p.cmd.Process.Pid)
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
func (p *proxyProc) peakRSS() int64 { return treePeakRSS(p.cmd.Process.Pid) }

// treePeakRSS sums the peak RSS of process pid and its descendants.
func treePeakRSS(root int) int64 {
	var sum int64
	for _, pid := range procTree(root) {
		sum += vmHWM(pid)
	}
	return sum
}

func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// cpuTime is the CPU time (user + system) the proxy and its descendants
// have used so far; 0 where /proc does not tell.
func (p *proxyProc) cpuTime() time.Duration { return treeCPU(p.cmd.Process.Pid) }

// treeCPU is the CPU time process pid and its descendants have used.
func treeCPU(root int) time.Duration {
	var sum time.Duration
	for _, pid := range procTree(root) {
		if f := procStat(pid); len(f) >= 13 {
			sum += ticks(f[11]) + ticks(f[12])
		}
	}
	return sum
}

// ticks converts clock ticks to time, assuming the usual 100 a second.
func ticks(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * 10 * time.Millisecond
}

// procStat returns the fields of /proc/PID/stat after the command name
// (which may hold spaces), so field 0 is the state and field 1 the parent.
func procStat(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procTree returns root and all its live descendants, found through the
// parent of every process in /proc; just root where /proc cannot be read.
func procTree(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f := procStat(pid); len(f) >= 2 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

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
	root, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(root + "/cmd/mitmdump"); err != nil {
		return "", fmt.Errorf("no cmd/mitmdump in %s: %w", root, err)
	}
	bin := outDir + "/mitmdump"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mitmdump")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mitmdump: %w\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(d + "/go.mod"); err == nil {
			return d, nil
		}
		parent := d[:max(strings.LastIndexByte(d, '/'), 0)]
		if parent == "" || parent == d {
			return "", errors.New("not inside a Go module (use -mitmgo-bin)")
		}
		d = parent
	}
}
