package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// fastOrigin answers every request on a keep-alive connection with a fixed
// response of bodySize bytes.
func fastOrigin(b *testing.B, bodySize int) string {
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", bodySize, strings.Repeat("x", bodySize))
	o := testutil.StartRawOrigin(b, func(c net.Conn, r *bufio.Reader) {
		// One write per response, as a real server does.
		out := []byte(resp)
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	})
	return o.Addr
}

// benchRoundTrips sends b.N GET requests on one keep-alive connection to
// addr (the origin itself, or the proxy) and reads each response.
func benchRoundTrips(b *testing.B, addr, target string, bodySize int) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	benchConnRoundTrips(b, c, target, bodySize)
}

// benchConnRoundTrips sends b.N GET requests on c and reads each response;
// it closes c.
func benchConnRoundTrips(b *testing.B, c net.Conn, target string, bodySize int) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	req := []byte("GET " + target + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	body := make([]byte, bodySize)
	b.SetBytes(int64(bodySize))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
		}
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip compares a direct keep-alive request with the same
// request through the proxy (no addons), for small and 64 KiB bodies.
// Compare ns/op of the Direct and Proxy rows of one run.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{200, 64 << 10} {
		origin := fastOrigin(b, size)
		b.Run(fmt.Sprintf("Direct/%d", size), func(b *testing.B) {
			benchRoundTrips(b, origin, "/", size)
		})
		b.Run(fmt.Sprintf("Proxy/%d", size), func(b *testing.B) {
			proxyAddr := startProxyB(b)
			benchRoundTrips(b, proxyAddr, "http://"+origin+"/", size)
		})
	}
}
