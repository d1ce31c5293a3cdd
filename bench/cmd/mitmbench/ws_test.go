package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/websocket"
)

func startWSOriginT(t *testing.T) *wsOrigin {
	t.Helper()
	o, err := startWSOrigin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.close)
	return o
}

// TestWSOrigin: the ws origin answers an upgrade request, origin-form or
// absolute-form, and echoes messages of both sizes and pings; anything
// else gets a 400.
func TestWSOrigin(t *testing.T) {
	o := startWSOriginT(t)
	for _, viaProxy := range []bool{false, true} {
		cfg := loadConfig{target: o.addr(), originAddr: o.addr()}
		if viaProxy {
			// The origin itself is the "proxy": it takes the
			// absolute-form request as a proxy passes it on.
			cfg.viaProxy = true
		}
		wc, err := cfg.dialWS(time.Now().Add(5 * time.Second))
		if err != nil {
			t.Fatalf("viaProxy=%v: %v", viaProxy, err)
		}
		for _, b := range []string{"small", "large"} {
			msg := wsMessage(wsMessageSizes[b])
			if err := wc.echo(msg); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
		if err := wc.w.WriteControl(websocket.OpPing, []byte("p")); err != nil {
			t.Fatal(err)
		}
		if ev, err := wc.rd.Next(); err != nil || ev.Opcode != websocket.OpPong || string(ev.Payload) != "p" {
			t.Fatalf("ping: %v %v", ev, err)
		}
		if want := int64(100 + 64<<10); wc.sent != want {
			t.Errorf("sent %d bytes, want %d", wc.sent, want)
		}
		wc.close()
	}
	if n := o.upgraded.Load(); n != 2 {
		t.Errorf("%d upgrades, want 2", n)
	}
	c, err := net.Dial("tcp", o.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("a plain GET got %q", line)
	}
}

// TestWSEchoMismatch: an echo that is not the message sent is an error.
func TestWSEchoMismatch(t *testing.T) {
	addr := serveOneConn(t, func(c net.Conn, br *bufio.Reader) {
		head, err := readHead(br)
		if err != nil {
			return
		}
		var key string
		for _, l := range head {
			if k, ok := strings.CutPrefix(l, "Sec-WebSocket-Key: "); ok {
				key = strings.TrimSpace(k)
			}
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(key))
		rd := websocket.NewReader(br, websocket.Server, nil)
		w := websocket.NewWriter(c, websocket.Server, nil)
		ev, err := rd.Next()
		if err == nil {
			w.WriteMessage(websocket.OpBinary, ev.Payload[:len(ev.Payload)-1], nil)
		}
		rd.Next()
	})
	cfg := loadConfig{target: addr, originAddr: addr}
	wc, err := cfg.dialWS(time.Now().Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer wc.close()
	if err := wc.echo(wsMessage(100)); err == nil || !strings.Contains(err.Error(), "99 bytes, not the 100 sent") {
		t.Errorf("echo: %v", err)
	}
}

// TestRunWS runs the ws scenario briefly, directly and through the
// tunnelling proxy, for both sizes; with a small -ws-conn-bytes the
// connections are replaced along the way.
func TestRunWS(t *testing.T) {
	o := startWSOriginT(t)
	proxy := startTunnelProxy(t)
	for _, tt := range []struct {
		body      string
		viaProxy  bool
		connBytes int64
	}{
		{"small", false, 0},
		{"large", true, 0},
		{"small", true, 1000},
	} {
		t.Run(fmt.Sprintf("%s,proxy=%v,connBytes=%d", tt.body, tt.viaProxy, tt.connBytes), func(t *testing.T) {
			cfg := loadConfig{
				scenario: scenarioWS, target: o.addr(), originAddr: o.addr(), path: "/" + tt.body,
				conns: 3, duration: 5 * time.Second, warmup: 20 * time.Millisecond, maxRequests: 200,
				ioTimeout: 5 * time.Second, wsConnBytes: tt.connBytes,
			}
			if tt.viaProxy {
				cfg.target, cfg.viaProxy = proxy.addr(), true
			}
			before := o.upgraded.Load()
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.errors != 0 || res.requests == 0 || res.requests > 200 || len(res.latencies) != int(res.requests) {
				t.Errorf("%d messages, %d errors, %d latencies", res.requests, res.errors, len(res.latencies))
			}
			if want := int64(wsMessageSizes[tt.body]) * res.requests; res.bytes != want {
				t.Errorf("%d bytes, want %d", res.bytes, want)
			}
			conns := o.upgraded.Load() - before
			if tt.connBytes == 0 && conns != 3 {
				t.Errorf("%d connections, want 3", conns)
			}
			// 1000 bytes: a new connection after every 10 messages.
			if tt.connBytes > 0 && conns < res.requests/10 {
				t.Errorf("%d connections for %d messages of 100 B, at most 1000 B each", conns, res.requests)
			}
		})
	}
	if _, err := runWS(context.Background(), loadConfig{scenario: scenarioWS, path: "/huge"}); err == nil {
		t.Error("an unknown message size was accepted")
	}
}

func TestBodyLabel(t *testing.T) {
	for _, tt := range []struct{ sc, b, want string }{
		{scenarioWS, "small", "100 B"},
		{scenarioWS, "large", "64 KiB"},
		{scenarioHTTP, "small", "small"},
		{scenarioH2, "large", "large"},
	} {
		if got := bodyLabel(tt.sc, tt.b); got != tt.want {
			t.Errorf("bodyLabel(%s, %s) = %q, want %q", tt.sc, tt.b, got, tt.want)
		}
	}
	if got := fmtSize(1500); got != "1500 B" {
		t.Errorf("fmtSize(1500) = %q", got)
	}
}

// TestWSReport: the ws table speaks of messages (msgs/s, the message size,
// proxy CPU per message), and is followed by mitmgo's msgs/s over
// mitmproxy's, the median of the rounds' ratios, with and without the
// script.
func TestWSReport(t *testing.T) {
	ms := time.Millisecond
	var rows []row
	add := func(target, body string, round int, rps float64, cpu time.Duration) {
		r := result(rps, ms, 2*ms)
		r.proxyCPU, r.hasCPU = cpu, cpu > 0
		rows = append(rows, row{target: target, scenario: scenarioWS, body: body, round: round, res: r})
	}
	for round := range 3 {
		add("direct", "small", round, 10000, 0)
		add("mitmgo", "small", round, 5000, 500*ms)
		add("mitmgo +script", "small", round, float64(3000+1000*round), time.Second)
		add("mitmproxy", "small", round, 1000, 900*ms)
		add("mitmproxy +script", "small", round, 500, 950*ms)
		add("direct", "large", round, 2000, 0)
		add("mitmgo", "large", round, 1000, 400*ms)
	}
	o := options{conns: 4, bodies: []string{"small", "large"}, scenarios: []string{scenarioWS}, rounds: 3,
		originKind: originRaw, originKey: "p256", clientKind: clientRaw}
	report := reportOf(o, rows)
	checkReport(t, report,
		"client: "+wsClientDescription,
		scenarioTitles[scenarioWS],
		"msgs/s ratio",
		"proxy CPU/msg",
		"msgs/s ratio in each round:",
		"mitmgo +script, 100 B body: 0.30 0.40 0.50 (median 0.40)",
		"msgs/s of mitmgo over mitmproxy's, in the same rounds:",
		"mitmgo / mitmproxy, 100 B: 5.00x",
		"mitmgo +script / mitmproxy +script, 100 B: 8.00x (rounds: 6.00 8.00 10.00 (median 8.00))",
		"ws: a message is one echo",
	)
	// mitmproxy has no 64 KiB runs here: no ratio for that size.
	if strings.Contains(report, "mitmproxy, 64 KiB") {
		t.Errorf("a ratio without mitmproxy runs:\n%s", report)
	}
	var mitmgoSmall string
	for _, l := range strings.Split(report, "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[0] == "mitmgo" && f[1] == "100" {
			mitmgoSmall = l
		}
	}
	// 1.5 s of CPU for 15,000 echoes: 100 µs each.
	if f := strings.Fields(mitmgoSmall); len(f) < 10 || f[2] != "B" || f[3] != "5000" || f[9] != "100µs" {
		t.Errorf("mitmgo's 100 B row: %q", mitmgoSmall)
	}
}
