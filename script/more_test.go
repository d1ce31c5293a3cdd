package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func TestWebSocketAndTCP(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ws.py"), `
def websocket_message(flow):
    m = flow.websocket.messages[-1]
    if m.is_text and "drop" in m.text:
        m.drop()
    elif m.is_text:
        m.text = m.text.upper()
def tcp_message(flow):
    m = flow.messages[-1]
    m.content = m.content.replace(b"a", b"b")
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "ws.py"))
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	f.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{
		{Type: flow.WebSocketText, FromClient: true, Content: []byte("first")},
		{Type: flow.WebSocketText, FromClient: false, Content: []byte("hello")},
	}}
	e.m.WebSocketMessage(f)
	if got := string(f.WebSocket.Messages[1].Content); got != "HELLO" {
		t.Fatalf("ws message = %q", got)
	}
	if got := string(f.WebSocket.Messages[0].Content); got != "first" {
		t.Fatalf("earlier message changed: %q", got)
	}
	f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: flow.WebSocketText, Content: []byte("drop me")})
	e.m.WebSocketMessage(f)
	if !f.WebSocket.Messages[2].Dropped {
		t.Fatal("not dropped")
	}

	tf := flow.NewTCPFlow(f.ClientConn, f.ServerConn)
	tf.Messages = []*flow.TCPMessage{{FromClient: true, Content: []byte("banana")}}
	e.m.TCPMessage(tf)
	if got := string(tf.Messages[0].Content); got != "bbnbnb" {
		t.Fatalf("tcp message = %q", got)
	}
}

func TestTLSClientHello(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tls.py"), `
def tls_clienthello(data):
    if data.client_hello.sni == "pinned.example" and b"h2" in data.client_hello.alpn_protocols:
        data.ignore_connection = True
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "tls.py"))
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{Host: "127.0.0.1", Port: 2}, "regular")
	d := &addon.ClientHelloData{Client: c, SNI: "pinned.example", ALPNProtocols: []string{"h2", "http/1.1"}}
	e.m.TLSClientHello(d)
	if !d.IgnoreConnection {
		t.Fatal("ignore_connection not applied")
	}
	d = &addon.ClientHelloData{Client: c, SNI: "other.example"}
	e.m.TLSClientHello(d)
	if d.IgnoreConnection {
		t.Fatal("ignored the wrong connection")
	}
}

func TestInterceptResumeLater(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hold.py"), `
import threading
def request(flow):
    flow.intercept()
    threading.Timer(0.2, flow.resume).start()
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "hold.py"))
	f := newFlow(t, "GET", "http://example.com/", 0, "")
	e.m.Request(f)
	if !f.IsIntercepted() {
		t.Fatal("not intercepted")
	}
	done := make(chan struct{})
	go func() {
		_ = f.WaitForResume(t.Context())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("resume() after the hook returned did not reach the flow")
	}
	if f.IsIntercepted() {
		t.Fatal("still intercepted")
	}
}

func TestMasterAndOptions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "master.py"), `
from mitmproxy import ctx
def load(loader):
    loader.add_option("counter", int, 0, "A counter.")
def configure(updated):
    if "counter" in updated:
        ctx.log.info("counter=%d" % ctx.options.counter)
def request(flow):
    if flow.request.path == "/inc":
        ctx.options.counter += 1
    elif flow.request.path == "/stop":
        ctx.master.shutdown()
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "master.py"))
	stopped := make(chan struct{})
	e.m.SetShutdown(func() { close(stopped) })
	e.m.Request(newFlow(t, "GET", "http://example.com/inc", 0, ""))
	e.log.wait(t, "counter=1", 5*time.Second)
	if n := e.m.Options().Int("counter"); n != 1 {
		t.Fatalf("counter = %d", n)
	}
	e.m.Request(newFlow(t, "GET", "http://example.com/stop", 0, ""))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("ctx.master.shutdown() did not stop the master")
	}
}

func TestUnloadAndReorder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b"} {
		writeFile(t, filepath.Join(dir, n+".py"), `
from mitmproxy import ctx
def request(flow):
    flow.request.headers.add("x-order", "`+n+`")
def done():
    ctx.log.info("done `+n+`")
`)
	}
	a, b := filepath.Join(dir, "a.py"), filepath.Join(dir, "b.py")
	e := newEnv(t, Config{}, nil, a, b)
	order := func() string {
		f := newFlow(t, "GET", "http://example.com/", 0, "")
		e.m.Request(f)
		return f.Request.Headers.Get("x-order")
	}
	if got := order(); got != "a, b" {
		t.Fatalf("order = %q", got)
	}
	if err := e.m.Options().Update(map[string]any{"scripts": []string{b, a}}); err != nil {
		t.Fatal(err)
	}
	if got := order(); got != "b, a" {
		t.Fatalf("reordered = %q", got)
	}
	if err := e.m.Options().Update(map[string]any{"scripts": []string{a}}); err != nil {
		t.Fatal(err)
	}
	e.log.wait(t, "done b", 5*time.Second)
	if got := order(); got != "a" {
		t.Fatalf("after unloading b = %q", got)
	}
	if err := e.m.Options().Update(map[string]any{"scripts": []string{}}); err != nil {
		t.Fatal(err)
	}
	if e.a.liveHost() != nil {
		t.Fatal("the child runs without scripts")
	}
	if got := order(); got != "" {
		t.Fatalf("without scripts = %q", got)
	}
}

func TestInterpreterFailsToStart(t *testing.T) {
	needPython(t)
	// An interpreter that cannot run the host (too old, broken) is
	// reported with what it wrote to stderr.
	fake := filepath.Join(t.TempDir(), "python3")
	writeFile(t, fake, "#!/bin/sh\necho 'mitmgo scripts need Python 3.8 or newer; fake is Python 3.6' >&2\nexit 3\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	m := addon.NewManager()
	a := NewWithConfig(Config{CacheDir: testCacheDir(t), ReloadInterval: -1})
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MITMGO_PYTHON", fake)
	err := m.Options().Set("scripts=testdata/seed/add_header.py")
	if err == nil || !strings.Contains(err.Error(), "need Python 3.8 or newer; fake is Python 3.6") || !strings.Contains(err.Error(), fake) {
		t.Fatalf("err = %v", err)
	}
	m.Done()
}

func TestFlowFilter(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "filters.py"), `
import threading
from mitmproxy import ctx, flowfilter

flt = None

def load(loader):
    loader.add_option("flt", str, "~d example.com & ~m POST", "The filter.")

def configure(updated):
    global flt
    if "flt" in updated:
        try:
            flt = flowfilter.parse(ctx.options.flt)
        except ValueError as e:
            from mitmproxy import exceptions
            raise exceptions.OptionsError(str(e))

def request(flow):
    flow.request.headers["x-live"] = str(flowfilter.match(flt, flow))
    # Changed in this handler: matched on the state the script sees.
    flow.request.method = "GET"
    flow.request.headers["x-changed"] = str(flt(flow))
    flow.request.headers["x-str"] = str(flowfilter.match("~h x-live", flow))
    flow.request.headers["x-desc"] = str(flt)
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "filters.py"))
	f := newFlow(t, "POST", "http://example.com/", 0, "")
	e.m.Request(f)
	h := f.Request.Headers
	if h.Get("x-live") != "True" || h.Get("x-changed") != "False" || h.Get("x-str") != "True" {
		t.Fatalf("matches: %s\n%s", h, e.log.text())
	}
	if !strings.Contains(h.Get("x-desc"), "domain matches") {
		t.Fatalf("description %q", h.Get("x-desc"))
	}
	err := e.m.Options().Set("flt=~bogus")
	if err == nil || !strings.Contains(err.Error(), "Invalid filter expression") {
		t.Fatalf("a bad filter: %v", err)
	}
}
