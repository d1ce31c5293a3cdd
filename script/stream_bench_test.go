package script

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// BenchmarkStreamFunc measures one chunk through a Python stream callable
// (mitmproxy's http-stream-modify: data.replace(b"foo", b"bar")): the
// proxy's cost per chunk of a streamed body a script transforms. Streamed
// bodies pass in chunks of up to 32 KiB, then 256 KiB.
func BenchmarkStreamFunc(b *testing.B) {
	dir := b.TempDir()
	writeBench(b, filepath.Join(dir, "modify.py"), `
def modify(data):
    return data.replace(b"foo", b"bar")

def responseheaders(flow):
    flow.response.stream = modify
`)
	e := newEnv(b, Config{}, nil, filepath.Join(dir, "modify.py"))
	f := newFlow(b, "GET", "http://example.com/", 200, "")
	e.m.ResponseHeaders(f)
	fn := f.Response.StreamFunc
	if fn == nil {
		b.Fatal("no StreamFunc")
	}
	for _, size := range []int{100, 32 << 10, 256 << 10} {
		chunk := make([]byte, size)
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			reportCPU(b, e, func() {
				for b.Loop() {
					if _, err := fn(chunk); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkWebSocketMessageHook measures websocket_message with a one-line
// Python handler, after a session of 10,000 messages: the cost stays flat
// (only the newest message travels).
func BenchmarkWebSocketMessageHook(b *testing.B) {
	dir := b.TempDir()
	writeBench(b, filepath.Join(dir, "ws.py"), `
def websocket_message(flow):
    flow.websocket.messages[-1].content = flow.websocket.messages[-1].content.replace(b"a", b"b")
`)
	e := newEnv(b, Config{}, nil, filepath.Join(dir, "ws.py"))
	f := newFlow(b, "GET", "http://example.com/ws", 101, "")
	f.WebSocket = &flow.WebSocketData{}
	for _, prior := range []int{0, 10000} {
		b.Run(fmt.Sprintf("after-%d", prior), func(b *testing.B) {
			for len(f.WebSocket.Messages) < prior {
				f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, Content: []byte("x"), Timestamp: 1})
			}
			e.m.WebSocketMessage(f)
			reportCPU(b, e, func() {
				for b.Loop() {
					f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, FromClient: true, Content: make([]byte, 100), Timestamp: 1})
					e.m.WebSocketMessage(f)
				}
			})
		})
	}
}

func writeBench(b testing.TB, path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}
