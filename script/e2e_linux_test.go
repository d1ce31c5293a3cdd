package script_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/script"
)

// End-to-end tests of the script host's life and death with the real
// mitmdump (Linux: they look at processes in /proc).

// loopScript's request handler never returns.
const loopScript = `from mitmproxy import ctx

def request(flow):
    ctx.log.info("looping on " + flow.request.path)
    while True:
        pass
`

// pythonChild returns the pid of the script host, mitmdump's python3 child.
func pythonChild(t *testing.T, parent int) int {
	t.Helper()
	var pid int
	testutil.Eventually(t, 10*time.Second, func() bool {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if ppid, comm, _ := procStat(n); ppid == parent && strings.HasPrefix(comm, "python") {
				pid = n
				return true
			}
		}
		return false
	}, "mitmdump (pid %d) has no python child", parent)
	// If a test fails with the child still there, it must not outlive it.
	t.Cleanup(func() {
		if processAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// procStat reads the parent, command name and state of a process.
func procStat(pid int) (ppid int, comm, state string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", ""
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return 0, "", ""
	}
	f := strings.Fields(string(b[j+1:]))
	if len(f) < 2 {
		return 0, "", ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, string(b[i+1 : j]), f[0]
}

// processAlive: a zombie (killed, not yet reaped by its new parent) is dead.
func processAlive(pid int) bool {
	_, _, state := procStat(pid)
	return state != "" && state != "Z" && state != "X"
}

func waitGone(t *testing.T, pid int, timeout time.Duration, why string) {
	t.Helper()
	testutil.Eventually(t, timeout, func() bool { return !processAlive(pid) }, "the python3 child %d is still running %s", pid, why)
}

// startLooping starts mitmdump with loopScript and a request stuck in it;
// it returns mitmdump and the script host's pid.
func startLooping(t *testing.T, env ...string) (*testutil.Mitmdump, int) {
	t.Helper()
	dir := seedDir(t, map[string]string{"loop.py": loopScript})
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir, Env: env}, "-s", "loop.py")
	child := pythonChild(t, md.Cmd.Process.Pid)
	go func() {
		// Fails when mitmdump goes.
		if resp, err := md.Client().Get("http://" + testutil.UnusedAddr(t) + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	md.WaitOutput(t, "looping on /stuck", 10*time.Second)
	return md, child
}

// TestE2EKill9LeavesNoPython: the script host dies with mitmdump, even
// killed with SIGKILL while a handler loops. Both ways work on their own:
// the parent-death signal (here alone, the host's watchdog turned off),
// and the watchdog, which sees its input pipe close.
func TestE2EKill9LeavesNoPython(t *testing.T) {
	needScripts(t)
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"default", nil},
		{"parent-death signal alone", []string{"MITMGO_HOST_WATCHDOG=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			md, child := startLooping(t, tc.env...)
			if err := md.Cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			waitGone(t, child, 10*time.Second, "after kill -9 of mitmdump")
		})
	}
}

// TestE2EStuckHookShutdown: a handler that never returns does not keep
// mitmdump from shutting down on SIGINT or SIGTERM: after the grace period
// the script host is stopped and the flow killed. (The master must tell
// the addon that shutdown began: script.Config.Stopping.)
func TestE2EStuckHookShutdown(t *testing.T) {
	needScripts(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			md, child := startLooping(t)
			start := time.Now()
			if err := md.Cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			md.Wait(t, script.DefaultShutdownGrace+15*time.Second)
			if took, max := time.Since(start), script.DefaultShutdownGrace+5*time.Second; took > max {
				t.Errorf("mitmdump took %s to exit, want at most %s", took, max)
			}
			waitGone(t, child, 5*time.Second, "after mitmdump exited")
			out := md.Output()
			if !strings.Contains(out, "in script loop.py: the Python script host was stopped because mitmgo is shutting down "+
				"while the request hook was in progress") {
				t.Errorf("the log does not say why the flow was killed:\n%s", out)
			}
			if strings.Contains(out, "exited unexpectedly") {
				t.Errorf("the stop was taken for a crash:\n%s", out)
			}
		})
	}
}

var listening = regexp.MustCompile(`proxy listening at (\S+?)\.?\n`)

// TestE2EProcessGroupSIGTERM: SIGTERM to mitmdump's whole process group,
// as `timeout` sends it, reaches the script host too. The host leaves its
// end to mitmdump, which shuts down in order: the scripts' done() runs, and
// nothing is taken for a crash.
func TestE2EProcessGroupSIGTERM(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, map[string]string{"tag.py": `from mitmproxy import ctx

def request(flow):
    flow.request.headers["x-tag"] = "tagged"

def done():
    ctx.log.info("tag.py done")
`})
	cmd := exec.Command(testutil.Binary(t), "--listen-host", "127.0.0.1", "-p", "0",
		"--set", "confdir="+filepath.Join(dir, "conf"), "-s", "tag.py")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mitmdump output:\n%s", out.String())
		}
		select {
		case <-exited:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	var addr string
	testutil.Eventually(t, 30*time.Second, func() bool {
		m := listening.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, "mitmdump does not listen:\n%s", out.String())
	child := pythonChild(t, cmd.Process.Pid)

	// The script works.
	origin := htmlOrigin(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", origin, strings.TrimPrefix(origin, "http://"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var resp bytes.Buffer
	resp.ReadFrom(c)
	c.Close()
	if !strings.Contains(resp.String(), "an html page") {
		t.Fatalf("response through mitmdump: %q", resp.String())
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("mitmdump: %v", waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("mitmdump did not exit after SIGTERM")
	}
	waitGone(t, child, 5*time.Second, "after mitmdump exited")
	if s := out.String(); strings.Contains(s, "exited unexpectedly") || strings.Contains(s, "restart") {
		t.Errorf("the host's end was taken for a crash:\n%s", s)
	}
	if s := out.String(); !strings.Contains(s, "tag.py done") {
		t.Errorf("the script's done() did not run:\n%s", s)
	}
}
