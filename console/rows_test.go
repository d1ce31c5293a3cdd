package console

import (
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestRowURL: the URL a row draws, made from the row alone, is the
// request's pretty URL, cleaned, for every shape of request.
func TestRowURL(t *testing.T) {
	tests := []struct {
		name        string
		method, url string
		host        string // the Host header ("" for none)
		authority   string
		version     string
	}{
		{"origin form", "GET", "http://example.com/a?b=c", "example.com", "", "HTTP/1.1"},
		{"host header with port", "GET", "http://example.com:8080/x", "example.com:8080", "", "HTTP/1.1"},
		{"host header differs", "GET", "http://10.0.0.1/x", "virtual.example:81", "", "HTTP/1.1"},
		{"no host header", "GET", "https://example.com:8443/x", "", "", "HTTP/1.1"},
		{"ipv6", "GET", "http://[::1]:8000/x", "[::1]:8000", "", "HTTP/1.1"},
		{"absolute form", "GET", "http://example.com/p", "example.com", "example.com:80", "HTTP/1.1"},
		{"http2 authority", "GET", "https://example.com/h2", "", "example.com", "HTTP/2.0"},
		{"connect", "CONNECT", "http://example.com:443/", "", "example.com:443", "HTTP/1.1"},
		{"asterisk", "OPTIONS", "http://example.com/", "example.com", "", "HTTP/1.1"},
		{"control characters", "GET", "http://example.com/a%0Ab", "exa\x1bmple.com", "", "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := httpFlow(t, tt.method, tt.url, 200, "x", t0)
			q := f.Request
			q.Headers = flow.NewHeaders()
			if tt.host != "" {
				q.Headers = flow.NewHeaders("Host", tt.host)
			}
			q.Authority, q.HTTPVersion = tt.authority, tt.version
			if tt.name == "asterisk" {
				q.Path = "*"
			}
			if tt.name == "control characters" {
				q.Path = "/a\nb\x07"
			}
			d := summarize(f, nil).display()
			if want := clean(q.PrettyURL()); d.url != want {
				t.Errorf("url %q, want %q", d.url, want)
			}
			if want := clean(q.PrettyHost()); d.host != want {
				t.Errorf("host %q, want %q", d.host, want)
			}
			if want := clean(q.Path); d.path != want {
				t.Errorf("path %q, want %q", d.path, want)
			}
		})
	}
}

// TestRowKept: a hook that changes nothing shown keeps the row (and the
// lines drawn of it); a change, or the flow view watching, renews it.
func TestRowKept(t *testing.T) {
	c := newRowCache()
	f := httpFlow(t, "GET", "http://example.com/", 200, "x", t0)
	c.update(f, true)
	r1 := c.get(f.ID)
	c.update(f, false)
	if c.get(f.ID) != r1 {
		t.Error("an unchanged flow got a new row")
	}
	c.update(f, true)
	r2 := c.get(f.ID)
	if r2 == r1 {
		t.Error("a fresh row was not taken")
	}
	f.Response.StatusCode = 500
	c.update(f, false)
	if r3 := c.get(f.ID); r3 == r2 || r3.code != 500 {
		t.Errorf("a changed flow kept its row (code %d)", r3.code)
	}
	if c.len() != 1 {
		t.Errorf("%d rows", c.len())
	}
	c.remove(f.ID)
	if c.len() != 0 || c.get(f.ID) != nil {
		t.Errorf("%d rows after remove", c.len())
	}
}

// BenchmarkRowUpdate is the console's work at one hook of a flow: the row
// taken, and kept when the flow shows as before.
func BenchmarkRowUpdate(b *testing.B) {
	c := newRowCache()
	f := httpFlow(b, "GET", "http://example.com/item/1", 200, `{"ok": true}`, t0)
	c.update(f, true)
	b.ReportAllocs()
	for b.Loop() {
		c.update(f, false)
	}
}

// BenchmarkWatchedWebSocketHook is the console's copy of the flow the flow
// view shows, at one websocket_message hook of a flow with 1,000 messages
// of 256 bytes (a new last message each time).
func BenchmarkWatchedWebSocketHook(b *testing.B) {
	s := &flowSnaps{}
	f := httpFlow(b, "GET", "http://example.com/ws", 101, "", t0)
	f.WebSocket = &flow.WebSocketData{}
	body := []byte(strings.Repeat("x", 256))
	for range 1000 {
		f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, Content: body, Timestamp: t0})
	}
	s.watch(f.ID)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.WebSocket.Messages[999] = &flow.WebSocketMessage{Type: 1, Content: body, Timestamp: t0 + float64(i)}
		if !s.take(f) {
			b.Fatal("not watched")
		}
	}
}
