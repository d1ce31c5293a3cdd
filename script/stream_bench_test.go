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
// (only the newest message travels). The 64k cases are 64 KiB messages
// with the bench harness's handler (content += b"", which reads the content
// and sets it to an equal value): what travels both ways per message.
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

// BenchmarkWebSocketMessageHook64k is websocket_message with 64 KiB
// messages and the harness's handler, a fresh flow every 200 messages (as
// a connection of the harness is).
func BenchmarkWebSocketMessageHook64k(b *testing.B) {
	dir := b.TempDir()
	writeBench(b, filepath.Join(dir, "ws.py"), `
def websocket_message(flow): flow.websocket.messages[-1].content += b""
`)
	e := newEnv(b, Config{}, nil, filepath.Join(dir, "ws.py"))
	content := make([]byte, 64<<10)
	var f *flow.HTTPFlow
	reportCPU(b, e, func() {
		for i := 0; b.Loop(); i++ {
			if i%200 == 0 {
				if f != nil {
					e.m.WebSocketEnd(f)
				}
				f = newFlow(b, "GET", "http://example.com/ws", 101, "")
				f.WebSocket = &flow.WebSocketData{}
			}
			f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 2, FromClient: i%2 == 0, Content: content, Timestamp: 1})
			e.m.WebSocketMessage(f)
		}
	})
}
