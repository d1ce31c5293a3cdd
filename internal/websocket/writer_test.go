package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		in      string
		want    string // Deflate.String(), or "" for none
		unknown []string
		err     bool
	}{
		{in: ""},
		{in: "permessage-deflate", want: "permessage-deflate"},
		{in: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			want: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{in: "permessage-deflate;client_max_window_bits=10; server_max_window_bits=9",
			want: "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"},
		{in: "permessage-deflate; client_max_window_bits", want: "permessage-deflate"},
		{in: `permessage-deflate; server_max_window_bits="12"`, want: "permessage-deflate; server_max_window_bits=12"},
		{in: "x-webkit-deflate-frame, permessage-deflate", want: "permessage-deflate", unknown: []string{"x-webkit-deflate-frame"}},
		{in: "permessage-deflate, permessage-deflate; server_no_context_takeover", want: "permessage-deflate"},
		{in: "foo; a=1, bar", unknown: []string{"foo", "bar"}},
		{in: "permessage-deflate; server_max_window_bits=8", err: true},
		{in: "permessage-deflate; client_max_window_bits=16", err: true},
		{in: "permessage-deflate; client_max_window_bits=x", err: true},
	}
	for _, tt := range tests {
		d, unknown, err := ParseExtensions(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("%q: no error", tt.in)
			}
			continue
		}
		got := ""
		if d != nil {
			got = d.String()
		}
		if err != nil || got != tt.want || fmt.Sprint(unknown) != fmt.Sprint(tt.unknown) {
			t.Errorf("%q: %q %q %v, want %q %q", tt.in, got, unknown, err, tt.want, tt.unknown)
		}
	}
}

func TestWriteClose(t *testing.T) {
	long := strings.Repeat("é", 70) // 140 bytes
	tests := []struct {
		code   int
		reason string
		want   string // the frame, hex
	}{
		{1000, "", "880203e8"},
		{1001, "bye", "880503e9627965"},
		{1005, "", "8800"},
		{0, "", "8800"},
		{1006, "", "880203e8"},
		{1015, "x", "880303e878"},
		{4000, "", "88020fa0"},
		// 123 bytes of reason do not fit a whole é: 122 go.
		{1000, long, "887c03e8" + strings.Repeat("c3a9", 61)},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w := NewWriter(&b, Server, nil)
		if err := w.WriteClose(tt.code, tt.reason); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", b.Bytes()); got != tt.want {
			t.Errorf("close %d %q: %s, want %s", tt.code, tt.reason, got, tt.want)
		}
		if err := w.WriteClose(1000, ""); err != ErrClosed {
			t.Errorf("second close: %v", err)
		}
		if err := w.WriteMessage(OpText, []byte("late"), nil); err != ErrClosed {
			t.Errorf("message after close: %v", err)
		}
		if !w.Closed() {
			t.Error("Closed() false")
		}
	}
}

func TestWriterFrames(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Server, nil)
	w.WriteMessage(OpText, []byte("Hello"), []int{3, 2})
	w.WriteControl(OpPing, []byte("Hello"))
	w.WriteMessage(OpBinary, nil, nil)
	// RFC 6455 section 5.7's fragmented text and ping, and an empty
	// binary message.
	if got := fmt.Sprintf("%x", b.Bytes()); got != "010348656c80026c6f890548656c6c6f8200" {
		t.Fatalf("%s", got)
	}
	// A client masks every frame with a fresh key.
	b.Reset()
	w = NewWriter(&b, Client, nil)
	w.WriteMessage(OpText, []byte("Hello"), nil)
	w.WriteMessage(OpText, []byte("Hello"), nil)
	r := bytes.NewReader(b.Bytes())
	h1, _ := ReadHeader(r)
	r.Seek(5, 1)
	h2, _ := ReadHeader(r)
	if !h1.Masked || !h2.Masked || h1.Mask == h2.Mask {
		t.Fatalf("masks %+v %+v", h1, h2)
	}
}

// TestRoundTrip: what a Writer sends, a Reader of the other side reads
// back, with the fragments it was sent in, with and without compression,
// every window size and context takeover.
func TestRoundTrip(t *testing.T) {
	exts := []string{"", "permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		"permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
		"permessage-deflate; server_max_window_bits=12; client_no_context_takeover"}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ext := range exts {
		for _, role := range []Role{Client, Server} {
			d, _, _ := ParseExtensions(ext)
			var b bytes.Buffer
			w := NewWriter(&b, role, d)
			type sent struct {
				op        Opcode
				payload   []byte
				fragments []int
			}
			var msgs []sent
			for range 40 {
				m := sent{op: OpBinary, payload: randomPayload(rng)}
				if rng.IntN(2) == 0 {
					m.op = OpText
					m.payload = bytes.Repeat([]byte("text é€ "), rng.IntN(2000))
				}
				if len(m.payload) > 3 && rng.IntN(2) == 0 {
					m.fragments = []int{1, len(m.payload) - 3, 2}
				}
				msgs = append(msgs, m)
				if err := w.WriteMessage(m.op, m.payload, m.fragments); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(4) == 0 {
					w.WriteControl(OpPing, []byte("p"))
				}
			}
			w.WriteClose(1000, "done")
			peer := Server
			if role == Server {
				peer = Client
			}
			r := NewReader(bufio.NewReader(&b), peer, d)
			i := 0
			for {
				ev, err := r.Next()
				if err != nil {
					t.Fatalf("%q %s: message %d: %v", ext, role, i, err)
				}
				if ev.Opcode == OpPing {
					continue
				}
				if ev.Opcode == OpClose {
					if ev.CloseCode != 1000 || ev.CloseReason != "done" || i != len(msgs) {
						t.Fatalf("%q %s: close %v after %d messages", ext, role, ev, i)
					}
					break
				}
				m := msgs[i]
				if ev.Opcode != m.op || !bytes.Equal(ev.Payload, m.payload) || ev.Compressed != (d != nil) {
					t.Fatalf("%q %s: message %d differs: %s, %d bytes (compressed %v)", ext, role, i, ev.Opcode, len(ev.Payload), ev.Compressed)
				}
				if len(ev.Fragments) != len(m.fragments) || d == nil && fmt.Sprint(ev.Fragments) != fmt.Sprint(m.fragments) {
					t.Fatalf("%q %s: message %d fragments %v, sent %v", ext, role, i, ev.Fragments, m.fragments)
				}
				i++
			}
		}
	}
}

func randomPayload(rng *rand.Rand) []byte {
	n := []int{0, 1, 100, 4000, 70000}[rng.IntN(5)]
	b := make([]byte, n)
	for i := range b {
		// Compressible, with repeats further apart than small windows.
		b[i] = byte(i%700) ^ byte(rng.IntN(2))
	}
	return b
}

// TestCompressedForWsproto: what a Writer compresses, with each window
// size a handshake may ask for and context takeover or not, wsproto
// (zlib, which refuses references beyond the window) decompresses.
func TestCompressedForWsproto(t *testing.T) {
	python := pyoracle.Find(t, "/usr/bin/python3", "wsproto")
	script, err := os.ReadFile(filepath.Join("testdata", "wsproto_oracle.py"))
	if err != nil {
		t.Fatal(err)
	}
	type oracleCase struct {
		Role string `json:"role"`
		Ext  string `json:"ext"`
		Data string `json:"data"`
	}
	var cases []oracleCase
	var want [][]string
	rng := rand.New(rand.NewPCG(5, 6))
	for bits := 9; bits <= 15; bits++ {
		for _, takeover := range []string{"", "; server_no_context_takeover"} {
			ext := fmt.Sprintf("permessage-deflate; server_max_window_bits=%d%s", bits, takeover)
			d, _, _ := ParseExtensions(ext)
			var b bytes.Buffer
			w := NewWriter(&b, Server, d)
			var events []string
			for range 4 {
				p := randomPayload(rng)
				if len(p) > 3 && rng.IntN(2) == 0 {
					w.WriteMessage(OpBinary, p, []int{len(p) - 3, 3})
				} else {
					w.WriteMessage(OpBinary, p, nil)
				}
				events = append(events, fmt.Sprintf("BINARY %x", p))
			}
			w.WriteClose(1001, "")
			events = append(events, "CLOSE 1001 ")
			cases = append(cases, oracleCase{Role: "client", Ext: ext, Data: fmt.Sprintf("%x", b.Bytes())})
			want = append(want, events)
		}
	}
	var got [][]string
	pyoracle.Run(t, python, string(script), cases, &got)
	for i := range cases {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			g := fmt.Sprint(got[i])
			t.Errorf("%s: wsproto read %.300s", cases[i].Ext, g)
		}
	}
}

func TestRefragment(t *testing.T) {
	euro := []byte(strings.Repeat("€", 3000)) // 9000 bytes
	tests := []struct {
		name     string
		payload  []byte
		original []int
		text     bool
		want     []int
	}{
		{"unchanged length", make([]byte, 10), []int{3, 7}, false, []int{3, 7}},
		{"one frame", make([]byte, 10), []int{10}, false, nil},
		{"changed, small", make([]byte, 11), []int{3, 7}, false, nil},
		{"changed, large", make([]byte, 8001), []int{1}, false, []int{4000, 4000, 1}},
		{"exactly two pieces", make([]byte, 8000), nil, false, []int{4000, 4000}},
		{"injected empty", nil, nil, false, nil},
		{"injected 4000", make([]byte, 4000), nil, false, nil},
		{"text on characters", euro, nil, true, []int{3999, 3999, 1002}},
		{"text, original split", []byte("a€b"), []int{2, 3}, true, []int{1, 4}},
	}
	for _, tt := range tests {
		if got := Refragment(tt.payload, tt.original, tt.text); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"a\xffb", "a\ufffdb"},
		// A cut-short character is one replacement, as in Python.
		{"a\xe2\x82", "a\ufffd"},
		{"\xe2\x82(", "\ufffd("},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"\xf0\x9d\x84", "\ufffd"},
		{"\xc0\xaf", "\ufffd\ufffd"},
	}
	for _, tt := range tests {
		if got := string(ValidUTF8([]byte(tt.in))); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWriterConcurrent: messages written from several goroutines come out
// whole (run with -race).
func TestWriterConcurrent(t *testing.T) {
	d := &Deflate{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	var b lockedBuffer
	w := NewWriter(&b, Client, d)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				m := fmt.Appendf(nil, "g%d-%d %s", g, i, strings.Repeat("x", i*50))
				w.WriteMessage(OpText, m, []int{1, len(m) - 1})
				w.WriteControl(OpPing, nil)
			}
		})
	}
	wg.Wait()
	r := NewReader(bytes.NewReader(b.b.Bytes()), Server, d)
	n := 0
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Opcode == OpText {
			n++
		}
	}
	if n != 200 {
		t.Fatalf("read %d whole messages, want 200", n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
