package proxy_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// tcpEchoOrigin echoes every connection's bytes back until it closes. It
// keeps nothing (testutil's RawOrigin records what it reads, which a long
// benchmark would fill memory with).
func tcpEchoOrigin(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// forgetTCPMessages keeps a TCP flow from holding every message, so that a
// long benchmark measures the relay, not the memory it fills.
type forgetTCPMessages struct{}

func (forgetTCPMessages) TCPMessage(f *flow.TCPFlow) {
	if n := len(f.Messages); n > 64 {
		f.Messages = append(f.Messages[:0], f.Messages[n-1])
	}
}

// BenchmarkTCPRelay: a TCP flow (a CONNECT tunnel carrying neither TLS nor
// HTTP) to an echo origin, directly and through an in-process proxy:
// "pingpong" sends 100 bytes and waits for their echo (the cost of one
// message each way), "bulk" streams 64 KiB writes while reading the echo.
func BenchmarkTCPRelay(b *testing.B) {
	for _, mode := range []string{"pingpong", "bulk"} {
		size := 100
		if mode == "bulk" {
			size = 64 << 10
		}
		for _, via := range []string{"direct", "mitmgo"} {
			b.Run(fmt.Sprintf("%s/%s/%dB", mode, via, size), func(b *testing.B) {
				origin := tcpEchoOrigin(b)
				var c net.Conn
				if via == "direct" {
					var err error
					if c, err = net.Dial("tcp", origin); err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { c.Close() })
				} else {
					addr := startProxyAddons(b, []any{forgetTCPMessages{}})
					var br interface{ Buffered() int }
					c, br, _ = testutil.ConnectTunnel(b, addr, origin)
					if br.Buffered() != 0 {
						b.Fatal("bytes after the CONNECT answer")
					}
				}
				c.SetDeadline(time.Now().Add(5 * time.Minute))
				msg := make([]byte, size)
				for i := range msg {
					msg[i] = byte(i) | 0x80 // never an HTTP request or a ClientHello
				}
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				if mode == "pingpong" {
					for range b.N {
						if _, err := c.Write(msg); err != nil {
							b.Fatal(err)
						}
						if _, err := io.ReadFull(c, buf); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				errc := make(chan error, 1)
				go func() {
					for range b.N {
						if _, err := c.Write(msg); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				if _, err := io.CopyN(io.Discard, c, int64(b.N)*int64(size)); err != nil {
					b.Fatal(err)
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
