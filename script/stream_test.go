package script

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

const streamScript = `
from mitmproxy import ctx

class Upper:
    def __init__(self):
        self.calls = 0
        self.held = b""

    def __call__(self, data):
        self.calls += 1
        if data == b"":
            return [self.held, b"<end>"]
        out = self.held + data
        # holds back a trailing "fo" that may continue as "foo"
        keep = len(out) - (2 if out.endswith(b"fo") else 1 if out.endswith(b"f") else 0)
        self.held = out[keep:]
        return out[:keep].replace(b"foo", b"bar")

def requestheaders(flow):
    flow.request.headers["x-saw-stream"] = repr(flow.request.stream)
    if flow.request.path == "/req":
        flow.request.stream = lambda data: data.upper()

def responseheaders(flow):
    flow.response.headers["x-saw-stream"] = repr(flow.response.stream)
    p = flow.request.path
    if p == "/optout":
        flow.response.stream = False
    elif p == "/on":
        flow.response.stream = True
    elif p == "/fn":
        flow.response.stream = Upper()
    elif p == "/raises":
        def boom(data):
            raise ValueError("no " + data.decode())
        flow.response.stream = boom
    elif p == "/badtype":
        flow.response.stream = lambda data: "text"
    elif p == "/failing":
        flow.response.stream = Upper()
        raise RuntimeError("handler fails after setting the stream")

def response(flow):
    s = flow.response.stream
    flow.response.headers["x-kept"] = type(s).__name__
    if isinstance(s, Upper):
        flow.response.headers["x-calls"] = str(s.calls)
    if isinstance(flow.request.stream, type(lambda: 0)):
        flow.response.headers["x-req"] = "fn"
`

func TestStreamCallable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stream.py"), streamScript)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "stream.py"))
	run := func(path string, stream bool) *flow.HTTPFlow {
		f := newFlow(t, "GET", "http://example.com"+path, 200, "")
		f.Response.Stream = stream
		e.m.ResponseHeaders(f)
		return f
	}

	// .stream reads what the proxy decided, and a script may say no.
	if f := run("/optout", true); f.Response.Headers.Get("x-saw-stream") != "True" || f.Response.Stream {
		t.Errorf("opt out: saw %q, stream %v", f.Response.Headers.Get("x-saw-stream"), f.Response.Stream)
	}
	if f := run("/on", false); f.Response.Headers.Get("x-saw-stream") != "False" || !f.Response.Stream || f.Response.StreamFunc != nil {
		t.Errorf("on: saw %q, stream %v", f.Response.Headers.Get("x-saw-stream"), f.Response.Stream)
	}

	// A callable: every chunk goes through it, in order, with its state.
	f := run("/fn", false)
	fn := f.Response.StreamFunc
	if !f.Response.Stream || fn == nil {
		t.Fatalf("callable stream: Stream %v, StreamFunc set %v", f.Response.Stream, fn != nil)
	}
	var out strings.Builder
	for _, c := range []string{"a fo", "o and f", "oo", ""} {
		b, err := fn([]byte(c))
		if err != nil {
			t.Fatalf("chunk %q: %v", c, err)
		}
		out.Write(b)
	}
	if out.String() != "a bar and bar<end>" {
		t.Errorf("transformed %q", out.String())
	}
	// The response hook finds the same object in .stream.
	e.m.Response(f)
	if f.Response.Headers.Get("x-kept") != "Upper" || f.Response.Headers.Get("x-calls") != "4" {
		t.Errorf("response hook saw stream %q after %q calls", f.Response.Headers.Get("x-kept"), f.Response.Headers.Get("x-calls"))
	}
	// The flow is over: the child dropped the callable.
	if _, err := fn([]byte("late")); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("a chunk after the flow ended: %v", err)
	}

	// An exception ends the stream, and is logged with its traceback.
	f = run("/raises", false)
	if _, err := f.Response.StreamFunc([]byte("way")); err == nil || !strings.Contains(err.Error(), "ValueError: no way") ||
		!strings.Contains(err.Error(), "stream.py") {
		t.Errorf("raising stream function: %v", err)
	}
	e.log.wait(t, "Addon error", timeout)
	f = run("/badtype", false)
	if _, err := f.Response.StreamFunc([]byte("x")); err == nil || !strings.Contains(err.Error(), "TypeError") {
		t.Errorf("stream function returning str: %v", err)
	}
	// A handler that raises after setting the stream has it rolled back.
	if f := run("/failing", false); f.Response.Stream || f.Response.StreamFunc != nil {
		t.Errorf("rolled-back handler: Stream %v, StreamFunc %v", f.Response.Stream, f.Response.StreamFunc != nil)
	}

	// The request side, kept until the response hook.
	f = newFlow(t, "POST", "http://example.com/req", 0, "")
	f.Request.Stream = true
	e.m.RequestHeaders(f)
	if f.Request.Headers.Get("x-saw-stream") != "True" || f.Request.StreamFunc == nil {
		t.Fatalf("request: saw %q, StreamFunc %v", f.Request.Headers.Get("x-saw-stream"), f.Request.StreamFunc != nil)
	}
	if b, err := f.Request.StreamFunc([]byte("up")); err != nil || string(b) != "UP" {
		t.Errorf("request chunk: %q, %v", b, err)
	}
	f.Response = flow.NewResponse(200, nil, nil)
	e.m.Response(f)
	if f.Response.Headers.Get("x-req") != "fn" {
		t.Errorf("the response hook did not find the request's callable: %v", f.Response.Headers)
	}
	if _, err := f.Request.StreamFunc([]byte("late")); err == nil {
		t.Error("the request's callable outlived its flow")
	}
}

const timeout = 10 * time.Second

// TestStreamFuncHostGone: a callable lives in the child; one that died
// takes it along, and the stream ends with an error that says so.
func TestStreamFuncHostGone(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stream.py"), streamScript)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "stream.py"))
	f := newFlow(t, "GET", "http://example.com/fn", 200, "")
	e.m.ResponseHeaders(f)
	if f.Response.StreamFunc == nil {
		t.Fatal("no StreamFunc")
	}
	e.a.liveHost().kill()
	e.log.wait(t, "restarted", timeout)
	if _, err := f.Response.StreamFunc([]byte("x")); err == nil {
		t.Error("a callable survived the restart of the host")
	}
}

const wsScript = `
from mitmproxy import ctx
from mitmproxy.websocket import Opcode

def websocket_message(flow):
    msgs = flow.websocket.messages
    m = msgs[-1]
    # What the host kept: every message so far, in order.
    m_all = ",".join(x.content.decode(errors="replace") for x in msgs)
    flow.metadata["all"] = m_all
    flow.metadata["n"] = len(msgs)
    flow.metadata["type"] = repr(m.type)
    if m.content == b"drop":
        m.drop()
    elif m.content == b"binary":
        m.type = Opcode.BINARY
    elif m.content == b"raise":
        m.content = b"changed before raising"
        raise ValueError("rolled back")
    elif m.is_text:
        m.text = m.text.upper()

def websocket_end(flow):
    ws = flow.websocket
    flow.metadata["end"] = [len(ws.messages), ws.closed_by_client, ws.close_code, ws.close_reason,
                            ws.timestamp_end is not None, ws.messages[0].content.decode()]
`

func TestWebSocketIncremental(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ws.py"), wsScript)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "ws.py"))
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	f.WebSocket = &flow.WebSocketData{}
	e.m.WebSocketStart(f)
	send := func(content string) *flow.WebSocketMessage {
		t.Helper()
		m := &flow.WebSocketMessage{Type: flow.WebSocketText, FromClient: len(f.WebSocket.Messages)%2 == 0, Content: []byte(content), Timestamp: 1}
		f.WebSocket.Messages = append(f.WebSocket.Messages, m)
		e.m.WebSocketMessage(f)
		return m
	}
	var want []string
	for i := range 5 {
		m := send(fmt.Sprintf("m%d", i))
		want = append(want, fmt.Sprintf("M%d", i))
		if string(m.Content) != want[i] {
			t.Fatalf("message %d: %q", i, m.Content)
		}
		// The script read them before it changed the newest one.
		seen := strings.Join(append(want[:i:i], fmt.Sprintf("m%d", i)), ",")
		if all, _ := f.Metadata.Get("all"); anyStr(all) != seen {
			t.Fatalf("after message %d the script saw %q", i, anyStr(all))
		}
	}
	if m := send("drop"); !m.Dropped {
		t.Error("not dropped")
	}
	if m := send("binary"); m.Type != flow.WebSocketBinary {
		t.Errorf("type %d", m.Type)
	}
	if m := send("raise"); string(m.Content) != "raise" {
		t.Errorf("a handler that raised changed the message: %q", m.Content)
	}
	e.log.wait(t, "rolled back", timeout)
	if typ, _ := f.Metadata.Get("type"); anyStr(typ) != "<Opcode.TEXT: 1>" {
		t.Errorf("message type reads %q", anyStr(typ))
	}
	// Only the newest message travels.
	p, ok := e.a.pyFlows.get(f.ID)
	if !ok || p.wsSent != len(f.WebSocket.Messages) {
		t.Errorf("the addon thinks the child has %d of %d messages", p.wsSent, len(f.WebSocket.Messages))
	}
	msg, err := e.a.httpMessage("websocket_message", f, e.a.wsBase(f, p.h))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := decodePart(msg.Bytes("ws"))
	if got := len(v.(*tnetstring.Dict).List("messages")); got != 0 || msg.Int("wsbase") != int64(len(f.WebSocket.Messages)) {
		t.Errorf("a call would carry %d messages from %d", got, msg.Int("wsbase"))
	}

	// A child that lost the messages asks for them all.
	e.a.pyFlows.update(f.ID, p.h, func(p *pyFlow) { p.wsSent = 3 })
	send("m9")
	if all, _ := f.Metadata.Get("all"); !strings.HasPrefix(anyStr(all), "M0,M1,M2,M3,M4,drop,binary,raise,") {
		t.Errorf("after a resync the script saw %q", anyStr(all))
	}

	byClient := true
	f.WebSocket.ClosedByClient, f.WebSocket.CloseCode, f.WebSocket.CloseReason, f.WebSocket.TimestampEnd = &byClient, 1000, "bye", 2
	e.m.WebSocketEnd(f)
	end, _ := f.Metadata.Get("end")
	if got := mustJSON(end); got != fmt.Sprintf(`[%d,true,1000,"bye",true,"M0"]`, len(f.WebSocket.Messages)) {
		t.Errorf("websocket_end saw %s", got)
	}
	if _, ok := e.a.pyFlows.get(f.ID); ok {
		t.Error("the addon still tracks the flow after websocket_end")
	}
}

// TestStateFromCopiesEveryField: stateFrom builds the state from a
// stand-in flow; a field added to flow.Flow must reach it.
func TestStateFromCopiesEveryField(t *testing.T) {
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	typ := reflect.TypeFor[flow.Flow]()
	for i := range typ.NumField() {
		fl := typ.Field(i)
		if !fl.IsExported() {
			continue
		}
		switch fl.Name {
		case "ID", "Error", "ClientConn", "ServerConn", "IsReplay", "Marked", "Metadata", "Comment", "TimestampCreated":
		default:
			t.Errorf("flow.Flow has a new field %s: copy it in stateFrom", fl.Name)
		}
	}
	f.Error = flow.NewError("e")
	f.IsReplay = "request"
	f.SetMarked(":x:")
	f.SetComment("c")
	f.Metadata.Set("k", int64(1))
	f.Intercept()
	f.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{{Type: 1, Content: []byte("a")}, {Type: 2, Content: []byte("b")}}}
	full, part := f.State(), stateFrom(f, 1)
	fw, _ := full.Pop("websocket")
	pw, _ := part.Pop("websocket")
	a, _ := tnetstring.Marshal(full)
	b, _ := tnetstring.Marshal(part)
	if string(a) != string(b) {
		t.Errorf("states differ:\n%s\n%s", a, b)
	}
	if l := pw.(*tnetstring.Dict).List("messages"); len(l) != 1 || len(fw.(*tnetstring.Dict).List("messages")) != 2 {
		t.Errorf("messages: %v", l)
	}
}

// TestWebSocketKeptFlow: a flow object a script keeps from websocket_start
// (mitmproxy's websocket-inject-message example polls
// flow.websocket.timestamp_end in a task) sees the messages as they come
// and the end of the connection, even without a websocket_end handler.
func TestWebSocketKeptFlow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keep.py"), `
kept = {}

def websocket_start(flow):
    kept["flow"] = flow

def websocket_message(flow):
    k = kept["flow"]
    flow.metadata["kept"] = [len(k.websocket.messages), k.websocket.messages[-1].content.decode(),
                             k.websocket.timestamp_end is None]

def request(flow):
    k = kept["flow"].websocket
    flow.request.headers["x-kept"] = "%d %s %s %s" % (len(k.messages), k.timestamp_end is not None, k.close_code,
                                                      k.closed_by_client)
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "keep.py"))
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	f.WebSocket = &flow.WebSocketData{}
	e.m.WebSocketStart(f)
	for i := range 3 {
		f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, Content: []byte(fmt.Sprint(i)), Timestamp: 1})
		e.m.WebSocketMessage(f)
		if got, _ := f.Metadata.Get("kept"); mustJSON(got) != fmt.Sprintf(`[%d,"%d",true]`, i+1, i) {
			t.Fatalf("message %d: the kept flow shows %s", i, mustJSON(got))
		}
	}
	byServer := false
	f.WebSocket.ClosedByClient, f.WebSocket.CloseCode, f.WebSocket.TimestampEnd = &byServer, 1001, 3
	e.m.WebSocketEnd(f)
	g := newFlow(t, "GET", "http://example.com/later", 0, "")
	e.m.Request(g)
	if got := g.Request.Headers.Get("x-kept"); got != "3 True 1001 False" {
		t.Errorf("after the end the kept flow shows %q", got)
	}
}

// TestStreamFuncTimeout: a stream callable that runs past
// script_hook_timeout is interrupted and ends the stream, naming the
// script.
func TestStreamFuncTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slow.py"), `
import time

def slow(data):
    time.sleep(30)
    return data

def responseheaders(flow):
    flow.response.stream = slow
`)
	e := newEnv(t, Config{}, []string{"script_hook_timeout=1"}, filepath.Join(dir, "slow.py"))
	f := newFlow(t, "GET", "http://example.com/", 200, "")
	e.m.ResponseHeaders(f)
	start := time.Now()
	_, err := f.Response.StreamFunc([]byte("x"))
	if err == nil || !strings.Contains(err.Error(), "script_hook_timeout") || !strings.Contains(err.Error(), "slow.py") {
		t.Errorf("slow stream function: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	// The host goes on serving.
	g := newFlow(t, "GET", "http://example.com/", 200, "")
	e.m.ResponseHeaders(g)
	if g.Response.StreamFunc == nil {
		t.Error("no StreamFunc after the timeout")
	}
}
