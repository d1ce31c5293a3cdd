package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/h1"
)

// chunked encodes body in chunks of at most size bytes, with a trailer.
func chunked(body []byte, size int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\nX-Check: done\r\n\r\n")
	return b.String()
}

// TestReadUnsized: a body whose end only its framing tells (chunked, or
// the connection's end) is read whole, into a recycled buffer once it
// fills the first 512 bytes (one buffer kept for the flow, none beyond the
// pool's classes); past body_size_limit it fails, past stream_large_bodies
// it streams with what was read so far.
func TestReadUnsized(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		untilClose bool
		limit      int64 // body_size_limit
		stream     int64 // stream_large_bodies
		wantErr    error
		wantStream bool
		wantPooled int
	}{
		{name: "empty", size: 0, limit: -1, stream: -1},
		{name: "200 B", size: 200, limit: -1, stream: -1},
		{name: "511 B", size: 511, limit: -1, stream: -1},
		// Full, the first buffer needs room for the read that finds the
		// end.
		{name: "512 B", size: 512, limit: -1, stream: -1, wantPooled: 1},
		{name: "4 KiB + 1", size: 4097, limit: -1, stream: -1, wantPooled: 1},
		{name: "64 KiB", size: 64 << 10, limit: -1, stream: -1, wantPooled: 1},
		{name: "64 KiB until close", size: 64 << 10, untilClose: true, limit: -1, stream: -1, wantPooled: 1},
		{name: "1 MiB - 1", size: 1<<20 - 1, limit: -1, stream: -1, wantPooled: 1},
		{name: "beyond the classes", size: 3<<20 + 5, limit: -1, stream: -1},
		{name: "at body_size_limit", size: 100 << 10, limit: 100 << 10, stream: -1, wantPooled: 1},
		{name: "past body_size_limit", size: 100<<10 + 1, limit: 100 << 10, stream: -1, wantErr: h1.ErrBodyTooLarge},
		{name: "past stream_large_bodies", size: 100 << 10, limit: -1, stream: 20 << 10, wantStream: true, wantPooled: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16+1)[:tt.size]
			src := &h1Body{framing: h1.Framing{Kind: h1.Chunked}}
			wire := chunked(body, 1000)
			if tt.untilClose {
				src.framing.Kind, wire = h1.UntilClose, string(body)
			}
			src.br = bufio.NewReader(strings.NewReader(wire))
			r := &flowRun{cc: &clientConn{s: &Server{}}, cfg: &Config{BodySizeLimit: tt.limit, StreamLargeBodies: tt.stream}}
			r.pooled = r.pooledArr[:0]
			got, trailers, stream, err := r.readUnsized(src)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(r.pooled) != tt.wantPooled {
				t.Errorf("%d buffers kept for the flow, want %d", len(r.pooled), tt.wantPooled)
			}
			if err != nil {
				return
			}
			if (stream != nil) != tt.wantStream {
				t.Fatalf("streamed: %v, want %v", stream != nil, tt.wantStream)
			}
			if stream != nil {
				if int64(len(stream.prefix)) <= tt.stream || !bytes.Equal(stream.prefix, body[:len(stream.prefix)]) {
					t.Errorf("stream prefix of %d bytes, not the body's first ones past %d", len(stream.prefix), tt.stream)
				}
				return
			}
			if got == nil || !bytes.Equal(got, body) {
				t.Fatalf("body of %d bytes, want the %d sent", len(got), len(body))
			}
			if cap(got) != len(got) {
				t.Errorf("body capacity %d beyond its length %d: an addon's append would write into the buffer", cap(got), len(got))
			}
			if want := "done"; !tt.untilClose && trailers.Get("X-Check") != want {
				t.Errorf("trailers %v, want X-Check: %s", trailers, want)
			}
		})
	}
}

// TestReadUnsizedError: a malformed chunked body fails as h1.ReadBody
// words it.
func TestReadUnsizedError(t *testing.T) {
	src := &h1Body{framing: h1.Framing{Kind: h1.Chunked}, br: bufio.NewReader(strings.NewReader("zz\r\nabc\r\n0\r\n\r\n"))}
	r := &flowRun{cc: &clientConn{s: &Server{}}, cfg: &Config{BodySizeLimit: -1, StreamLargeBodies: -1}}
	_, _, _, err := r.readUnsized(src)
	if err == nil || !strings.HasPrefix(err.Error(), "reading chunked body: ") || protocolError(err) == nil {
		t.Fatalf("error %v, want a protocol error worded as h1.ReadBody's", err)
	}
}
