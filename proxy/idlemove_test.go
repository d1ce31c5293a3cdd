package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestIdleConnParked: a plain connection idle between requests waits in
// the proxy's idle watch with no goroutine (see clientConn.parkIn), and is
// served as before: it takes the next request, it is closed after
// tcp_timeout of idleness counted from its last request, and its
// client's close ends it.
func TestIdleConnParked(t *testing.T) {
	var closed atomic.Int32
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		defer closed.Add(1)
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	addr := startProxy(t, nil, "tcp_timeout=4")
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, br *bufio.Reader) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := readResponseHead(br); err != nil {
			t.Fatalf("after %q: %v", resp, err)
		}
	}
	buf := make([]byte, 1<<20)
	serving := regexp.MustCompile(`\(\*clientConn\)\.(serve|resume)\(`)
	parked := func() bool { return !serving.Match(buf[:runtime.Stack(buf, true)]) }

	c, br := dial()
	get(c, br)
	testutil.Eventually(t, 10*time.Second, parked, "no goroutine serves the idle connection")
	get(c, br)
	last := time.Now()
	testutil.Eventually(t, 10*time.Second, parked, "no goroutine serves the idle connection after its second request")

	// The client's close ends another parked connection: its server
	// connection closes.
	c2, br2 := dial()
	get(c2, br2)
	testutil.Eventually(t, 10*time.Second, parked, "the second connection parked")
	before := closed.Load()
	c2.Close()
	testutil.Eventually(t, 10*time.Second, func() bool { return closed.Load() > before },
		"the server connection of a parked connection whose client closed is closed")

	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.Read(make([]byte, 1))
	// The deadline is tcp_timeout after the last request.
	if took := time.Since(last); n != 0 || err == nil || took < 3*time.Second || took > 4500*time.Millisecond {
		t.Fatalf("idle connection not closed by tcp_timeout (4 s after its last request): %d %v after %s", n, err, took)
	}
}

// TestShutdownClosesParkedConns: Shutdown closes the connections parked in
// the idle watch at once, and returns without waiting for its deadline.
func TestShutdownClosesParkedConns(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	srv, ln := listenProxy(t, nil)
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	const n = 5
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := readResponseHead(bufio.NewReader(c)); err != nil {
			t.Fatalf("after %q: %v", resp, err)
		}
		conns[i] = c
	}
	buf := make([]byte, 1<<20)
	serving := regexp.MustCompile(`\(\*clientConn\)\.(serve|resume)\(`)
	testutil.Eventually(t, 10*time.Second, func() bool { return !serving.Match(buf[:runtime.Stack(buf, true)]) },
		"the idle connections parked")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil (every connection was idle)", err)
	}
	<-served
	for i, c := range conns {
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("connection %d still open after Shutdown: %d %v", i, n, err)
		}
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
