package proxy_test

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestIdleConnMoved: an idle connection the proxy moved to a new
// goroutine (see clientConn.resume) is served as before: it takes the
// next request, and it is closed after tcp_timeout of idleness, counted
// from its last request, not from the move.
func TestIdleConnMoved(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	addr := startProxy(t, nil, "tcp_timeout=4")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func() {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := readResponseHead(br); err != nil {
			t.Fatalf("after %q: %v", resp, err)
		}
	}
	get()
	// The proxy moves connections only while it allocates little (under
	// quietAlloc a second): the check allocates next to nothing, however
	// often Eventually polls it. A moved connection waits in resume's own
	// frame, right under the wait for readability.
	buf := make([]byte, 1<<20)
	shallow := regexp.MustCompile(`\(\*sysIO\)\.waitReadable\([^\n]*\n[^\n]*\n[^\n]*\(\*clientConn\)\.resume\(`)
	moved := func() bool { return shallow.Match(buf[:runtime.Stack(buf, true)]) }
	// Moved at a quiet tick of the proxy's reclaimer, a second or two
	// after the request.
	testutil.Eventually(t, 10*time.Second, moved, "the idle connection moved to a new goroutine")
	get()
	last := time.Now()
	testutil.Eventually(t, 10*time.Second, moved, "the idle connection moved again")
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.Read(make([]byte, 1))
	// The deadline is at most tcp_timeout after the last request (the
	// proxy pushes it out at most every eighth of it).
	if took := time.Since(last); n != 0 || err == nil || took < 3*time.Second || took > 4500*time.Millisecond {
		t.Fatalf("idle connection not closed by tcp_timeout (4 s after its last request): %d %v after %s", n, err, took)
	}
}

// readResponseHead reads up to the end of the quiet origin's response.
func readResponseHead(br *bufio.Reader) (string, error) {
	var got strings.Builder
	for !strings.HasSuffix(got.String(), "hello") {
		b, err := br.ReadByte()
		if err != nil {
			return got.String(), err
		}
		got.WriteByte(b)
	}
	return got.String(), nil
}
