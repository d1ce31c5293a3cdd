// Package testutil starts the real mitmdump binary and small origins on
// 127.0.0.1 for end-to-end tests.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// RepoRoot returns the module root (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds cmd/mitmdump once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := BinDir("mitmgo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mitmdump")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/mitmdump")...)
		cmd.Dir = RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/mitmdump: %v\n%s", err, out)
			return
		}
		statSources(RepoRoot())
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// statSources looks at every file the binary is built from. go test caches
// a package's result keyed on the package's own dependencies and on the
// files its tests open or stat; the binary is built by a subprocess, so
// without this, a change elsewhere in the module (in proxy/, say) would
// leave the cached result of an end-to-end test standing.
func statSources(root string) {
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") ||
			strings.HasSuffix(name, ".py") || name == "go.mod" || name == "go.sum" {
			_, _ = os.Stat(path)
		}
		return nil
	})
}

// SyncBuffer is a bytes.Buffer safe for a writer goroutine and readers
// (a process's output, a server's error log).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Mitmdump is a running mitmdump process.
type Mitmdump struct {
	// Addr is the proxy's host:port.
	Addr   string
	Cmd    *exec.Cmd
	stdout SyncBuffer
	stderr SyncBuffer
	done   chan struct{}
	exit   int
}

// listenRe finds the line a proxy server writes once it listens ("HTTP(S)
// proxy listening at 127.0.0.1:8080.", "reverse proxy to http://x
// listening at ...", "DNS server listening at ..."): one per mode, the
// first mode's first.
var listenRe = regexp.MustCompile(`(?m)^(?:\[[^\]]*\] )?(.+) listening at (\S+?)\.?\n`)

// Options for StartMitmdumpWith.
type Options struct {
	// Dir is the working directory (default: a temporary one).
	Dir string
	// Env is added to the environment.
	Env []string
	// NoListen: do not wait for the listening line (e.g. with -n).
	NoListen bool
}

// StartMitmdump starts mitmdump on 127.0.0.1 with an ephemeral port, a
// private confdir, and args, and waits until it listens.
func StartMitmdump(t testing.TB, args ...string) *Mitmdump {
	return StartMitmdumpWith(t, Options{}, args...)
}

// StartMitmdumpWith is StartMitmdump with options.
func StartMitmdumpWith(t testing.TB, o Options, args ...string) *Mitmdump {
	t.Helper()
	bin := Binary(t)
	port := freePort(t)
	base := []string{"--listen-host", "127.0.0.1", "-p", port, "--set", "confdir=" + t.TempDir()}
	cmd := exec.Command(bin, append(base, args...)...)
	if o.Dir != "" {
		cmd.Dir = o.Dir
	} else {
		cmd.Dir = t.TempDir()
	}
	// A -race binary sleeps a second before exiting unless told not to;
	// o.Env may still set GORACE (the last value wins).
	cmd.Env = append(append(os.Environ(), "GORACE=atexit_sleep_ms=0"), o.Env...)
	md := &Mitmdump{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &md.stdout
	cmd.Stderr = &md.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mitmdump: %v", err)
	}
	go func() {
		err := cmd.Wait()
		md.exit = 0
		if err != nil {
			md.exit = -1
			if ee, ok := err.(*exec.ExitError); ok {
				md.exit = ee.ExitCode()
			}
		}
		close(md.done)
	}()
	t.Cleanup(func() {
		select {
		case <-md.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-md.done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-md.done
			}
		}
		if strings.Contains(md.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector reported a data race in mitmdump")
		}
		if t.Failed() {
			t.Logf("mitmdump stdout:\n%s\nmitmdump stderr:\n%s", md.stdout.String(), md.stderr.String())
		}
	})
	if o.NoListen {
		return md
	}
	// Wait until the proxy accepts connections (the listening line is not
	// printed with -q).
	md.Addr = net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRe.FindStringSubmatch(md.Output()); m != nil {
			md.Addr = strings.Replace(m[2], "*", "127.0.0.1", 1)
			return md
		}
		if c, err := net.DialTimeout("tcp", md.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return md
		}
		select {
		case <-md.done:
			t.Fatalf("mitmdump exited with %d before listening:\n%s", md.exit, md.Output())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("mitmdump did not start listening:\n%s", md.Output())
	return nil
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) string {
	_, port, _ := net.SplitHostPort(UnusedAddr(t))
	return port
}

// UnusedAddr is a loopback address nothing listened on a moment ago: a
// server that refuses connections.
func UnusedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Listening returns the address (a "*" host made 127.0.0.1) of the proxy
// server whose listening line names description, as mitmproxy 12 names
// its modes: "HTTP(S) proxy", "SOCKS v5 proxy", "reverse proxy to
// http://127.0.0.1:8000", ... It waits for the line a few seconds (every
// mode listens before the first serves).
func (m *Mitmdump) Listening(t testing.TB, description string) string {
	t.Helper()
	var addr string
	found := Poll(10*time.Second, func() bool {
		for _, l := range listenRe.FindAllStringSubmatch(m.Output(), -1) {
			if l[1] == description {
				addr = strings.Replace(l[2], "*", "127.0.0.1", 1)
				return true
			}
		}
		return false
	})
	if !found {
		t.Fatalf("no %q listening at ... line in mitmdump's output:\n%s", description, m.Output())
	}
	return addr
}

// Output is everything mitmdump wrote so far, stdout then stderr.
func (m *Mitmdump) Output() string { return m.stdout.String() + m.stderr.String() }

// Stdout is what mitmdump wrote to stdout so far.
func (m *Mitmdump) Stdout() string { return m.stdout.String() }

// Stderr is what mitmdump wrote to stderr so far.
func (m *Mitmdump) Stderr() string { return m.stderr.String() }

// WaitOutput waits until the output contains substr.
func (m *Mitmdump) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	if !Poll(timeout, func() bool { return strings.Contains(m.Output(), substr) }) {
		t.Fatalf("mitmdump output does not contain %q after %s:\n%s", substr, timeout, m.Output())
	}
}

// Wait waits for the process to exit and returns its exit status.
func (m *Mitmdump) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-m.done:
		return m.exit
	case <-time.After(timeout):
		t.Fatalf("mitmdump did not exit within %s:\n%s", timeout, m.Output())
	}
	return -1
}

// Stop sends SIGINT and returns the exit status.
func (m *Mitmdump) Stop(t testing.TB) int {
	t.Helper()
	select {
	case <-m.done:
		return m.exit
	default:
	}
	_ = m.Cmd.Process.Signal(syscall.SIGINT)
	return m.Wait(t, 15*time.Second)
}

// ProxyURL is the proxy's URL for clients.
func (m *Mitmdump) ProxyURL() *url.URL { return &url.URL{Scheme: "http", Host: m.Addr} }

// Client returns an HTTP client that uses the proxy.
func (m *Mitmdump) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(m.ProxyURL()), DisableCompression: true},
		Timeout:   30 * time.Second,
	}
}

// Dial opens a raw TCP connection to the proxy.
func (m *Mitmdump) Dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", m.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
