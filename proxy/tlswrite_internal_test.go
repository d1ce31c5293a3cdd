package proxy

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// countingConn counts the reads and writes that reach the socket.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTLSWritesGathered: the records of one write leave with one system
// call; a head and body together too; a write larger than maxGather goes
// in pieces of at most maxGather; the peer reads exactly what was written.
func TestTLSWritesGathered(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	serverCfg := &tls.Config{Certificates: ts.TLS.Certificates}
	ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(tls.Server(c, serverCfg))
		received <- b
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingConn{Conn: raw}
	cc := newCoalescingConn(counted, newWriteBufPool())
	tconn := tls.Client(cc, &tls.Config{InsecureSkipVerify: true})
	if err := tconn.Handshake(); err != nil {
		t.Fatal(err)
	}
	w := &tlsWriter{conn: tconn, raw: cc}
	var want bytes.Buffer
	step := func(name string, wantWrites int64, write func() error) {
		t.Helper()
		before := counted.writes.Load()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := counted.writes.Load() - before; got != wantWrites {
			t.Errorf("%s: %d writes to the socket, want %d", name, got, wantWrites)
		}
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB: 5 records
	step("one 64 KiB write", 1, func() error {
		want.Write(body)
		_, err := w.Write(body)
		return err
	})
	step("head and body", 1, func() error {
		want.WriteString("HEAD\r\n\r\n")
		want.Write(body)
		return w.writeHeadBody([]byte("HEAD\r\n\r\n"), body)
	})
	big := bytes.Repeat([]byte("x"), 2*maxGather+1)
	step("a write larger than maxGather", 3, func() error {
		want.Write(big)
		_, err := w.Write(big)
		return err
	})
	tconn.Close()
	if got := <-received; !bytes.Equal(got, want.Bytes()) {
		t.Errorf("peer read %d bytes, want %d (or different bytes)", len(got), want.Len())
	}
}
