package h2

import (
	"context"
	"errors"
	"io"

	"golang.org/x/net/http2"
)

// Stream is one HTTP/2 stream, on either side. Its receiving methods
// (ReadHeader, Read, Trailers) are for one goroutine at a time, and so are
// its sending methods (WriteHeader, Write, WriteTrailers, CloseWrite); the
// two halves may run concurrently. Reset, Done, Err, ID and Header may be
// called from anywhere.
type Stream struct {
	c          *conn
	id         uint32
	done       chan struct{}
	recvNotify chan struct{} // cap 1: headers, data or an end arrived
	sendNotify chan struct{} // cap 1: a send window grew, or the stream ended

	// Guarded by c.mu.
	head      []Field   // request (server) or final response (client) header
	headers   [][]Field // header blocks ReadHeader has not returned yet
	finalSeen bool      // a non-1xx header block arrived
	trailers  []Field
	buf       [][]byte // received DATA; chunks of chunkSize
	roff      int      // read offset in buf[0]
	buffered  int
	recvEnded bool  // END_STREAM received
	recvAvail int64 // our stream receive window left
	// unreturned is credit consumed by Read but not yet given back.
	unreturned  int64
	sendWindow  int64 // the peer's window for our DATA
	headersSent bool
	sendEnded   bool // END_STREAM sent
	err         error
	closed      bool
	waitingConn bool  // in c.connWaiters
	expectLen   int64 // content-length, -1 if none or not applicable
	gotLen      int64
	isHead      bool // client: the request was HEAD
	handlerDone bool // server: the handler returned
	onReset     func(error)
}

// ID returns the stream identifier.
func (s *Stream) ID() uint32 { return s.id }

// Header returns the request's header block on a server stream, and on a
// client stream the final (non-1xx) response header block once it arrived
// (nil before).
func (s *Stream) Header() []Field {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.head
}

// ReadHeader returns the next header block the peer sent on the stream. On a
// client stream these are the responses: zero or more 1xx interim blocks,
// then the final one; callers loop until a final status. On a server stream
// it returns the request header block once.
func (s *Stream) ReadHeader(ctx context.Context) ([]Field, error) {
	c := s.c
	c.mu.Lock()
	for {
		if len(s.headers) > 0 {
			h := s.headers[0]
			s.headers[0] = nil
			s.headers = s.headers[1:]
			c.mu.Unlock()
			return h, nil
		}
		if s.err != nil {
			err := s.err
			c.mu.Unlock()
			return nil, err
		}
		if s.recvEnded {
			c.mu.Unlock()
			return nil, io.EOF
		}
		c.mu.Unlock()
		select {
		case <-s.recvNotify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
}

// Read reads the peer's DATA. It returns io.EOF at END_STREAM, and the
// stream's error (a *StreamError for a reset) if it ended abnormally before.
// Stream flow-control credit goes back to the peer as Read consumes data, so
// a stream nobody reads stops at its window without affecting others.
func (s *Stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	for {
		if s.err != nil && !s.recvEnded {
			err := s.err
			c.mu.Unlock()
			return 0, err
		}
		if s.buffered > 0 {
			n := s.readLocked(p)
			c.mu.Unlock()
			return n, nil
		}
		if s.recvEnded {
			c.mu.Unlock()
			return 0, io.EOF
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		c.mu.Unlock()
		<-s.recvNotify
		c.mu.Lock()
	}
}

func (s *Stream) readLocked(p []byte) int {
	c := s.c
	n := 0
	for n < len(p) && s.buffered > 0 {
		b := s.buf[0]
		k := copy(p[n:], b[s.roff:])
		n += k
		s.roff += k
		s.buffered -= k
		if s.roff == len(b) {
			c.putChunkLocked(b)
			s.buf[0] = nil
			s.buf = s.buf[1:]
			s.roff = 0
		}
	}
	s.unreturned += int64(n)
	// Give credit back in batches of a quarter window: few frames, and the
	// peer keeps most of the window in flight (measured in
	// BenchmarkWindowRTT: a half-window batch was up to 20% slower).
	if !s.recvEnded && s.err == nil && s.unreturned >= int64(c.set.InitialWindowSize/4) {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlWindowUpdate, stream: s.id, val: uint32(s.unreturned)})
		s.recvAvail += s.unreturned
		s.unreturned = 0
	}
	return n
}

// Trailers returns the peer's trailers once Read returned io.EOF (nil if
// there were none).
func (s *Stream) Trailers() []Field {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.trailers
}

// writableLocked reports why nothing more may be sent on the stream.
func (s *Stream) writableLocked() error {
	switch {
	case s.err != nil:
		return s.err
	case s.sendEnded:
		return ErrStreamClosed
	case s.c.err != nil:
		return s.c.err
	}
	return nil
}

// WriteHeader sends a header block: on a server stream a 1xx interim or the
// final response (endStream for a response without body). Fields go out as
// given, in order; see StripConnectionHeaders.
func (s *Stream) WriteHeader(fields []Field, endStream bool) error {
	return s.writeHeaders(fields, endStream, false)
}

// WriteTrailers sends trailers: a header block that ends the stream.
func (s *Stream) WriteTrailers(fields []Field) error {
	return s.writeHeaders(fields, true, true)
}

var errNoHeaders = errors.New("h2: DATA or trailers before the header block")

func (s *Stream) writeHeaders(fields []Field, end, trailers bool) error {
	c := s.c
	c.lockWriter()
	defer c.unlockWriter()
	c.mu.Lock()
	err := s.writableLocked()
	if err == nil && trailers && !s.headersSent {
		err = errNoHeaders
	}
	maxFrame, maxList := c.peerMaxFrame, c.peerMaxHeaderList
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if maxList > 0 && listSize(fields) > uint64(maxList) {
		return ErrHeaderListTooLarge
	}
	c.writeBlock(s.id, fields, end, maxFrame)
	if c.werr != nil {
		return c.werr
	}
	c.mu.Lock()
	s.headersSent = true
	if end {
		s.sendEnded = true
		c.maybeCloseLocked(s)
	}
	c.mu.Unlock()
	return nil
}

// Write sends p as DATA, split to the peer's maximum frame size, blocking
// while the peer's stream or connection window is exhausted. It returns once
// the data is queued for the socket, not when it was sent.
func (s *Stream) Write(p []byte) (int, error) {
	c := s.c
	total := 0
	for len(p) > 0 {
		n, maxFrame, err := s.reserve(len(p))
		if err != nil {
			return total, err
		}
		c.lockWriter()
		c.mu.Lock()
		err = s.writableLocked()
		c.mu.Unlock()
		if err == nil {
			c.writeData(s.id, p[:n], false, maxFrame)
			err = c.werr
		}
		c.unlockWriter()
		if err != nil {
			return total, err
		}
		total += n
		p = p[n:]
	}
	return total, nil
}

// WriteMessage sends a whole message and ends the stream: the header block,
// the body and the trailers (either may be empty). Where the peer's windows
// allow, it all goes out under one hold of the writer, the body's last DATA
// frame carrying END_STREAM: a small response costs two frames and one
// write instead of three of each (WriteHeader, Write, CloseWrite). A body
// larger than the windows goes on as Write would send it.
func (s *Stream) WriteMessage(head []Field, body []byte, trailers []Field) error {
	if len(body) == 0 && len(trailers) == 0 {
		return s.writeHeaders(head, true, false)
	}
	c := s.c
	c.lockWriter()
	c.mu.Lock()
	err := s.writableLocked()
	maxFrame, maxList := c.peerMaxFrame, c.peerMaxHeaderList
	c.mu.Unlock()
	if err == nil && maxList > 0 && (listSize(head) > uint64(maxList) || listSize(trailers) > uint64(maxList)) {
		err = ErrHeaderListTooLarge
	}
	if err != nil {
		c.unlockWriter()
		return err
	}
	c.writeBlock(s.id, head, false, maxFrame)
	c.mu.Lock()
	s.headersSent = true
	n := int(max(0, min(int64(len(body)), s.sendWindow, c.sendWindow, maxWriteChunk)))
	s.sendWindow -= int64(n)
	c.sendWindow -= int64(n)
	c.mu.Unlock()
	done := n == len(body)
	if n > 0 && c.werr == nil {
		c.writeData(s.id, body[:n], done && len(trailers) == 0, maxFrame)
	}
	if done && len(trailers) > 0 && c.werr == nil {
		c.writeBlock(s.id, trailers, true, maxFrame)
	}
	werr := c.werr
	if done && werr == nil {
		c.mu.Lock()
		s.sendEnded = true
		c.maybeCloseLocked(s)
		c.mu.Unlock()
	}
	c.unlockWriter()
	switch {
	case werr != nil:
		return werr
	case done:
		return nil
	}
	if _, err := s.Write(body[n:]); err != nil {
		return err
	}
	if len(trailers) > 0 {
		return s.WriteTrailers(trailers)
	}
	return s.CloseWrite()
}

// reserve takes up to want bytes of send window from the stream and the
// connection, waiting until some is available.
func (s *Stream) reserve(want int) (int, uint32, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if err := s.writableLocked(); err != nil {
			return 0, 0, err
		}
		if !s.headersSent {
			return 0, 0, errNoHeaders
		}
		if avail := min(s.sendWindow, c.sendWindow); avail > 0 {
			n := int(min(int64(want), avail, maxWriteChunk))
			s.sendWindow -= int64(n)
			c.sendWindow -= int64(n)
			return n, c.peerMaxFrame, nil
		}
		if c.sendWindow <= 0 && !s.waitingConn {
			s.waitingConn = true
			c.connWaiters = append(c.connWaiters, s)
		}
		c.mu.Unlock()
		<-s.sendNotify
		c.mu.Lock()
	}
}

// CloseWrite ends our half of the stream with an empty DATA frame carrying
// END_STREAM, unless a header block or trailers ended it already.
func (s *Stream) CloseWrite() error {
	c := s.c
	c.lockWriter()
	defer c.unlockWriter()
	c.mu.Lock()
	if s.sendEnded && s.err == nil {
		c.mu.Unlock()
		return nil
	}
	err := s.writableLocked()
	if err == nil && !s.headersSent {
		err = errNoHeaders
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.writeData(s.id, nil, true, minMaxFrameSize)
	if c.werr != nil {
		return c.werr
	}
	c.mu.Lock()
	s.sendEnded = true
	c.maybeCloseLocked(s)
	c.mu.Unlock()
	return nil
}

// Reset sends RST_STREAM with code: both halves end, blocked calls return a
// *StreamError. A stream that already ended is left alone.
func (s *Stream) Reset(code http2.ErrCode) {
	c := s.c
	c.mu.Lock()
	c.resetStreamLocked(s, code, "")
	c.mu.Unlock()
}

// Done is closed when the stream has ended: both halves closed, reset
// either way, or the connection gone.
func (s *Stream) Done() <-chan struct{} { return s.done }

// OnReset arranges for f to run, on a goroutine of its own, with Err once
// the stream ends abnormally; at once if it already has. A stream that ends
// normally never calls it. It spares a handler a goroutine per stream that
// waits on Done only to learn of a reset.
func (s *Stream) OnReset(f func(error)) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed {
		if s.err != nil {
			go f(s.err)
		}
		return
	}
	s.onReset = f
}

// Err is why the stream ended abnormally (nil while it runs and after a
// normal end): a *StreamError, a *GoAwayError, or the connection's error.
func (s *Stream) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}
