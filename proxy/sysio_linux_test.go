package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

var sysIOVariants = []struct {
	name string
	ops  fdOps
}{
	{"raw", rawOps},
	{"annotated", annotatedOps},
}

// countingOps counts what ops' system calls did.
type countingOps struct {
	partial, again, readAgain int
}

func (c *countingOps) wrap(ops fdOps) *fdOps {
	return &fdOps{
		read: func(fd uintptr, p []byte) (int, syscall.Errno) {
			n, e := ops.read(fd, p)
			if e == syscall.EAGAIN {
				c.readAgain++
			}
			return n, e
		},
		writev: func(fd uintptr, a, b []byte) (int, syscall.Errno) {
			n, e := ops.writev(fd, a, b)
			switch {
			case e == syscall.EAGAIN:
				c.again++
			case e == 0 && n < len(a)+len(b):
				c.partial++
			}
			return n, e
		},
	}
}

// TestSysIOTransfers writes head and body pairs of many sizes, some far
// larger than the socket buffers so that writes are partial and wait, and
// reads them back through sysIO on the other end: every byte arrives, in
// order, whichever buffer a partial write ended in.
func TestSysIOTransfers(t *testing.T) {
	for _, v := range sysIOVariants {
		t.Run(v.name, func(t *testing.T) {
			a, b := tcpPair(t)
			var wc, rc countingOps
			w, r := newSysIOWith(a, wc.wrap(v.ops)), newSysIOWith(b, rc.wrap(v.ops))
			sizes := [][2]int{{0, 1}, {1, 0}, {105, 200}, {105, 64 << 10}, {5 << 20, 17}, {1 << 10, 6 << 20}, {3 << 20, 3 << 20}}
			for _, sz := range sizes {
				head := bytes.Repeat([]byte{'h'}, sz[0])
				body := make([]byte, sz[1])
				for i := range body {
					body[i] = byte(i * 7)
				}
				want := append(append([]byte{}, head...), body...)
				// Small transfers: the reader waits for the writer; large
				// ones: the writer fills the socket and waits for the
				// reader.
				large := len(want) > 1<<20
				errc := make(chan error, 1)
				go func() {
					if !large {
						time.Sleep(20 * time.Millisecond)
					}
					n, err := w.writev(head, body)
					if err == nil && n != len(want) {
						err = errors.New("short write")
					}
					errc <- err
				}()
				if large {
					time.Sleep(50 * time.Millisecond)
				}
				got := make([]byte, 0, len(want))
				buf := make([]byte, 5000) // odd-sized reads, slower than the writer
				for len(got) < len(want) {
					n, err := r.read(buf[:min(len(buf), len(want)-len(got))])
					if err != nil {
						t.Fatalf("%v: read after %d bytes: %v", sz, len(got), err)
					}
					got = append(got, buf[:n]...)
				}
				if err := <-errc; err != nil {
					t.Fatalf("%v: write: %v", sz, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%v: bytes differ", sz)
				}
			}
			// Otherwise the test proved less than it says.
			if wc.partial == 0 || wc.again == 0 || rc.readAgain == 0 {
				t.Errorf("partial writes %d, writes that waited %d, reads that waited %d: want some of each", wc.partial, wc.again, rc.readAgain)
			}
		})
	}
}

// TestSysIOErrors checks that sysIO fails as net.Conn does, with the same
// messages and the same checks holding: end of stream, deadline, reset by
// the peer, use after close.
func TestSysIOErrors(t *testing.T) {
	type result struct {
		n   int
		err error
	}
	cases := []struct {
		name string
		// do sets up the failure on the pair (ours is a, the peer b)
		// and makes the failing call through rd or wr.
		do    func(a, b *net.TCPConn, rd func([]byte) (int, error), wr func([]byte) (int, error)) result
		check func(error) bool
	}{
		{"peer closes: EOF", func(a, b *net.TCPConn, rd, _ func([]byte) (int, error)) result {
			b.Close()
			n, err := rd(make([]byte, 10))
			return result{n, err}
		}, func(err error) bool { return err == io.EOF }},
		{"read deadline", func(a, b *net.TCPConn, rd, _ func([]byte) (int, error)) result {
			_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, err := rd(make([]byte, 10))
			return result{n, err}
		}, isTimeout},
		{"reset by peer", func(a, b *net.TCPConn, rd, _ func([]byte) (int, error)) result {
			_ = b.SetLinger(0)
			b.Close()
			time.Sleep(20 * time.Millisecond)
			n, err := rd(make([]byte, 10))
			return result{n, err}
		}, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"write after reset", func(a, b *net.TCPConn, _, wr func([]byte) (int, error)) result {
			_ = b.SetLinger(0)
			b.Close()
			time.Sleep(20 * time.Millisecond)
			n, err := wr([]byte("hello"))
			return result{n, err}
		}, func(err error) bool {
			return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
		}},
		{"read after close", func(a, b *net.TCPConn, rd, _ func([]byte) (int, error)) result {
			a.Close()
			n, err := rd(make([]byte, 10))
			return result{n, err}
		}, func(err error) bool { return errors.Is(err, net.ErrClosed) }},
		{"write after close", func(a, b *net.TCPConn, _, wr func([]byte) (int, error)) result {
			a.Close()
			n, err := wr([]byte("x"))
			return result{n, err}
		}, func(err error) bool { return errors.Is(err, net.ErrClosed) }},
	}
	// The message without the addresses, which differ between pairs.
	shape := func(err error, a *net.TCPConn) string {
		if err == nil {
			return "<nil>"
		}
		s := strings.ReplaceAll(err.Error(), a.LocalAddr().String(), "LOCAL")
		return strings.ReplaceAll(s, a.RemoteAddr().String(), "REMOTE")
	}
	for _, tc := range cases {
		for _, v := range sysIOVariants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				a, b := tcpPair(t)
				want := tc.do(a, b, a.Read, a.Write)
				a2, b2 := tcpPair(t)
				s := newSysIOWith(a2, &v.ops)
				got := tc.do(a2, b2, s.read, func(p []byte) (int, error) { return s.writev(p, nil) })
				if !tc.check(got.err) {
					t.Errorf("error %v (%T) fails the check", got.err, got.err)
				}
				if gs, ws := shape(got.err, a2), shape(want.err, a); gs != ws || got.n != want.n {
					t.Errorf("got %d, %q; net.Conn gives %d, %q", got.n, gs, want.n, ws)
				}
			})
		}
	}
}

// TestSysIONoAllocs: a read and a write allocate nothing (the closures
// handed to RawConn are made once).
func TestSysIONoAllocs(t *testing.T) {
	a, b := tcpPair(t)
	w, r := newSysIOWith(a, &rawOps), newSysIOWith(b, &rawOps)
	head, body, buf := []byte("head"), []byte("body"), make([]byte, 8)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := w.writev(head, body); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < 8; {
			n, err := r.read(buf[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per write and read, want 0", allocs)
	}
}

// TestIdleConnUsesSysIO: TCP connections get raw I/O, others keep
// net.Conn's.
func TestIdleConnUsesSysIO(t *testing.T) {
	a, _ := tcpPair(t)
	if newIdleConn(a, time.Minute).sys == nil {
		t.Error("a TCP connection has no sysIO")
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if newIdleConn(p, time.Minute).sys != nil {
		t.Error("a pipe has sysIO")
	}
}

// waiterFunc is an idleWaiter that calls its function.
type waiterFunc func()

func (f waiterFunc) nothingRead() { f() }

// TestReadOrWait: readOrWait reads what is there without waiting, and
// otherwise tells its waiter once, before waiting for the data or the end,
// which it leaves to be read; errors of the wait (a deadline) come back as
// read's.
func TestReadOrWait(t *testing.T) {
	tests := []struct {
		name string
		// before runs before the call, during once the waiter was told.
		before, during func(peer net.Conn)
		deadline       bool
		wantN          int
		wantWaited     bool
		wantErr        func(error) bool
		// then is what a read gives after a wait.
		then string
	}{
		{name: "already there", before: func(p net.Conn) { io.WriteString(p, "GET") }, wantN: 3},
		{name: "arrives later", during: func(p net.Conn) { io.WriteString(p, "GET") }, wantWaited: true, then: "GET"},
		{name: "ended before", before: func(p net.Conn) { p.Close() }, wantErr: func(err error) bool { return err == io.EOF }},
		{name: "ends while waiting", during: func(p net.Conn) { p.Close() }, wantWaited: true, then: "EOF"},
		{name: "deadline while waiting", deadline: true, wantWaited: true, wantErr: isTimeout},
	}
	for _, v := range sysIOVariants {
		for _, tt := range tests {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				a, b := tcpPair(t)
				s := newSysIOWith(a, &v.ops)
				if tt.before != nil {
					tt.before(b)
					// Wait until it is readable, as a request that
					// came while the proxy answered the last one is.
					if err := s.waitReadable(); err != nil {
						t.Fatal(err)
					}
				}
				if tt.deadline {
					_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				}
				told := 0
				n, waited, err := s.readOrWait(make([]byte, 16), waiterFunc(func() {
					told++
					if tt.during != nil {
						// In another goroutine, as a peer would: the
						// wait has not begun yet.
						go tt.during(b)
					}
				}))
				switch {
				case tt.wantErr != nil && (err == nil || !tt.wantErr(err)):
					t.Fatalf("error %v, want another", err)
				case tt.wantErr == nil && err != nil:
					t.Fatal(err)
				case n != tt.wantN || waited != tt.wantWaited:
					t.Fatalf("read %d, waited %v; want %d, %v", n, waited, tt.wantN, tt.wantWaited)
				case told != map[bool]int{false: 0, true: 1}[waited]:
					t.Fatalf("the waiter was told %d times, waited %v", told, waited)
				}
				if tt.then == "" {
					return
				}
				buf := make([]byte, 16)
				n, err = s.read(buf)
				got := string(buf[:n])
				if err == io.EOF {
					got = "EOF"
				}
				if got != tt.then {
					t.Errorf("then read %q (%v), want %q", buf[:n], err, tt.then)
				}
			})
		}
	}
}

// TestPlainIdle: a plain TCP stream reads a request that is already there
// with its buffers, and otherwise waits parked; what arrives is read whole
// through the reader, and a connection that ends or times out while idle
// leaves the stream parked.
func TestPlainIdle(t *testing.T) {
	big := strings.Repeat("x", 40<<10)
	tests := []struct {
		name           string
		before, during func(peer net.Conn)
		timeout        time.Duration
		want           string
		wantErr        bool
	}{
		{name: "already there", before: func(p net.Conn) { io.WriteString(p, "GET / HTTP/1.1\r\n\r\n") }, want: "GET / HTTP/1.1\r\n\r\n"},
		{name: "more than the buffers", before: func(p net.Conn) { go io.WriteString(p, big) }, want: big},
		{name: "arrives later", during: func(p net.Conn) { io.WriteString(p, "GET") }, want: "GET"},
		{name: "closed while idle", during: func(p net.Conn) { p.Close() }, wantErr: true},
		{name: "closed before", before: func(p net.Conn) { p.Close() }, wantErr: true},
		{name: "idle timeout", timeout: 100 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tcpPair(t)
			timeout := time.Minute
			if tt.timeout > 0 {
				timeout = tt.timeout
			}
			var pools bufPools
			ic := newIdleConn(a, timeout)
			st := plainStream(ic, &pools)
			// The peer acts during the wait once a read found nothing
			// (in another goroutine, as a peer would: the wait has not
			// begun yet).
			var waits atomic.Int32
			ops := ic.sys.ops
			ic.sys = newSysIOWith(a, &fdOps{
				read: func(fd uintptr, p []byte) (int, syscall.Errno) {
					n, e := ops.read(fd, p)
					if e == syscall.EAGAIN && waits.Add(1) == 1 && tt.during != nil {
						go tt.during(b)
					}
					return n, e
				},
				writev: ops.writev,
			})
			if tt.before != nil {
				tt.before(b)
				// Readable before the wait begins.
				if err := ic.sys.waitReadable(); err != nil {
					t.Fatal(err)
				}
			}
			err := st.idleUntilReadable(false)
			if tt.before != nil && waits.Load() != 0 {
				t.Error("waited for data that was there")
			}
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error for a connection that ended while idle")
				}
				if st.r != nil || st.w != nil {
					t.Fatal("the stream holds buffers for a connection that ended")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.r == nil || st.w == nil || st.r.Buffered() == 0 {
				t.Fatal("what arrived is not in the stream's reader")
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(st.r, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("read %d bytes %.40q, want %d %.40q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
}
