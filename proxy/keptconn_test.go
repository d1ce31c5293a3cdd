package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestKeptConnClosedRetriedOnce: a kept server connection the server closed
// meanwhile is noticed when the next request goes out on it, and the
// request is sent once more on a new connection (roundTrip's
// keptConnFailed, out of line since the hot path was split); a server that
// fails that one too gets a 502, not a third try. With and without debug
// logging, whose path differs.
func TestKeptConnClosedRetriedOnce(t *testing.T) {
	for _, debug := range []string{"false", "true"} {
		t.Run("debug="+debug, func(t *testing.T) {
			var conns, closed atomic.Int32
			origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
				defer closed.Add(1)
				n := conns.Add(1)
				if _, err := testutil.ReadRequest(r); err != nil || n >= 2 {
					return // the second connection closes unanswered
				}
				// The first answers, keeps the connection alive as far as
				// the proxy knows, then closes it.
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			})
			addr := startProxyAddons(t, nil, "proxy_debug="+debug)
			c := dial(t, addr)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			req := "GET http://" + origin.Addr + "/ HTTP/1.1\r\nHost: x\r\n\r\n"
			_, _ = io.WriteString(c, req)
			// The whole response, up to its body "hello".
			if resp, err := readResponseHead(br); err != nil || !strings.HasPrefix(resp, "HTTP/1.1 200") {
				t.Fatalf("first response: %q %v", resp, err)
			}
			testutil.Eventually(t, 5*time.Second, func() bool { return closed.Load() == 1 }, "the origin to close the first connection")
			_, _ = io.WriteString(c, req)
			if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 502") {
				t.Fatalf("second response: %q %v", line, err)
			}
			if n := conns.Load(); n != 2 {
				t.Fatalf("%d server connections, want 2 (one retry)", n)
			}
		})
	}
}
