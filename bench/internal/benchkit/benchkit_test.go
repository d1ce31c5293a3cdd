package benchkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

func TestFreePortAndWaitListen(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d", port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if !Dialable(addr) {
		t.Errorf("Dialable(%s) = false while listening", addr)
	}
	if err := WaitListen(addr, time.Second); err != nil {
		t.Errorf("WaitListen: %v", err)
	}
	ln.Close()
	err = WaitListen(addr, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "nothing listens on "+addr) {
		t.Errorf("WaitListen on a closed port: %v", err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, in string
		state    string
		cpu      time.Duration
	}{
		{"plain", "42 (sleep) S 1 42 42 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0", "S", 100 * time.Millisecond},
		{"spaces and parens in name", "42 (a) b (c) R 7 42 42 0 -1 0 0 0 0 0 250 50 0 0", "R", 3 * time.Second},
		{"short", "42 (x) S 1", "S", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseStat(tt.in)
			if len(f) == 0 || f[0] != tt.state {
				t.Fatalf("fields %q, want state %s", f, tt.state)
			}
			if got := statCPU(f); got != tt.cpu {
				t.Errorf("cpu %s, want %s", got, tt.cpu)
			}
		})
	}
	if f := parseStat("garbage"); f != nil {
		t.Errorf("parseStat(garbage) = %q", f)
	}
}

func TestParseRSS(t *testing.T) {
	status := "Name:\tx\nVmPeak:\t  9999 kB\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\nThreads:\t3\n"
	cur, peak := parseRSS(status)
	if cur != 1024<<10 || peak != 2048<<10 {
		t.Errorf("parseRSS = %d, %d", cur, peak)
	}
	if cur, peak := parseRSS(""); cur != 0 || peak != 0 {
		t.Errorf("parseRSS(empty) = %d, %d", cur, peak)
	}
}

func TestProcTreeOfChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep:", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tree := ProcTree(os.Getpid())
	found := false
	for _, pid := range tree {
		found = found || pid == cmd.Process.Pid
	}
	if tree[0] != os.Getpid() || !found {
		t.Errorf("ProcTree(self) = %v, want self first and child %d", tree, cmd.Process.Pid)
	}
	if cur, peak := RSS(os.Getpid()); cur <= 0 || peak < cur {
		t.Errorf("RSS(self) = %d, %d", cur, peak)
	}
	if TreePeakRSS(os.Getpid()) <= 0 {
		t.Error("TreePeakRSS(self) = 0")
	}
	if TreeCPU(os.Getpid()) < 0 {
		t.Error("TreeCPU(self) < 0")
	}
	if cur, peak := RSS(-1); cur != 0 || peak != 0 {
		t.Errorf("RSS(-1) = %d, %d", cur, peak)
	}
}

func TestModuleRoot(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := ModuleRoot(sub)
	if err != nil || root != dir {
		t.Errorf("ModuleRoot(%s) = %q, %v; want %s", sub, root, err, dir)
	}
	// From the file system's root up there is no go.mod (nor in a temp dir).
	if _, err := ModuleRoot("/"); !errors.Is(err, ErrNoModule) {
		t.Errorf("ModuleRoot(/) error %v, want ErrNoModule", err)
	}
}

func TestBuildToolError(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := BuildTool(context.Background(), dir, t.TempDir(), "nosuch")
	if err == nil || !strings.Contains(err.Error(), "go build ./cmd/nosuch") {
		t.Errorf("BuildTool of a missing command: %v", err)
	}
}

func TestWriteFlows(t *testing.T) {
	for _, v := range []int{flowfile.Version21, flowfile.Version17} {
		path := filepath.Join(t.TempDir(), "flows")
		client := LoopbackClient()
		server := flow.NewServer(flow.Address{Host: "127.0.0.1", Port: 1})
		err := WriteFlows(path, 5, v, func(i int) (*flow.HTTPFlow, error) {
			req, err := flow.NewRequest("GET", "http://127.0.0.1:1/f/"+string(rune('a'+i)), nil, flow.NewHeaders("Host", "127.0.0.1:1"))
			if err != nil {
				return nil, err
			}
			fl := flow.NewHTTPFlow(client, server)
			fl.Request = req
			fl.Response = flow.NewResponse(200, []byte("ok\n"), flow.NewHeaders())
			return fl, nil
		})
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		flows, err := flowfile.ReadAll(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("version %d: read back: %v", v, err)
		}
		if len(flows) != 5 {
			t.Errorf("version %d: %d flows, want 5", v, len(flows))
		}
	}
}

func TestWriteFlowsError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows")
	boom := errors.New("boom")
	err := WriteFlows(path, 3, flowfile.Version21, func(i int) (*flow.HTTPFlow, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("WriteFlows error %v, want boom", err)
	}
	if err := WriteFlows(filepath.Join(t.TempDir(), "no", "such"), 1, flowfile.Version21, nil); err == nil {
		t.Error("WriteFlows into a missing directory: no error")
	}
}

func TestStartOrigin(t *testing.T) {
	addr, stop, err := StartOrigin("hello\n")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("a=1"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello\n" || resp.ContentLength != 6 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("got %d %q len %d type %q", resp.StatusCode, b, resp.ContentLength, resp.Header.Get("Content-Type"))
	}
}
