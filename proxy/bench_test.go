package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
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

// BenchmarkRoundTripChunked is BenchmarkRoundTrip/Proxy with a chunked
// response (8 KiB chunks), as servers send bodies they generate: the proxy
// reads it whole before the response hook, without knowing its size.
func BenchmarkRoundTripChunked(b *testing.B) {
	for _, size := range []int{200, 64 << 10} {
		var wire strings.Builder
		wire.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
		for left := size; left > 0; left -= min(left, 8<<10) {
			fmt.Fprintf(&wire, "%x\r\n%s\r\n", min(left, 8<<10), strings.Repeat("x", min(left, 8<<10)))
		}
		wire.WriteString("0\r\n\r\n")
		resp := []byte(wire.String())
		origin := testutil.StartRawOrigin(b, func(c net.Conn, r *bufio.Reader) {
			for {
				if _, err := testutil.ReadRequest(r); err != nil {
					return
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}).Addr
		b.Run(fmt.Sprintf("Proxy/%d", size), func(b *testing.B) {
			c, err := net.Dial("tcp", startProxyB(b))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			req := []byte("GET http://" + origin + "/ HTTP/1.1\r\nHost: bench\r\nAccept: */*\r\n\r\n")
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				// The head, then the chunks up to the last (empty) one's
				// blank line.
				for blanks := 0; blanks < 2; {
					line, err := br.ReadSlice('\n')
					if err != nil {
						b.Fatal(err)
					}
					if string(line) == "\r\n" {
						blanks++
					} else if blanks == 1 && line[0] != '0' {
						n, _ := strconv.ParseInt(strings.TrimSpace(string(line)), 16, 64)
						if _, err := br.Discard(int(n) + 2); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		})
	}
}
