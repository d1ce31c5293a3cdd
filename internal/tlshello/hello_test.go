package tlshello

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// captureHello records the bytes a real crypto/tls client sends.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	go func() {
		_ = tls.Client(c1, cfg).Handshake()
		c1.Close()
	}()
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16<<10)
	n, _ := c2.Read(buf)
	c2.Close()
	return buf[:n]
}

func TestPeekRealClientHello(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		sni  string
		alpn []string
	}{
		{"sni and alpn", &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}}, "example.com", []string{"h2", "http/1.1"}},
		{"no sni", &tls.Config{InsecureSkipVerify: true}, "", nil},
		{"large hello", &tls.Config{ServerName: strings.Repeat("a", 60) + ".example.com", NextProtos: manyProtos()}, strings.Repeat("a", 60) + ".example.com", manyProtos()},
		{"tls12 only", &tls.Config{ServerName: "a.b", MaxVersion: tls.VersionTLS12}, "a.b", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := captureHello(t, tc.cfg)
			br := bufio.NewReader(bytes.NewReader(raw))
			h, err := Peek(br)
			if err != nil {
				t.Fatal(err)
			}
			if h.SNI != tc.sni || len(h.ALPN) != len(tc.alpn) {
				t.Fatalf("got %+v", h)
			}
			for i := range tc.alpn {
				if h.ALPN[i] != tc.alpn[i] {
					t.Fatalf("alpn %v", h.ALPN)
				}
			}
			// Peek consumes nothing.
			if br.Buffered() != len(raw) {
				t.Errorf("buffered %d of %d", br.Buffered(), len(raw))
			}
		})
	}
}

// manyProtos makes a hello of several hundred bytes, whose length needs
// every byte of the handshake length field.
func manyProtos() []string {
	var p []string
	for i := 0; i < 60; i++ {
		p = append(p, fmt.Sprintf("proto-%02d", i))
	}
	return p
}

func TestNotTLS(t *testing.T) {
	_, err := Peek(bufio.NewReader(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n"))))
	if err != ErrNotTLS {
		t.Fatalf("err %v", err)
	}
}

func FuzzPeek(f *testing.F) {
	f.Add(captureHello(f, &tls.Config{ServerName: "example.com", NextProtos: []string{"http/1.1"}}))
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Peek(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
	})
}

// fragment re-records the handshake message of one captured record into
// records of at most size bytes, as a client or middlebox may send it.
func fragment(t testing.TB, raw []byte, size int) []byte {
	t.Helper()
	if len(raw) < 5 || int(raw[3])<<8|int(raw[4]) != len(raw)-5 {
		t.Fatalf("not one whole record: %d bytes", len(raw))
	}
	msg := raw[5:]
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, raw[0], raw[1], raw[2], byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// TestPeekFragmented: a hello split over several records parses as the
// whole one does (the first record then holds too little to parse in
// place), and Peek still consumes nothing.
func TestPeekFragmented(t *testing.T) {
	cfg := &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}}
	raw := captureHello(t, cfg)
	for _, size := range []int{1, 3, 4, 5, 100, 512, len(raw) - 6, len(raw) - 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := fragment(t, raw, size)
			br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
			h, err := Peek(br)
			if err != nil {
				t.Fatal(err)
			}
			if h.SNI != "example.com" || strings.Join(h.ALPN, ",") != "h2,http/1.1" {
				t.Errorf("got %+v", h)
			}
			if br.Buffered() != len(data) {
				t.Errorf("buffered %d of %d", br.Buffered(), len(data))
			}
		})
	}
}

// TestPeekBadLengths: lengths that contradict each other are errors, in
// the first record and across records.
func TestPeekBadLengths(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"message longer than 64 KiB", []byte{0x16, 3, 1, 0, 4, 1, 1, 0, 0}},
		{"body shorter than its length", []byte{0x16, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3}},
		{"second record not handshake", []byte{0x16, 3, 1, 0, 2, 1, 0, 0x17, 3, 3, 0, 1, 0}},
		{"zero-length record", []byte{0x16, 3, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := Peek(bufio.NewReader(bytes.NewReader(tt.data))); err == nil {
				t.Errorf("Peek = %+v, want an error", h)
			}
		})
	}
}

// BenchmarkPeek: what reading the hello of every intercepted connection
// costs, the usual one-record hello and one split over records.
//
//	go test -run '^$' -bench Peek -benchmem ./internal/tlshello
func BenchmarkPeek(b *testing.B) {
	raw := captureHello(b, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}})
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"OneRecord", raw},
		{"Fragmented", fragment(b, raw, 512)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := bytes.NewReader(bc.data)
			br := bufio.NewReaderSize(r, 32<<10)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(bc.data)
				br.Reset(r)
				if _, err := Peek(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
