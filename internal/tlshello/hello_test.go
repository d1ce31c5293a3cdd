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
