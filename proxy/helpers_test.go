package proxy_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// serveTLS listens on 127.0.0.1 with cfg until the test ends and hands
// every connection to handle, closing it when handle returns.
func serveTLS(t testing.TB, cfg *tls.Config, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// appendLocked appends v to *list under mu: what a recording hook does.
func appendLocked[T any](mu *sync.Mutex, list *[]T, v T) {
	mu.Lock()
	defer mu.Unlock()
	*list = append(*list, v)
}

// waitList waits up to 5 s until *list, which hooks append to under mu,
// holds n items (what, for the failure), and returns a copy of it.
func waitList[T any](t *testing.T, mu *sync.Mutex, list *[]T, n int, what string) []T {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(*list) >= n
	}, "%d %s", n, what)
	mu.Lock()
	defer mu.Unlock()
	return append([]T(nil), *list...)
}

// readFlowFile reads the flows of a flow file, up to its end (or to what
// the reader cannot read).
func readFlowFile(t *testing.T, path string) []any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var flows []any
	r := flowfile.NewReader(bytes.NewReader(raw))
	for {
		d, err := r.Next()
		if err != nil {
			return flows
		}
		v, err := flow.FromState(d)
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, v)
	}
}

// needPython skips the test when python3, which mitmdump's scripts need,
// is not installed.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

// scriptDir writes scripts for mitmdump's -s (file name: source) into a
// new directory and returns it; it skips the test without python3.
func scriptDir(t *testing.T, scripts map[string]string) string {
	t.Helper()
	needPython(t)
	dir := t.TempDir()
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
