package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
	"github.com/mitmgo/mitmgo/proxy"
)

// wsPeer is one end of a WebSocket connection in a test, on the codec.
type wsPeer struct {
	conn net.Conn
	r    *websocket.Reader
	w    *websocket.Writer
}

func newWSPeer(c net.Conn, br *bufio.Reader, role websocket.Role, ext *websocket.Deflate) *wsPeer {
	return &wsPeer{conn: c, r: websocket.NewReader(br, role, ext), w: websocket.NewWriter(c, role, ext)}
}

// next reads the next event, failing the test on an error.
func (p *wsPeer) next(t testing.TB) websocket.Event {
	t.Helper()
	ev, err := p.r.Next()
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return ev
}

func (p *wsPeer) text(t testing.TB, s string, fragments ...int) {
	t.Helper()
	if err := p.w.WriteMessage(websocket.OpText, []byte(s), fragments); err != nil {
		t.Fatal(err)
	}
}

// wsAccept is the Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsOrigin is a WebSocket server for the tests: it accepts handshakes
// (agreeing to permessage-deflate with the parameters in ext, when the
// client offers it and ext is not "") and runs script on each connection;
// the default script echoes messages with their fragments, answers pings
// and answers a close with the same close.
type wsOrigin struct {
	*httptest.Server
	ext    string
	script func(p *wsPeer)
	// got receives what the origin read, when it echoes.
	mu  sync.Mutex
	got []websocket.Event
}

func startWSOrigin(t *testing.T, tlsOn bool, ext string, script func(o *wsOrigin, p *wsPeer)) *wsOrigin {
	o := &wsOrigin{ext: ext}
	if script == nil {
		script = (*wsOrigin).echo
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "not a WebSocket handshake", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		var d *websocket.Deflate
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			wsAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n"
		if o.ext != "" && strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			d, _, _ = websocket.ParseExtensions(o.ext)
			head += "Sec-WebSocket-Extensions: " + o.ext + "\r\n"
		}
		io.WriteString(c, head+"\r\n")
		script(o, newWSPeer(c, brw.Reader, websocket.Server, d))
	})
	if tlsOn {
		o.Server = httptest.NewTLSServer(h)
	} else {
		o.Server = httptest.NewServer(h)
	}
	t.Cleanup(o.Server.Close)
	return o
}

func (o *wsOrigin) record(ev websocket.Event) {
	o.mu.Lock()
	o.got = append(o.got, ev)
	o.mu.Unlock()
}

func (o *wsOrigin) received() []websocket.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]websocket.Event(nil), o.got...)
}

func (o *wsOrigin) echo(p *wsPeer) {
	for {
		ev, err := p.r.Next()
		if err != nil {
			return
		}
		o.record(ev)
		switch ev.Opcode {
		case websocket.OpText, websocket.OpBinary:
			p.w.WriteMessage(ev.Opcode, ev.Payload, ev.Fragments)
		case websocket.OpPing:
			p.w.WriteControl(websocket.OpPong, ev.Payload)
		case websocket.OpClose:
			p.w.WriteClose(ev.CloseCode, ev.CloseReason)
			return
		}
	}
}

func (o *wsOrigin) hostPort() string {
	return strings.TrimPrefix(strings.TrimPrefix(o.URL, "http://"), "https://")
}

// wsDial makes a WebSocket connection to the origin through the proxy:
// through a CONNECT tunnel (TLS inside it for wss, trusting roots), or
// with an absolute-form request. ext is the Sec-WebSocket-Extensions
// offer ("" for none).
func wsDial(t *testing.T, proxyAddr string, o *wsOrigin, viaConnect bool, roots *x509.CertPool, path, ext string) (*wsPeer, http.Header) {
	t.Helper()
	secure := strings.HasPrefix(o.URL, "https://")
	var c net.Conn
	var br *bufio.Reader
	target := path
	if viaConnect {
		c, br, _ = testutil.ConnectTunnel(t, proxyAddr, o.hostPort())
		if secure {
			host, _, _ := net.SplitHostPort(o.hostPort())
			tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{RootCAs: roots, ServerName: host, NextProtos: []string{"http/1.1"}})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			c, br = tc, bufio.NewReader(tc)
		}
	} else {
		var err error
		c, err = net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br = bufio.NewReader(c)
		target = o.URL + path
	}
	req := "GET " + target + " HTTP/1.1\r\nHost: " + o.hostPort() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake answered %s %v", resp.Status, resp.Header)
	}
	d, _, err := websocket.ParseExtensions(resp.Header.Get("Sec-WebSocket-Extensions"))
	if err != nil {
		t.Fatal(err)
	}
	return newWSPeer(c, br, websocket.Client, d), resp.Header
}

// bufConn reads through a reader that may hold bytes already read.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// wsRecorder is a Go addon that records the WebSocket hooks and may act on
// messages.
type wsRecorder struct {
	mu        sync.Mutex
	events    []string
	flows     []*flow.HTTPFlow
	onStart   func(f *flow.HTTPFlow)
	onMessage func(f *flow.HTTPFlow, m *flow.WebSocketMessage)
}

func (r *wsRecorder) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *wsRecorder) WebSocketStart(f *flow.HTTPFlow) {
	r.mu.Lock()
	r.flows = append(r.flows, f)
	r.mu.Unlock()
	r.add("websocket_start")
	if r.onStart != nil {
		r.onStart(f)
	}
}

func (r *wsRecorder) WebSocketMessage(f *flow.HTTPFlow) {
	m := f.WebSocket.Messages[len(f.WebSocket.Messages)-1]
	dir := "<-"
	if m.FromClient {
		dir = "->"
	}
	inj := ""
	if m.Injected {
		inj = " injected"
	}
	content := m.Content
	if len(content) > 40 {
		content = append(content[:40:40], "..."...)
	}
	r.add(fmt.Sprintf("message %s %d %q%s", dir, m.Type, content, inj))
	if r.onMessage != nil {
		r.onMessage(f, m)
	}
}

func (r *wsRecorder) WebSocketEnd(f *flow.HTTPFlow) { r.add("websocket_end") }

func (r *wsRecorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *wsRecorder) flow(t *testing.T) *flow.HTTPFlow {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.flows) != 1 {
		t.Fatalf("%d WebSocket flows", len(r.flows))
	}
	return r.flows[0]
}

func (r *wsRecorder) waitEnd(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() bool {
		ev := r.Events()
		return len(ev) > 0 && ev[len(ev)-1] == "websocket_end"
	}, "no websocket_end: %v", r.Events())
}

var (
	_ addon.WebSocketStartHook   = (*wsRecorder)(nil)
	_ addon.WebSocketMessageHook = (*wsRecorder)(nil)
	_ addon.WebSocketEndHook     = (*wsRecorder)(nil)
)

// startWSProxy starts a proxy that intercepts TLS (trusting the test
// origins) with rec, and returns the server (for injection), its address
// and its CA.
func startWSProxy(t *testing.T, rec *wsRecorder, sets ...string) (*proxy.Server, string, *x509.CertPool) {
	confdir := t.TempDir()
	srv, addr := serveProxy(t, []any{tlsconfig.New(), rec}, append([]string{"confdir=" + confdir, "ssl_insecure=true"}, sets...)...)
	return srv, addr, caPool(t, confdir)
}

// TestWebSocketEcho: ws and wss, through CONNECT and absolute-form
// requests, plain and compressed: messages (fragmented ones too) reach
// the origin with their fragments and come back, pings and pongs pass, the
// close handshake is relayed and recorded, and the hooks fire in
// mitmproxy's order.
func TestWebSocketEcho(t *testing.T) {
	const deflate = "permessage-deflate; client_max_window_bits=12"
	for _, secure := range []bool{false, true} {
		for _, viaConnect := range []bool{true, false} {
			for _, ext := range []string{"", deflate} {
				name := fmt.Sprintf("tls=%v/connect=%v/deflate=%v", secure, viaConnect, ext != "")
				t.Run(name, func(t *testing.T) {
					rec := &wsRecorder{}
					_, addr, roots := startWSProxy(t, rec)
					o := startWSOrigin(t, secure, ext, nil)
					offer := ""
					if ext != "" {
						offer = "permessage-deflate; client_max_window_bits"
					}
					c, hdr := wsDial(t, addr, o, viaConnect, roots, "/chat?room=1", offer)
					if ext != "" && hdr.Get("Sec-WebSocket-Extensions") != ext {
						t.Fatalf("extensions %q", hdr.Get("Sec-WebSocket-Extensions"))
					}
					c.text(t, "hello")
					if ev := c.next(t); ev.Opcode != websocket.OpText || string(ev.Payload) != "hello" || ev.Compressed != (ext != "") {
						t.Fatalf("echo: %v (compressed %v)", ev, ev.Compressed)
					}
					big := bytes.Repeat([]byte("0123456789abcdef"), 5000)
					c.w.WriteMessage(websocket.OpBinary, big, []int{10, 70000, len(big) - 70010})
					c.w.WriteControl(websocket.OpPing, []byte("are you there"))
					if ev := c.next(t); ev.Opcode != websocket.OpBinary || !bytes.Equal(ev.Payload, big) || len(ev.Fragments) != 3 {
						t.Fatalf("echo of the fragmented message: %s, %d bytes, fragments %v", ev.Opcode, len(ev.Payload), ev.Fragments)
					}
					if ev := c.next(t); ev.Opcode != websocket.OpPong || string(ev.Payload) != "are you there" {
						t.Fatalf("pong: %v", ev)
					}
					c.w.WriteClose(1000, "bye")
					if ev := c.next(t); ev.Opcode != websocket.OpClose || ev.CloseCode != 1000 || ev.CloseReason != "bye" {
						t.Fatalf("close answer: %v", ev)
					}
					rec.waitEnd(t)
					want := []string{"websocket_start", `message -> 1 "hello"`, `message <- 1 "hello"`,
						fmt.Sprintf("message -> 2 %q", string(big[:40])+"..."), fmt.Sprintf("message <- 2 %q", string(big[:40])+"..."), "websocket_end"}
					if got := rec.Events(); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("hooks:\n%.500q", got)
					}
					f := rec.flow(t)
					ws := f.WebSocket
					if ws.ClosedByClient == nil || !*ws.ClosedByClient || ws.CloseCode != 1000 || ws.CloseReason != "bye" || ws.TimestampEnd == 0 {
						t.Fatalf("close recorded as %+v", ws)
					}
					if f.Request.Path != "/chat?room=1" || f.Response.StatusCode != 101 || len(ws.Messages) != 4 {
						t.Fatalf("flow %s %d, %d messages", f.Request.Path, f.Response.StatusCode, len(ws.Messages))
					}
					// The origin got the message in the fragments it was sent in
					// (compressed, in as many frames), the ping, and the close.
					testutil.Eventually(t, 5*time.Second, func() bool { return len(o.received()) == 4 }, "origin read %v", o.received())
					got := o.received()
					if ext == "" && fmt.Sprint(got[1].Fragments) != "[10 70000 9990]" || len(got[1].Fragments) != 3 {
						t.Errorf("origin got fragments %v", got[1].Fragments)
					}
					if got[2].Opcode != websocket.OpPing || got[3].CloseCode != 1000 || got[3].CloseReason != "bye" {
						t.Errorf("origin got %v", got[2:])
					}
				})
			}
		}
	}
}

// TestWebSocketAddonChanges: a Go addon changes messages both ways
// (content and type), drops some, and injects messages both ways from
// websocket_start and from a message hook; injected messages go through
// the hook marked as such.
func TestWebSocketAddonChanges(t *testing.T) {
	var srv *proxy.Server
	rec := &wsRecorder{}
	rec.onStart = func(f *flow.HTTPFlow) {
		if err := srv.InjectWebSocket(f, true, []byte("welcome"), true); err != nil {
			t.Error(err)
		}
		if err := srv.InjectWebSocket(f.Copy(), false, []byte{0, 1, 2}, false); err != nil {
			t.Error(err)
		}
	}
	rec.onMessage = func(f *flow.HTTPFlow, m *flow.WebSocketMessage) {
		switch string(m.Content) {
		case "shout":
			m.Content = []byte("SHOUT")
		case "drop me", "echo of a dropped one":
			m.Drop()
		case "as binary":
			m.Type = flow.WebSocketBinary
		case "SHOUT":
			if !m.FromClient {
				m.Content = []byte("shout back, changed on its way to the client")
			}
		case "inject from a hook":
			// From inside a hook on the same flow: queued, not a deadlock.
			if !m.FromClient {
				break
			}
			if err := srv.InjectWebSocket(f, true, []byte(strings.Repeat("€", 2000)), true); err != nil {
				t.Error(err)
			}
		}
	}
	var addr string
	var roots *x509.CertPool
	srv, addr, roots = startWSProxy(t, rec)
	o := startWSOrigin(t, false, "", func(o *wsOrigin, p *wsPeer) {
		for {
			ev, err := p.r.Next()
			if err != nil {
				return
			}
			o.record(ev)
			switch {
			case ev.Opcode == websocket.OpClose:
				p.w.WriteClose(ev.CloseCode, ev.CloseReason)
				return
			case string(ev.Payload) == "please drop":
				p.w.WriteMessage(websocket.OpText, []byte("echo of a dropped one"), nil)
			default:
				p.w.WriteMessage(ev.Opcode, ev.Payload, nil)
			}
		}
	})
	c, _ := wsDial(t, addr, o, true, roots, "/", "")
	// The injections from websocket_start: "welcome" to the client; the
	// binary message to the origin, which echoes it.
	for _, want := range []string{`TEXT "welcome" []`, "BINARY 000102 []"} {
		if ev := c.next(t); ev.String() != want {
			t.Fatalf("got %s, want %s", ev, want)
		}
	}
	c.text(t, "shout")
	if ev := c.next(t); string(ev.Payload) != "shout back, changed on its way to the client" {
		t.Fatalf("got %s", ev)
	}
	c.text(t, "drop me")
	c.text(t, "please drop")
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(fmt.Sprint(rec.Events()), "echo of a dropped one")
	}, "the origin's answer did not come")
	c.text(t, "as binary")
	if ev := c.next(t); ev.String() != "BINARY 61732062696e617279 []" {
		t.Fatalf("got %s", ev)
	}
	c.text(t, "inject from a hook")
	// The injected message and the echo, in either order.
	for range 2 {
		ev := c.next(t)
		if string(ev.Payload) == "inject from a hook" {
			continue
		}
		if ev.Opcode != websocket.OpText || string(ev.Payload) != strings.Repeat("€", 2000) || fmt.Sprint(ev.Fragments) != "[3999 2001]" {
			t.Fatalf("got %s, %d bytes, fragments %v", ev.Opcode, len(ev.Payload), ev.Fragments)
		}
	}
	c.w.WriteClose(1001, "")
	c.next(t)
	rec.waitEnd(t)
	want := []string{
		"websocket_start",
		`message <- 1 "welcome" injected`,
		`message -> 2 "\x00\x01\x02" injected`,
		`message <- 2 "\x00\x01\x02"`,
		`message -> 1 "shout"`,
		`message <- 1 "SHOUT"`,
		`message -> 1 "drop me"`,
		`message -> 1 "please drop"`,
		`message <- 1 "echo of a dropped one"`,
		`message -> 1 "as binary"`,
		`message <- 2 "as binary"`,
		`message -> 1 "inject from a hook"`,
		fmt.Sprintf("message <- 1 %q injected", strings.Repeat("€", 2000)[:40]+"..."),
		`message <- 1 "inject from a hook"`,
		"websocket_end",
	}
	got := rec.Events()
	// The echo of "inject from a hook" and the injected message race
	// for the hook; both orders are right.
	if len(got) == len(want) && got[12] == want[13] && got[13] == want[12] {
		got[12], got[13] = got[13], got[12]
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hooks:\n%q\nwant\n%q", got, want)
	}
	f := rec.flow(t)
	msgs := f.WebSocket.Messages
	if !msgs[5].Dropped || !msgs[0].Injected || string(msgs[3].Content) != "SHOUT" {
		t.Fatalf("messages as recorded: %+v %+v %+v", msgs[5], msgs[0], msgs[3])
	}
	// Once the connection is gone, nothing can be injected.
	if err := srv.InjectWebSocket(f, true, []byte("late"), true); !errors.Is(err, proxy.ErrNotLive) {
		t.Fatalf("inject after the end: %v", err)
	}
	if err := srv.InjectWebSocket(flow.NewHTTPFlow(nil, nil), true, []byte("x"), true); !errors.Is(err, proxy.ErrNotWebSocket) {
		t.Fatalf("inject into a plain HTTP flow: %v", err)
	}
}

// TestWebSocketCloses: each way a connection can end, and what the flow,
// the client and the origin see, as mitmproxy: the close (or the protocol
// error) goes to both sides, a side that vanished is recorded as 1006 and
// the other side gets a normal close.
func TestWebSocketCloses(t *testing.T) {
	tests := []struct {
		name string
		// client acts once the connection is up.
		client func(t *testing.T, c *wsPeer)
		// origin acts after its first message.
		origin         func(p *wsPeer)
		byClient       bool
		code           int
		reason         string
		clientGets     string // the close the client reads, or "" for none
		originGets     string
		originGetsNone bool
	}{
		{
			name:   "server closes 1001",
			client: func(t *testing.T, c *wsPeer) { c.text(t, "go") },
			origin: func(p *wsPeer) { p.w.WriteClose(1001, "going away") },
			code:   1001, reason: "going away",
			clientGets: `CLOSE 1001 "going away"`, originGets: `CLOSE 1001 "going away"`,
		},
		{
			name:   "server closes 4000",
			client: func(t *testing.T, c *wsPeer) { c.text(t, "go") },
			origin: func(p *wsPeer) { p.w.WriteClose(4000, "custom") },
			code:   4000, reason: "custom",
			clientGets: `CLOSE 4000 "custom"`, originGets: `CLOSE 4000 "custom"`,
		},
		{
			name:     "client closes without a code",
			client:   func(t *testing.T, c *wsPeer) { c.w.WriteClose(0, "") },
			byClient: true, code: 1005,
			clientGets: `CLOSE 1005 ""`, originGets: `CLOSE 1005 ""`,
		},
		{
			name: "client breaks the protocol",
			client: func(t *testing.T, c *wsPeer) {
				// An unmasked frame from a client.
				c.conn.Write(websocket.AppendFrame(nil, websocket.Header{Fin: true, Opcode: websocket.OpText}, []byte("x")))
			},
			byClient: true, code: 1002, reason: "server received unexpected unmasked frame",
			clientGets: `CLOSE 1002 "server received unexpected unmasked frame"`,
			originGets: `CLOSE 1002 "server received unexpected unmasked frame"`,
		},
		{
			name: "client vanishes mid-message",
			client: func(t *testing.T, c *wsPeer) {
				frame := websocket.AppendFrame(nil, websocket.Header{Fin: true, Opcode: websocket.OpText, Masked: true}, []byte("half of this"))
				c.conn.Write(frame[:8])
				c.conn.Close()
			},
			byClient: true, code: 1006,
			originGets: `CLOSE 1000 ""`,
		},
		{
			name:   "server vanishes mid-message",
			client: func(t *testing.T, c *wsPeer) { c.text(t, "go") },
			origin: func(p *wsPeer) {
				frame := websocket.AppendFrame(nil, websocket.Header{Fin: true, Opcode: websocket.OpBinary}, make([]byte, 1000))
				p.conn.Write(frame[:500])
				p.conn.Close()
			},
			code: 1006, clientGets: `CLOSE 1000 ""`, originGetsNone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &wsRecorder{}
			_, addr, roots := startWSProxy(t, rec)
			originGot := make(chan string, 1)
			o := startWSOrigin(t, false, "", func(o *wsOrigin, p *wsPeer) {
				ev, err := p.r.Next()
				if err == nil && ev.Opcode != websocket.OpClose && tt.origin != nil {
					tt.origin(p)
					if tt.originGetsNone {
						originGot <- ""
						return
					}
					ev, err = p.r.Next()
				}
				if err != nil {
					originGot <- "error: " + err.Error()
					return
				}
				originGot <- ev.String()
			})
			c, _ := wsDial(t, addr, o, true, roots, "/", "")
			tt.client(t, c)
			if tt.clientGets != "" {
				if ev := c.next(t); ev.String() != tt.clientGets {
					t.Errorf("client got %s, want %s", ev, tt.clientGets)
				}
			}
			select {
			case got := <-originGot:
				if got != tt.originGets {
					t.Errorf("origin got %s, want %s", got, tt.originGets)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("origin got nothing")
			}
			rec.waitEnd(t)
			ws := rec.flow(t).WebSocket
			if ws.ClosedByClient == nil || *ws.ClosedByClient != tt.byClient || ws.CloseCode != tt.code || ws.CloseReason != tt.reason {
				t.Errorf("recorded: by client %v, %d %q", ws.ClosedByClient != nil && *ws.ClosedByClient, ws.CloseCode, ws.CloseReason)
			}
			// Both connections are closed.
			if _, err := c.r.Next(); err == nil {
				t.Error("the client connection is still open")
			}
		})
	}
}

// TestWebSocketKill: an addon that kills the flow in websocket_message
// ends both connections at once; websocket_end follows.
func TestWebSocketKill(t *testing.T) {
	rec := &wsRecorder{onMessage: func(f *flow.HTTPFlow, m *flow.WebSocketMessage) {
		if string(m.Content) == "kill" {
			f.Kill()
		}
	}}
	_, addr, roots := startWSProxy(t, rec)
	o := startWSOrigin(t, true, "", nil)
	c, _ := wsDial(t, addr, o, false, roots, "/", "")
	c.text(t, "kill")
	if ev, err := c.r.Next(); err == nil {
		t.Fatalf("read %s after the kill", ev)
	}
	rec.waitEnd(t)
	f := rec.flow(t)
	if f.WebSocket.CloseCode != 1006 || f.Error == nil || len(o.received()) != 0 {
		t.Fatalf("killed flow: %+v, error %v, origin got %v", f.WebSocket, f.Error, o.received())
	}
}

// TestWebSocketOptionOff: with websocket off, the connection's bytes are
// relayed as they are, with no WebSocket hooks.
func TestWebSocketOptionOff(t *testing.T) {
	rec := &wsRecorder{}
	_, addr, roots := startWSProxy(t, rec, "websocket=false")
	o := startWSOrigin(t, false, "", nil)
	c, _ := wsDial(t, addr, o, false, roots, "/", "")
	// A frame the WebSocket layer would have refused (unmasked, from the
	// client) passes, and the origin refuses it.
	c.conn.Write(websocket.AppendFrame(nil, websocket.Header{Fin: true, Opcode: websocket.OpText}, []byte("raw")))
	if _, err := c.r.Next(); err == nil {
		t.Fatal("the origin answered an unmasked frame")
	}
	if ev := rec.Events(); len(ev) != 0 {
		t.Fatalf("hooks with websocket off: %v", ev)
	}
}

// cmdAddon keeps the addon context, to call commands as a UI or a script
// would.
type cmdAddon struct{ ctx *addon.Context }

func (c *cmdAddon) Load(l *addon.Loader) { c.ctx = l.Context() }

// TestInjectWebSocketCommand: mitmproxy's inject.websocket command sends
// a message into a live connection, either way; a flow that cannot take it
// is a warning, not a failed command.
func TestInjectWebSocketCommand(t *testing.T) {
	cmds := &cmdAddon{}
	started := make(chan *flow.HTTPFlow, 1)
	rec := &wsRecorder{}
	rec.onStart = func(f *flow.HTTPFlow) { started <- f }
	confdir := t.TempDir()
	srv, ln := listenProxy(t, []any{tlsconfig.New(), rec, cmds}, "confdir="+confdir, "ssl_insecure=true")
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	o := startWSOrigin(t, false, "", func(o *wsOrigin, p *wsPeer) {
		for {
			ev, err := p.r.Next()
			if err != nil {
				return
			}
			o.record(ev)
			if ev.Opcode == websocket.OpClose {
				p.w.WriteClose(ev.CloseCode, ev.CloseReason)
				return
			}
		}
	})
	c, _ := wsDial(t, ln.Addr().String(), o, true, caPool(t, confdir), "/", "")
	f := <-started
	if _, err := cmds.ctx.Commands.Call("inject.websocket", flow.Any(f), true, []byte("to the client"), true); err != nil {
		t.Fatal(err)
	}
	if ev := c.next(t); ev.String() != `TEXT "to the client" []` {
		t.Fatalf("client got %s", ev)
	}
	if _, err := cmds.ctx.Commands.Call("inject.websocket", flow.Any(f), false, []byte{1, 2}, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(o.received()) == 1 }, "origin read %v", o.received())
	if got := o.received()[0]; got.Opcode != websocket.OpBinary || string(got.Payload) != "\x01\x02" {
		t.Errorf("origin got %v", got)
	}
	if _, err := cmds.ctx.Commands.Call("inject.websocket", flow.Any(flow.NewHTTPFlow(nil, nil)), true, []byte("x"), true); err != nil {
		t.Errorf("a plain HTTP flow failed the command: %v", err)
	}
}
