package script_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// A script in the manner of mitmproxy's http-stream-modify example, with a
// callable that holds state across chunks and runs once more at the end,
// and save_streamed_data's way of keeping the callable on the flow.
const streamModifyScript = `
import logging

class Modify:
    def __init__(self, flow):
        self.flow = flow
        self.chunks = 0

    def __call__(self, data):
        if data == b"":
            return [b"<end of ", self.flow.request.path.encode(), b">"]
        self.chunks += 1
        return data.replace(b"foo", b"bar")

def responseheaders(flow):
    flow.response.stream = Modify(flow)

def response(flow):
    s = flow.response.stream
    logging.info("stream function %s ran for %d chunks" % (type(s).__name__, s.chunks))
`

// chunkyOrigin answers "foo N\n" for N < 20, flushing each line.
func chunkyOrigin(w http.ResponseWriter, r *http.Request) {
	for i := range 20 {
		fmt.Fprintf(w, "foo %d\n", i)
		w.(http.Flusher).Flush()
	}
}

func chunkyWant(path string) string {
	var sb strings.Builder
	for i := range 20 {
		fmt.Fprintf(&sb, "bar %d\n", i)
	}
	return sb.String() + "<end of " + path + ">"
}

// TestE2EStreamCallable: a Python callable as response.stream changes
// every chunk of the body on its way to the client, over HTTP/1 and over
// HTTP/2 on both sides, and -w saves what the client got.
func TestE2EStreamCallable(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, map[string]string{"modify.py": streamModifyScript})
	confdir := t.TempDir()
	flows := filepath.Join(dir, "out.flows")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "modify.py", "--set", "confdir="+confdir,
		"--set", "ssl_insecure=true", "--set", "store_streamed_bodies=true", "-w", flows)

	plain := testutil.HTTPOrigin(t, http.HandlerFunc(chunkyOrigin))
	_, body := get(t, md, plain.URL+"/h1")
	if want := chunkyWant("/h1"); body != want {
		t.Errorf("HTTP/1: client got %q, want %q", body, want)
	}

	tlsOrigin := httptest.NewUnstartedServer(http.HandlerFunc(chunkyOrigin))
	tlsOrigin.EnableHTTP2 = true
	tlsOrigin.StartTLS()
	t.Cleanup(tlsOrigin.Close)
	c := h2Client(t, md.Addr, confdir)
	resp, err := c.Get(tlsOrigin.URL + "/h2")
	if err != nil {
		t.Fatalf("HTTP/2 GET: %v\n%s", err, md.Output())
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := chunkyWant("/h2"); string(b) != want {
		t.Errorf("HTTP/2: client got %q, want %q", b, want)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("the client spoke %s", resp.Proto)
	}
	md.WaitOutput(t, "stream function Modify ran for", 10*time.Second)
	if strings.Contains(md.Output(), "callable stream") || strings.Contains(md.Output(), "Addon error") {
		t.Errorf("mitmdump complained:\n%s", md.Output())
	}
	if code := md.Stop(t); code != 0 {
		t.Fatalf("mitmdump exited with %d:\n%s", code, md.Output())
	}
	got := map[string]string{}
	for _, f := range readFlows(t, flows) {
		if hf, ok := f.(*flow.HTTPFlow); ok && hf.Response != nil {
			got[hf.Request.Path+" "+hf.Response.HTTPVersion] = string(hf.Response.RawContent)
		}
	}
	if got["/h1 HTTP/1.1"] != chunkyWant("/h1") || got["/h2 HTTP/2.0"] != chunkyWant("/h2") {
		t.Errorf("saved bodies: %q", got)
	}
}

// h2Client is an HTTP/2 client through mitmdump's CONNECT, trusting its CA
// in confdir.
func h2Client(t *testing.T, proxyAddr, confdir string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string, _ *tls.Config) (net.Conn, error) {
			c, br, _ := testutil.ConnectTunnel(t, proxyAddr, addr)
			host, _, _ := net.SplitHostPort(addr)
			tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{RootCAs: roots, ServerName: host, NextProtos: []string{"h2"}})
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, err
			}
			return tc, nil
		},
	}}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func readFlows(t *testing.T, path string) []any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []any
	rd := flowfile.NewReader(fh)
	for {
		d, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := flow.FromState(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
}

// The websocket-simple example's handler, and more: the type changed, the
// session logged at its start and end.
const wsSimpleScript = `
import logging
import re

from mitmproxy import http
from mitmproxy.websocket import Opcode

def websocket_start(flow):
    logging.info("websocket_start %s" % flow.request.path)

def websocket_message(flow: http.HTTPFlow):
    assert flow.websocket is not None
    message = flow.websocket.messages[-1]
    if message.from_client:
        logging.info(f"Client sent a message: {message.content!r}")
    else:
        logging.info(f"Server sent a message: {message.content!r}")
    message.content = re.sub(rb"^Hello", b"HAPPY", message.content)
    if b"FOOBAR" in message.content:
        message.drop()
    if message.content == b"make me binary" and message.from_client:
        message.type = Opcode.BINARY

def websocket_end(flow):
    ws = flow.websocket
    logging.info("websocket_end: %d messages, %d dropped, closed_by_client=%s code=%s reason=%r" % (
        len(ws.messages), sum(m.dropped for m in ws.messages), ws.closed_by_client, ws.close_code, ws.close_reason))
`

// TestE2EWebSocketScript: a WebSocket session through mitmdump with a
// script that logs, changes, drops and retypes messages (mitmproxy's
// websocket-simple example and more), against an echo origin.
func TestE2EWebSocketScript(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, map[string]string{"wssimple.py": wsSimpleScript})
	flows := filepath.Join(dir, "ws.flows")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "wssimple.py", "-w", flows)
	origin := startEcho(t)
	cl := dialWS(t, md.Addr, origin)

	cl.send(t, websocket.OpText, "Hello world")
	if ev := cl.next(t); ev.Opcode != websocket.OpText || string(ev.Payload) != "HAPPY world" {
		t.Fatalf("echo of the changed message: %v", ev)
	}
	cl.send(t, websocket.OpText, "FOOBAR")
	cl.send(t, websocket.OpText, "make me binary")
	if ev := cl.next(t); ev.Opcode != websocket.OpBinary || string(ev.Payload) != "make me binary" {
		t.Fatalf("after the dropped message: %v", ev)
	}
	// A longer session: each message goes through the hook.
	for i := range 50 {
		msg := fmt.Sprintf("Hello %d", i)
		cl.send(t, websocket.OpText, msg)
		if ev := cl.next(t); string(ev.Payload) != fmt.Sprintf("HAPPY %d", i) {
			t.Fatalf("message %d came back as %v", i, ev)
		}
	}
	if err := cl.w.WriteClose(1000, "bye"); err != nil {
		t.Fatal(err)
	}
	if ev := cl.next(t); ev.Opcode != websocket.OpClose || ev.CloseCode != 1000 {
		t.Errorf("close answer: %v", ev)
	}
	md.WaitOutput(t, "websocket_end:", 10*time.Second)
	out := md.Output()
	for _, want := range []string{
		"websocket_start /chat",
		"Client sent a message: b'Hello world'",
		"Server sent a message: b'HAPPY world'",
		"Client sent a message: b'FOOBAR'",
		// 53 from the client (one dropped), 52 echoes.
		"websocket_end: 105 messages, 1 dropped, closed_by_client=True code=1000 reason='bye'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mitmdump output lacks %q:\n%s", want, out)
		}
	}
	if got := origin.received(); len(got) < 2 || got[0] != "text HAPPY world" || got[1] != "binary make me binary" {
		t.Errorf("the origin received %q", got)
	}
	if strings.Contains(out, "Addon error") {
		t.Errorf("script errors:\n%s", out)
	}
	if code := md.Stop(t); code != 0 {
		t.Fatalf("mitmdump exited with %d", code)
	}
	var ws *flow.WebSocketData
	for _, f := range readFlows(t, flows) {
		if hf, ok := f.(*flow.HTTPFlow); ok && hf.WebSocket != nil {
			ws = hf.WebSocket
		}
	}
	if ws == nil || len(ws.Messages) != 105 || string(ws.Messages[0].Content) != "HAPPY world" || !ws.Messages[2].Dropped ||
		ws.Messages[3].Type != flow.WebSocketBinary {
		t.Errorf("saved WebSocket data: %+v", ws)
	}
}

// echoOrigin is a WebSocket echo server; it records what it receives.
type echoOrigin struct {
	*httptest.Server
	mu  sync.Mutex
	got []string
}

func (o *echoOrigin) received() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}

func startEcho(t *testing.T) *echoOrigin {
	o := &echoOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
		rd, wr := websocket.NewReader(brw.Reader, websocket.Server, nil), websocket.NewWriter(c, websocket.Server, nil)
		for {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			switch ev.Opcode {
			case websocket.OpText, websocket.OpBinary:
				o.mu.Lock()
				o.got = append(o.got, map[websocket.Opcode]string{websocket.OpText: "text ", websocket.OpBinary: "binary "}[ev.Opcode]+string(ev.Payload))
				o.mu.Unlock()
				wr.WriteMessage(ev.Opcode, ev.Payload, nil)
			case websocket.OpClose:
				wr.WriteClose(ev.CloseCode, ev.CloseReason)
				return
			}
		}
	}))
	t.Cleanup(o.Server.Close)
	return o
}

type wsClient struct {
	r *websocket.Reader
	w *websocket.Writer
}

func (c *wsClient) send(t *testing.T, op websocket.Opcode, s string) {
	t.Helper()
	if err := c.w.WriteMessage(op, []byte(s), nil); err != nil {
		t.Fatal(err)
	}
}

func (c *wsClient) next(t *testing.T) websocket.Event {
	t.Helper()
	ev, err := c.r.Next()
	if err != nil {
		t.Fatalf("reading from the proxy: %v", err)
	}
	return ev
}

// dialWS opens a WebSocket to the origin's /chat with an absolute-form
// request to the proxy.
func dialWS(t *testing.T, proxyAddr string, o *echoOrigin) *wsClient {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	host := strings.TrimPrefix(o.URL, "http://")
	io.WriteString(c, "GET "+o.URL+"/chat HTTP/1.1\r\nHost: "+host+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return &wsClient{r: websocket.NewReader(br, websocket.Client, nil), w: websocket.NewWriter(c, websocket.Client, nil)}
}
