package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
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
// the idle watch at once, plain and intercepted HTTPS ones, and returns
// without waiting for their deadline.
func TestShutdownClosesParkedConns(t *testing.T) {
	handle := func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	}
	origin := testutil.StartRawOrigin(t, handle)
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	serverTLS := &tls.Config{Certificates: hs.TLS.Certificates}
	hs.Close()
	tlsOrigin := serveTLS(t, serverTLS, func(c net.Conn) { handle(c, bufio.NewReader(c)) })
	for _, https := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[https], func(t *testing.T) {
			confdir := t.TempDir()
			srv, ln := listenProxy(t, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true")
			served := make(chan struct{})
			go func() { _ = srv.Serve(ln); close(served) }()
			const n = 5
			conns := make([]net.Conn, n)
			for i := range conns {
				var c net.Conn
				target := "http://" + origin.Addr + "/"
				if https {
					raw, _, status := testutil.ConnectTunnel(t, ln.Addr().String(), tlsOrigin)
					if status != "HTTP/1.1 200 Connection established" {
						t.Fatalf("status %q", status)
					}
					c = tls.Client(raw, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "example.com", NextProtos: []string{"http/1.1"}})
					target = "/"
				} else {
					var err error
					if c, err = net.Dial("tcp", ln.Addr().String()); err != nil {
						t.Fatal(err)
					}
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: example.com\r\n\r\n")
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
		})
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

// splitConn writes each of its writes in two pieces, pause apart, once
// split is set: a client whose TLS record arrives in two parts.
type splitConn struct {
	net.Conn
	split atomic.Bool
	pause time.Duration
}

func (c *splitConn) Write(p []byte) (int, error) {
	if !c.split.Load() || len(p) < 20 {
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(p[:10])
	if err != nil {
		return n, err
	}
	// The client's pacing (what is tested is a record whose rest comes
	// after the proxy moved the connection), not a wait for a condition.
	<-time.After(c.pause)
	m, err := c.Conn.Write(p[10:])
	return n + m, err
}

// TestIdleTLSConnParked: an intercepted HTTPS connection (HTTP/1 in a
// CONNECT tunnel) idle between requests waits in the idle watch with no
// goroutine, as a plain one does (see clientConn.tunnelMovable), and is
// served as before: its next request after a long idle, a request whose
// first TLS record arrives in two parts around a move, requests at every
// pace around the moves, the client's close (its server connection
// closes), and tcp_timeout counted from its last request.
func TestIdleTLSConnParked(t *testing.T) {
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	serverTLS := &tls.Config{Certificates: hs.TLS.Certificates}
	hs.Close()
	var closed atomic.Int32
	origin := serveTLS(t, serverTLS, func(c net.Conn) {
		defer closed.Add(1)
		r := bufio.NewReader(c)
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	confdir := t.TempDir()
	addr := startProxyAddons(t, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true", "tcp_timeout=4")
	pool := caPool(t, confdir)
	type client struct {
		raw *splitConn
		tc  *tls.Conn
		br  *bufio.Reader
	}
	dial := func() *client {
		t.Helper()
		c, _, status := testutil.ConnectTunnel(t, addr, origin)
		if status != "HTTP/1.1 200 Connection established" {
			t.Fatalf("status %q", status)
		}
		sc := &splitConn{Conn: c, pause: 3 * moveTickForTests}
		// HTTP/1.1 only: an HTTP/2 connection is not moved.
		tc := tls.Client(sc, &tls.Config{RootCAs: pool, ServerName: "example.com", NextProtos: []string{"http/1.1"}})
		t.Cleanup(func() { tc.Close() })
		return &client{sc, tc, bufio.NewReader(tc)}
	}
	get := func(c *client) error {
		_ = c.tc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c.tc, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"); err != nil {
			return err
		}
		if resp, err := readResponseHead(c.br); err != nil {
			return fmt.Errorf("after %q: %w", resp, err)
		}
		return nil
	}
	mustGet := func(c *client) {
		t.Helper()
		if err := get(c); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<20)
	serving := regexp.MustCompile(`\(\*clientConn\)\.(serve|resume)\(`)
	parked := func() bool { return !serving.Match(buf[:runtime.Stack(buf, true)]) }

	c := dial()
	mustGet(c)
	testutil.Eventually(t, 10*time.Second, parked, "no goroutine serves the idle HTTPS connection")
	mustGet(c)
	testutil.Eventually(t, 10*time.Second, parked, "no goroutine serves the idle HTTPS connection after its second request")

	// A record in two parts: the connection is moved while the first
	// waits inside the TLS session, and goes on when the rest comes.
	c.raw.split.Store(true)
	mustGet(c)
	c.raw.split.Store(false)
	testutil.Eventually(t, 10*time.Second, parked, "parked again after a split record")

	// Requests at paces around the moves (every 0 to 600 ms), on a few
	// connections at once: none is lost or stranded by a move.
	errs := make(chan error, 4)
	for i := range 4 {
		pc := dial()
		go func() {
			for gap := time.Duration(i) * 10 * time.Millisecond; gap < 600*time.Millisecond; gap += 75 * time.Millisecond {
				<-time.After(gap) // the client's pacing
				if err := get(pc); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mustGet(c)
	last := time.Now()

	// The client's close ends a parked connection: its server connection
	// closes.
	c2 := dial()
	mustGet(c2)
	testutil.Eventually(t, 10*time.Second, parked, "the second connection parked")
	before := closed.Load()
	c2.tc.Close()
	testutil.Eventually(t, 10*time.Second, func() bool { return closed.Load() > before },
		"the server connection of a parked HTTPS connection whose client closed is closed")

	_ = c.tc.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.tc.Read(make([]byte, 1))
	if took := time.Since(last); n != 0 || err == nil || took < 3*time.Second || took > 4500*time.Millisecond {
		t.Fatalf("idle HTTPS connection not closed by tcp_timeout (4 s after its last request): %d %v after %s", n, err, took)
	}
}

// moveTickForTests is the proxy's moveTick (proxy.moveTick; this test is
// outside the package).
const moveTickForTests = 250 * time.Millisecond
