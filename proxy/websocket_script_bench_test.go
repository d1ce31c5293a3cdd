package proxy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestWebSocketThroughputScript is TestWebSocketThroughput with a one-line
// Python websocket_message hook loaded (-s) in mitmgo's mitmdump and in
// Debian's (mitmproxy 8.1.1, when installed). It runs only with
// MITMGO_WSBENCH=1 and python3.
func TestWebSocketThroughputScript(t *testing.T) {
	if os.Getenv("MITMGO_WSBENCH") != "1" {
		t.Skip("set MITMGO_WSBENCH=1 to measure WebSocket throughput")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	script := filepath.Join(t.TempDir(), "hook.py")
	if err := os.WriteFile(script, []byte("def websocket_message(flow):\n    flow.websocket.messages[-1].content += b\"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startWSOriginTB(t)
	md := testutil.StartMitmdump(t, "-q", "-s", script)
	proxies := map[string]string{"mitmgo -s": md.Addr}
	order := []string{"mitmgo -s"}
	if _, err := exec.LookPath("mitmdump"); err == nil {
		addr, _, _ := startDebianMitmdump(t, "-q", "-s", script)
		proxies["mitmproxy 8.1.1 -s"] = addr
		order = append(order, "mitmproxy 8.1.1 -s")
	}
	for _, tc := range []struct{ size, n int }{{100, 5000}, {64 << 10, 500}} {
		for _, via := range order {
			c := wsDialProxyTB(t, proxies[via], o)
			wsPump(t, c, tc.size, tc.n/10) // warm-up
			elapsed := wsPump(t, c, tc.size, tc.n)
			t.Logf("%-20s %6d B: %9.0f msgs/s (%d messages in %v)", via, tc.size, float64(tc.n)/elapsed.Seconds(), tc.n, elapsed.Round(time.Millisecond))
			c.w.WriteClose(1000, "")
			c.conn.Close()
		}
	}
}
