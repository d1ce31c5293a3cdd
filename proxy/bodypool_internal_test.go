package proxy

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func TestBodyClass(t *testing.T) {
	tests := []struct {
		n    int64
		want int // class; -1: not pooled
	}{
		{0, -1},
		{minPooledBody - 1, -1},
		{minPooledBody, 0},
		{minPooledBody + 1, 1},
		{32 << 10, 1},
		{64 << 10, 2},
		{64<<10 + 1, 3},
		{maxPooledBody, bodyClasses - 1},
		{maxPooledBody + 1, -1},
	}
	for _, tt := range tests {
		if got := bodyClass(tt.n); got != tt.want {
			t.Errorf("bodyClass(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	var p bodyPool
	for _, tt := range tests {
		b := p.get(tt.n)
		capacity := -1
		if b != nil {
			capacity = cap(*b)
		}
		if (b == nil) != (tt.want < 0) || b != nil && capacity != minPooledBody<<tt.want {
			t.Errorf("get(%d) = buffer of capacity %d (-1: none)", tt.n, capacity)
		}
	}
	// A buffer of a foreign size is not taken.
	odd := make([]byte, 20<<10)
	p.put(&odd)
	if b := p.get(20 << 10); cap(*b) != 32<<10 {
		t.Errorf("put took a buffer of capacity %d", cap(odd))
	}
}

// sizedReader hands out up to chunk bytes per Read from total, and records
// the buffer sizes it was asked to fill.
type sizedReader struct {
	total, chunk int
	asked        []int
}

func (r *sizedReader) Read(p []byte) (int, error) {
	r.asked = append(r.asked, len(p))
	if r.total == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, r.total)
	r.total -= n
	return n, nil
}

// TestStreamBuffers: a trickling stream (server-sent events) keeps the small
// buffer; a bulk one moves to the large buffer after its first full read.
// Every byte arrives either way.
func TestStreamBuffers(t *testing.T) {
	tests := []struct {
		name         string
		chunk        int
		wantSmallFor int // reads asked with the small buffer
	}{
		{"trickle", 100, 11},
		{"bulk", 1 << 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &sizedReader{total: 1000, chunk: tt.chunk}
			if tt.chunk > 1000 {
				r.total = 1 << 20
			}
			want := r.total
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			var pool bodyPool
			b := &bodyStream{src: unsizedBody{r}, limit: -1}
			if _, err := b.copyTo(h1Sink{w: w}, &pool); err != nil {
				t.Fatal(err)
			}
			if out.Len() != want {
				t.Errorf("%d bytes forwarded, want %d", out.Len(), want)
			}
			small := 0
			for _, n := range r.asked {
				switch n {
				case streamBufSmall:
					small++
				case streamBufLarge:
				default:
					t.Fatalf("read with a %d-byte buffer", n)
				}
			}
			if small != tt.wantSmallFor {
				t.Errorf("%d reads with the small buffer (of %v), want %d", small, r.asked, tt.wantSmallFor)
			}
		})
	}
}

// unsizedBody is a body of unknown size without trailers.
type unsizedBody struct{ io.Reader }

func (unsizedBody) size() int64            { return -1 }
func (unsizedBody) trailers() flow.Headers { return nil }
