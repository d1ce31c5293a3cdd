package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
)

// stream is the byte stream a layer reads and writes: a TCP connection, or
// the TLS session over one, with the buffers on it. The client side and
// every server connection have one. A layer that changes what the bytes
// travel on (TLS) hands a new stream to the next layer; no layer swaps
// another's reader or writer in place.
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
}

// plainStream is the stream of a TCP connection.
func plainStream(c *idleConn) *stream {
	return &stream{
		conn: c, tcp: c.Conn,
		r:      bufio.NewReaderSize(c, bufSize),
		w:      bufio.NewWriterSize(c, bufSize),
		direct: c,
	}
}

// tlsStream is the stream of a TLS session that runs on under's TCP
// connection through raw (see coalescingConn). r is what it is read
// through: the tls.Conn, or a reader that wraps it.
func tlsStream(t *tls.Conn, raw *coalescingConn, under *stream, r io.Reader) *stream {
	tw := &tlsWriter{conn: t, raw: raw}
	return &stream{
		conn: t, tcp: under.tcp,
		r:      bufio.NewReaderSize(r, bufSize),
		w:      bufio.NewWriterSize(tw, bufSize),
		direct: tw,
	}
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

// bufferedConn reads through a bufio.Reader that may already hold bytes
// peeked from the connection (the ClientHello); once those are read, it
// reads the connection directly, saving crypto/tls a copy.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() == 0 {
		return c.Conn.Read(p)
	}
	return c.r.Read(p)
}
