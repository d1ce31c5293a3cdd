package proxy

import (
	"crypto/tls"
	"net"
	"sync"
)

// coalescingConn is the transport under a tls.Conn. crypto/tls writes every
// record with its own Write, and records hold at most 16 KiB (much less at
// the start of a connection, where tls sizes them to fit a TCP segment): a
// 64 KiB response took five or more system calls. While gathering, writes
// are collected and then sent with one write.
//
// The mutex keeps records in order: tls can write from the reading goroutine
// too (a TLS 1.3 KeyUpdate answer), and a record must never overtake the
// gathered ones, whose sequence numbers come first.
type coalescingConn struct {
	net.Conn
	pool *sync.Pool // of *[]byte

	mu        sync.Mutex
	gathering bool
	buf       *[]byte
}

func newCoalescingConn(c net.Conn, pool *sync.Pool) *coalescingConn {
	return &coalescingConn{Conn: c, pool: pool}
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gathering {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// gather starts collecting writes.
func (c *coalescingConn) gather() {
	c.mu.Lock()
	c.gathering = true
	c.buf = c.pool.Get().(*[]byte)
	c.mu.Unlock()
}

// flush sends what was gathered and stops gathering. The buffer goes back to
// the pool, so that an idle connection holds none.
func (c *coalescingConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gathering = false
	var err error
	if b := *c.buf; len(b) > 0 {
		_, err = c.Conn.Write(b)
	}
	*c.buf = (*c.buf)[:0]
	if cap(*c.buf) <= maxPooledWriteBuf {
		c.pool.Put(c.buf)
	}
	c.buf = nil
	return err
}

// maxPooledWriteBuf bounds the buffers kept for reuse: a write that
// gathered more (a large body written at once) leaves its buffer to the GC.
const maxPooledWriteBuf = 256 << 10

// newWriteBufPool returns the pool coalescingConns share.
func newWriteBufPool() *sync.Pool {
	return &sync.Pool{New: func() any {
		b := make([]byte, 0, 40<<10)
		return &b
	}}
}

// tlsWriter is what a connection's bufio.Writer flushes into once TLS runs
// on it: each flush becomes one tls.Conn.Write and one system call.
type tlsWriter struct {
	conn *tls.Conn
	raw  *coalescingConn
}

// maxGather bounds what one gathering holds, so that a large write (a whole
// body written at once) is not copied whole: it goes out in pieces of this
// size, one system call each.
const maxGather = 128 << 10

func (w *tlsWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		piece := p[:min(len(p), maxGather)]
		w.raw.gather()
		m, err := w.conn.Write(piece)
		if ferr := w.raw.flush(); err == nil {
			err = ferr
		}
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(piece):]
	}
	return n, nil
}

// writeHeadBody sends a message's head and body as TLS records with one
// system call (see writeMessage), or with Write's pieces when they are
// larger than maxGather.
func (w *tlsWriter) writeHeadBody(head, body []byte) error {
	if len(head)+len(body) > maxGather {
		if _, err := w.Write(head); err != nil {
			return err
		}
		_, err := w.Write(body)
		return err
	}
	w.raw.gather()
	_, err := w.conn.Write(head)
	if err == nil {
		_, err = w.conn.Write(body)
	}
	if ferr := w.raw.flush(); err == nil {
		err = ferr
	}
	return err
}
