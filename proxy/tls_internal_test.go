package proxy

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

func TestClientTLSErrorText(t *testing.T) {
	tests := []struct{ err, want string }{
		{"remote error: tls: unknown certificate authority", "tls: unknown certificate authority"},
		{"remote error: tls: bad certificate", "tls: bad certificate"},
		// What an OpenSSL client's rejection looks like to crypto/tls.
		{"local error: tls: bad record MAC", "the client aborted the handshake after our certificate; local error: tls: bad record MAC"},
		{"EOF", "EOF"},
	}
	for _, tt := range tests {
		if got := clientTLSErrorText(errors.New(tt.err)); got != tt.want {
			t.Errorf("clientTLSErrorText(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestMayBecomeHTTP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"G", true}, {"GE", true}, {"GET", true}, {"DEL", true},
		{"GET ", false}, // complete: looksLikeHTTP decides
		{"A\n", false}, {"HI\n", false}, {"\x00", false}, {"g", false},
	}
	for _, tt := range tests {
		if got := mayBecomeHTTP([]byte(tt.in)); got != tt.want {
			t.Errorf("mayBecomeHTTP(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// loopbackStream returns both ends of a loopback TCP connection: the
// proxy's end as a stream (raw I/O, as every accepted or dialed
// connection), and the peer's.
func loopbackStream(t *testing.T, pools *bufPools) (*stream, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return plainStream(newIdleConn(c, 10*time.Second), pools), peer
}

// TestFirstOfTwo: the tunnel's next layer is decided by whichever side
// speaks first, the client (at once, without a goroutine) or the server
// (after clientFirstGrace at most); when both have spoken the server wins,
// and a client that leaves ends the wait.
func TestFirstOfTwo(t *testing.T) {
	tests := []struct {
		name string
		// before runs before the wait, during runs beside it.
		before, during func(client, server net.Conn)
		// sentClient, sentServer: before sends from the client, the server.
		sentClient, sentServer bool
		wantErr                bool
		wantServer             bool
	}{
		{name: "client first", during: func(c, _ net.Conn) { c.Write([]byte("\x16\x03\x01")) }},
		{name: "client spoke already", before: func(c, _ net.Conn) { c.Write([]byte("GET / HTTP/1.1\r\n")) }, sentClient: true},
		{name: "client after the grace", during: func(c, _ net.Conn) {
			time.AfterFunc(2*clientFirstGrace, func() { c.Write([]byte("\x16\x03\x01")) })
		}},
		{name: "server greets", during: func(_, s net.Conn) { s.Write([]byte("220 smtp ready\r\n")) }, wantServer: true},
		{name: "server greeted already", before: func(_, s net.Conn) { s.Write([]byte("220 smtp ready\r\n")) }, sentServer: true, wantServer: true},
		{name: "both spoke", before: func(c, s net.Conn) {
			s.Write([]byte("220 smtp ready\r\n"))
			c.Write([]byte("EHLO x\r\n"))
		}, sentClient: true, sentServer: true, wantServer: true},
		{name: "client leaves", during: func(c, _ net.Conn) { c.Close() }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools := &bufPools{}
			a, client := loopbackStream(t, pools)
			b, server := loopbackStream(t, pools)
			if tt.before != nil {
				tt.before(client, server)
				// What was sent has arrived before the wait begins.
				testutil.Eventually(t, 5*time.Second, func() bool {
					return readable(a) == tt.sentClient && readable(b) == tt.sentServer
				}, "the bytes sent before the wait to arrive")
			}
			if tt.during != nil {
				tt.during(client, server)
			}
			err := firstOfTwo(a, b, 10*time.Second)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := b.r.Buffered() > 0; got != tt.wantServer {
				t.Fatalf("server first = %v, want %v", got, tt.wantServer)
			}
			if !tt.wantServer && a.r.Buffered() == 0 {
				t.Fatal("the client's bytes are not in its reader")
			}
			// Neither side keeps the grace's short deadline: a read that
			// waits longer than the grace still succeeds.
			for _, side := range []struct {
				st   *stream
				peer net.Conn
			}{{a, client}, {b, server}} {
				side.st.r.Discard(side.st.r.Buffered())
				time.AfterFunc(2*clientFirstGrace, func() { side.peer.Write([]byte("x")) })
				if _, err := side.st.r.Peek(1); err != nil {
					t.Fatalf("a read after the decision: %v", err)
				}
			}
		})
	}
}

// readable reports whether st's socket holds bytes (raw I/O only).
func readable(st *stream) bool {
	c, _ := st.src.(*idleConn)
	return c != nil && c.sys != nil && c.sys.readableNow()
}

// TestFinishGivesBuffersBack: a server connection closed after a completed
// exchange (Connection: close, as every new HTTPS connection per request
// ends) gives its stream's buffers back for the next connection; one closed
// after a failed exchange, which something may still read, keeps them.
func TestFinishGivesBuffersBack(t *testing.T) {
	for _, done := range []bool{true, false} {
		m := addon.NewManager()
		s := New(m)
		if err := m.Add(s); err != nil {
			t.Fatal(err)
		}
		st, _ := loopbackStream(t, &s.bufs)
		u := newUpstream(s, flow.NewClient(flow.Address{}, flow.Address{}, "regular"), nil)
		sc := &serverConn{st: st, raw: st.tcp, server: flow.NewServer(flow.Address{Host: "127.0.0.1", Port: 1})}
		(&h1Exchange{u: u, sc: sc, reuse: false}).finish(done)
		if parked := st.r == nil; parked != done {
			t.Errorf("finish(%v): buffers given back: %v", done, parked)
		}
		if _, err := st.tcp.Write([]byte("x")); err == nil {
			t.Errorf("finish(%v): the connection is still open", done)
		}
	}
}

// TestClientWatchRelease: the HTTP/1 layer's watch leaves no timer behind
// once released, so a connection that ends right after its exchange starts
// no goroutine watchDelay later.
func TestClientWatchRelease(t *testing.T) {
	st, _ := loopbackStream(t, &bufPools{})
	w := &clientWatch{st: st, idle: time.Second}
	w.start(&flowRun{})
	w.stop()
	w.release()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil || w.armed {
		t.Fatalf("after release: timer %v, armed %v", w.timer, w.armed)
	}
}
