package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// wsDialDirect opens a WebSocket connection to the origin without a proxy.
func wsDialDirect(tb testing.TB, o *wsOrigin) *wsPeer {
	tb.Helper()
	c, err := net.Dial("tcp", o.hostPort())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET /bench HTTP/1.1\r\nHost: "+o.hostPort()+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	return newWSPeer(c, br, websocket.Client, nil)
}

// wsPump sends n binary messages of size bytes as fast as the connection
// takes them while reading their echoes, and returns how long until the
// last echo arrived.
func wsPump(tb testing.TB, c *wsPeer, size, n int) time.Duration {
	tb.Helper()
	c.conn.SetDeadline(time.Now().Add(5 * time.Minute))
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i)
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for range n {
			if err := c.w.WriteMessage(websocket.OpBinary, msg, nil); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range n {
		ev, err := c.r.Next()
		if err != nil || len(ev.Payload) != size {
			tb.Fatalf("echo %d: %v, %d bytes", i, err, len(ev.Payload))
		}
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// forgetMessages keeps a WebSocket flow from holding every message, so that
// a long benchmark measures the relay, not the memory it fills.
type forgetMessages struct{}

// KeepsFlows is false: it keeps no flow (see addon.FlowKeeper), so the
// proxy recycles message buffers as in mitmdump.
func (forgetMessages) KeepsFlows() bool { return false }

func (forgetMessages) WebSocketMessage(f *flow.HTTPFlow) {
	if n := len(f.WebSocket.Messages); n > 64 {
		f.WebSocket.Messages = append(f.WebSocket.Messages[:0], f.WebSocket.Messages[n-1])
	}
}

// BenchmarkWebSocket: echoed binary messages on one connection, pipelined,
// directly and through an in-process proxy.
func BenchmarkWebSocket(b *testing.B) {
	for _, size := range []int{100, 64 << 10} {
		for _, via := range []string{"direct", "mitmgo"} {
			b.Run(fmt.Sprintf("%s/%dB", via, size), func(b *testing.B) {
				o := startWSOriginTB(b)
				var c *wsPeer
				if via == "direct" {
					c = wsDialDirect(b, o)
				} else {
					addr := startProxyAddons(b, []any{forgetMessages{}})
					c = wsDialProxyTB(b, addr, o)
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				elapsed := wsPump(b, c, size, b.N)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			})
		}
	}
}

// startWSOriginTB is startWSOrigin's echo origin for a benchmark.
func startWSOriginTB(tb testing.TB) *wsOrigin {
	o := &wsOrigin{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			wsAccept(r.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
		p := newWSPeer(c, brw.Reader, websocket.Server, nil)
		for {
			ev, err := p.r.Next()
			if err != nil || ev.Opcode == websocket.OpClose {
				return
			}
			p.w.WriteMessage(ev.Opcode, ev.Payload, nil)
		}
	})
	o.Server = httptest.NewServer(h)
	tb.Cleanup(o.Server.Close)
	return o
}

// wsDialProxyTB opens a WebSocket connection through the proxy with an
// absolute-form request.
func wsDialProxyTB(tb testing.TB, proxyAddr string, o *wsOrigin) *wsPeer {
	tb.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET "+o.URL+"/bench HTTP/1.1\r\nHost: "+o.hostPort()+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	return newWSPeer(c, br, websocket.Client, nil)
}

// TestWebSocketThroughput prints echoed messages per second, pipelined on
// one connection, for 100 B and 64 KiB messages: directly, through
// mitmgo's mitmdump and through Debian's mitmdump (mitmproxy 8.1.1, when
// installed). It runs only with MITMGO_WSBENCH=1 (and is best run without
// -race, which the mitmdump it builds inherits). Both proxies keep every
// message in the flow, as mitmproxy does, so the counts stay bounded.
func TestWebSocketThroughput(t *testing.T) {
	if os.Getenv("MITMGO_WSBENCH") != "1" {
		t.Skip("set MITMGO_WSBENCH=1 to measure WebSocket throughput")
	}
	o := startWSOriginTB(t)
	md := testutil.StartMitmdump(t, "-q")
	proxies := map[string]string{"mitmgo": md.Addr}
	order := []string{"direct", "mitmgo"}
	if _, err := exec.LookPath("mitmdump"); err == nil {
		addr, _, _ := startDebianMitmdump(t, "-q")
		proxies["mitmproxy 8.1.1"] = addr
		order = append(order, "mitmproxy 8.1.1")
	}
	for _, tc := range []struct{ size, n int }{{100, 20000}, {64 << 10, 1000}} {
		for _, via := range order {
			var c *wsPeer
			if via == "direct" {
				c = wsDialDirect(t, o)
			} else {
				c = wsDialProxyTB(t, proxies[via], o)
			}
			wsPump(t, c, tc.size, tc.n/10) // warm-up
			elapsed := wsPump(t, c, tc.size, tc.n)
			t.Logf("%-16s %6d B: %9.0f msgs/s (%d messages in %v)", via, tc.size, float64(tc.n)/elapsed.Seconds(), tc.n, elapsed.Round(time.Millisecond))
			c.w.WriteClose(1000, "")
			c.conn.Close()
		}
	}
}
