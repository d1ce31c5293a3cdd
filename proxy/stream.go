package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"sync"
)

// stream is the byte stream a layer reads and writes: a TCP connection, or
// the TLS session over one, with the buffers on it. The client side and
// every server connection have one. A layer that changes what the bytes
// travel on (TLS) hands a new stream to the next layer; no layer swaps
// another's reader or writer in place.
//
// An idle stream gives its buffers back (park) and takes them again when it
// is used (unpark): a connection idle between requests, or kept for reuse,
// holds none of its 64 KiB. Code that reads r or writes w takes them from
// the stream each time, never keeping them across an idle spell.
type stream struct {
	// conn is what the stream's bytes travel on: the TCP connection (an
	// idleConn), or the tls.Conn over it. Closing it ends the stream.
	conn net.Conn
	// tcp is the TCP connection underneath, whose read deadline interrupts
	// a read waiting on either (see firstOfTwo).
	tcp net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	// direct writes large messages past w (see writeMessage).
	direct directWriter
	// src and dst are what r reads and w writes, and pools where their
	// buffers go while parked.
	src   io.Reader
	dst   io.Writer
	pools *bufPools
	// bufs holds r and w together while the stream has them (nil once
	// they went separate ways, see handOff), so that parking and taking
	// them again is one pool operation each, not two.
	bufs *bufSet
	// probe holds what the wait of an idle stream read (see
	// idleUntilReadable), first through first. Only a client's stream
	// that is not plain TCP ever waits so (a TLS session's), and it gets
	// the array at its first wait: other streams would carry 512 idle
	// bytes each.
	probe *[512]byte
	first prefixReader
}

// bufPools hold the buffers of parked streams: a parked stream's reader and
// writer together (sets), and readers and writers on their own (a stream
// handed to a TLS session gives them back one at a time).
type bufPools struct {
	readers, writers sync.Pool
	sets             sync.Pool
}

// bufSet is a stream's reader and writer, pooled together: a keep-alive
// connection parks and takes back its buffers on every request, on the
// client's side and the server's, and pool operations were a tenth of the
// proxy's own instructions per request.
type bufSet struct {
	r *bufio.Reader
	w *bufio.Writer
}

// set returns a reader on src and a writer to dst.
func (p *bufPools) set(src io.Reader, dst io.Writer) *bufSet {
	if b, ok := p.sets.Get().(*bufSet); ok {
		b.r.Reset(src)
		b.w.Reset(dst)
		return b
	}
	return &bufSet{r: p.reader(src), w: p.writer(dst)}
}

func (p *bufPools) reader(src io.Reader) *bufio.Reader {
	if r, ok := p.readers.Get().(*bufio.Reader); ok {
		r.Reset(src)
		return r
	}
	return bufio.NewReaderSize(src, bufSize)
}

func (p *bufPools) writer(dst io.Writer) *bufio.Writer {
	if w, ok := p.writers.Get().(*bufio.Writer); ok {
		w.Reset(dst)
		return w
	}
	return bufio.NewWriterSize(dst, bufSize)
}

// plainStream is the stream of a TCP connection.
func plainStream(c *idleConn, pools *bufPools) *stream {
	b := pools.set(c, c)
	return &stream{
		conn: c, tcp: c.Conn,
		r: b.r, w: b.w, bufs: b, src: c, dst: c, pools: pools,
		direct: c,
	}
}

// tlsStream is the stream of a TLS session that runs on under's TCP
// connection through raw (see coalescingConn). r is what it is read
// through: the tls.Conn, or a reader that wraps it.
func tlsStream(t *tls.Conn, raw *coalescingConn, under *stream, r io.Reader) *stream {
	tw := &tlsWriter{conn: t, raw: raw}
	b := under.pools.set(r, tw)
	return &stream{
		conn: t, tcp: under.tcp,
		r: b.r, w: b.w, bufs: b, src: r, dst: tw, pools: under.pools,
		direct: tw,
	}
}

// park gives the buffers back while the stream is idle; it does nothing
// when they hold data. unpark takes them again.
func (st *stream) park() {
	if st.r == nil || st.r.Buffered() > 0 || st.w.Buffered() > 0 {
		return
	}
	// The reader may read st.first (see plainIdle): in the pool it must
	// not keep the stream, its connection and socket alive.
	st.r.Reset(nil)
	if b := st.bufs; b != nil && b.r == st.r && b.w == st.w {
		st.pools.sets.Put(b)
	} else {
		st.pools.readers.Put(st.r)
		st.pools.writers.Put(st.w)
	}
	st.r, st.w, st.bufs = nil, nil, nil
}

func (st *stream) unpark() {
	if st.r == nil {
		st.take(st.src)
	}
}

// take gives the parked stream a reader on src and its writer.
func (st *stream) take(src io.Reader) {
	b := st.pools.set(src, st.dst)
	st.r, st.w, st.bufs = b.r, b.w, b
}

// idleUntilReadable waits until the stream's peer sends something or
// closes, holding no buffers while it waits, so that a connection idle
// between requests holds none; the error is the idle timeout's, or the end
// of the connection, and the stream then stays parked (its reader and
// writer are nil). A plain TCP stream (with raw I/O, see sysIO) first reads
// what is there already, into its writer's free space, and parks only when
// nothing is: it waits for readiness alone, and its reader's first read
// takes what came, so no more system calls than a read through the buffer
// would make. Other streams wait in a read of a few hundred bytes into the
// stream's own small array, which the reader then gives out first. A TLS
// stream waits so in the session's read: what the session decrypted
// beyond the array stays in the session and is read next.
//
// refreshed: the caller has just pushed the connection's idle deadline out
// (see idleConn.refresh), which the wait would do otherwise.
func (st *stream) idleUntilReadable(refreshed bool) error {
	// The stream is parked already (st.r nil) when the connection comes
	// back from the idle watch (see clientConn.parkIn and resume).
	if st.r != nil && (st.r.Buffered() > 0 || st.w.Buffered() > 0) {
		// A request is here already (pipelined), or the writer holds
		// data: go on with the buffers.
		return nil
	}
	if c, ok := st.src.(*idleConn); ok && c.sys != nil {
		if !refreshed {
			c.refresh()
		}
		return st.plainIdle(c)
	}
	st.park()
	if st.probe == nil {
		st.probe = new([512]byte)
	}
	n, err := st.src.Read(st.probe[:])
	// Empty reads without an error are retried, as bufio does.
	for tries := 1; n == 0 && err == nil; tries++ {
		if tries == 100 {
			err = io.ErrNoProgress
			break
		}
		n, err = st.src.Read(st.probe[:])
	}
	if n == 0 {
		// The connection ended (or failed) while idle: the stream stays
		// parked, and the caller must not use its reader or writer.
		return err
	}
	st.first = prefixReader{buf: st.probe[:n], r: st.src}
	st.take(&st.first)
	// Move what arrived into the reader (a copy, no read of the
	// connection), so that its Buffered tells what is here.
	_, _ = st.r.Peek(1)
	return nil
}

// plainIdle is idleUntilReadable for a TCP connection with raw I/O.
func (st *stream) plainIdle(c *idleConn) error {
	if st.r == nil {
		// Parked already: wait for readiness alone.
		if err := c.sys.waitReadable(); err != nil {
			return err
		}
		return st.unparkPeek()
	}
	// The writer is empty: its free space takes what is there, which the
	// reader then copies (a request head, usually a few hundred bytes),
	// up to the reader's size, so that the writer's space is not read
	// again once the writer is used.
	p := st.w.AvailableBuffer()
	p = p[:min(cap(p), st.r.Size())]
	n, waited, err := c.sys.readOrWait(p, st)
	switch {
	case waited && err != nil:
		// Parked (nothingRead) and still idle.
		return err
	case waited:
		return st.unparkPeek()
	case err != nil:
		st.park()
		return err
	}
	st.first = prefixReader{buf: p[:n], r: st.src}
	st.r.Reset(&st.first)
	_, _ = st.r.Peek(1)
	return nil
}

// nothingRead is readOrWait telling that the stream is about to wait with
// nothing read: its buffers go back meanwhile.
func (st *stream) nothingRead() { st.park() }

// unparkPeek takes the buffers of a parked stream whose connection became
// readable and reads what came; when it became readable by ending, the
// buffers go back.
func (st *stream) unparkPeek() error {
	st.unpark()
	if _, err := st.r.Peek(1); err != nil {
		st.park()
		return err
	}
	return nil
}

// prefixReader reads buf, then r.
type prefixReader struct {
	buf []byte
	r   io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// flush sends what w holds.
func (st *stream) flush() error { return st.w.Flush() }

// framedConn is the stream as a net.Conn for a layer that buffers its own
// writes (HTTP/2): reads come through the stream's reader (which may hold
// peeked bytes), and each write of a TLS stream goes out as its records
// gathered into one system call, as the stream's own writer does.
func (st *stream) framedConn() net.Conn {
	if tw, ok := st.direct.(*tlsWriter); ok {
		return &writeThrough{Conn: st.conn, r: st.r, w: tw}
	}
	return &writeThrough{Conn: st.conn, r: st.r, w: st.conn}
}

// writeThrough is a connection read through r and written through w.
type writeThrough struct {
	net.Conn
	r io.Reader
	w io.Writer
}

func (c *writeThrough) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *writeThrough) Write(p []byte) (int, error) { return c.w.Write(p) }

// handOff gives a TLS session the stream's reader, which may hold bytes
// peeked from the connection (the ClientHello): the session reads them
// first, then the connection directly, and the reader goes back to the
// pool. The stream's writer goes back at once: the session writes the
// connection itself. The stream is not read or written again.
func (st *stream) handOff(raw net.Conn) *bufferedConn {
	c := &bufferedConn{Conn: raw, r: st.r, pools: st.pools}
	st.pools.writers.Put(st.w)
	st.r, st.w, st.bufs = nil, nil, nil
	return c
}

// bufferedConn reads through a bufio.Reader that may already hold bytes
// peeked from the connection (the ClientHello); once those are read, it
// reads the connection directly, saving crypto/tls a copy, and gives the
// reader back.
type bufferedConn struct {
	net.Conn
	r     *bufio.Reader
	pools *bufPools
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.pools.readers.Put(c.r)
		c.r = nil
	}
	return c.Conn.Read(p)
}
