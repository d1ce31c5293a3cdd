package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// bodyReader is an incoming message body, whatever framed it: HTTP/1's
// Content-Length, chunks or the connection's end, or HTTP/2's DATA frames.
type bodyReader interface {
	io.Reader
	// size is the body's length where the framing declares it, -1 where
	// only its end tells (chunked, until close, most HTTP/2 bodies).
	size() int64
	// trailers are the trailer fields, once Read has returned io.EOF.
	trailers() flow.Headers
}

// h1Body is an HTTP/1 message body read from br as framing says. Its
// reader is made on the first Read: a body of known size is read straight
// from br (see readFull), and most messages have no body at all.
type h1Body struct {
	br      *bufio.Reader
	framing h1.Framing
	r       io.Reader
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.r == nil {
		b.r = h1.BodyReader(b.br, b.framing)
	}
	return b.r.Read(p)
}

func (b *h1Body) size() int64 {
	switch b.framing.Kind {
	case h1.Length:
		return b.framing.Length
	case h1.NoBody:
		return 0
	}
	return -1
}

// arrived reports whether the whole body is in memory already, so that
// reading it waits on nobody.
func (b *h1Body) arrived() bool {
	n := b.size()
	return n == 0 || b.r == nil && n > 0 && int64(b.br.Buffered()) >= n
}

// bodyArrived reports whether src is in memory whole (see h1Body.arrived);
// HTTP/2 bodies do not tell.
func bodyArrived(src bodyReader) bool {
	b, ok := src.(*h1Body)
	return ok && b.arrived()
}

func (b *h1Body) trailers() flow.Headers {
	if cr, ok := b.r.(*h1.ChunkedReader); ok {
		return cr.Trailers
	}
	return nil
}

// readFull fills body from a body of known size: straight from the
// connection's buffer for HTTP/1.
func readFull(src bodyReader, body []byte) error {
	if b, ok := src.(*h1Body); ok {
		return h1.ReadFullBody(b.br, body)
	}
	_, err := io.ReadFull(src, body)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readBody reads a whole body. A body of unknown length that grows past the
// stream_large_bodies threshold is not buffered further: readBody returns a
// bodyStream holding what was read so far and the rest of the body. A large
// body of known size is read into a recycled buffer, which goes back to the
// pool when the flow is done (see flowRun.recycle).
func (r *flowRun) readBody(src bodyReader) ([]byte, flow.Headers, *bodyStream, error) {
	cfg := r.cfg
	n := src.size()
	if n == 0 {
		if _, ok := src.(*h1Body); ok {
			return []byte{}, nil, nil, nil
		}
		// An empty HTTP/2 body may still carry trailers.
		if _, err := io.Copy(io.Discard, src); err != nil {
			return nil, nil, nil, err
		}
		return []byte{}, src.trailers(), nil, nil
	}
	if n > 0 && (cfg.BodySizeLimit < 0 || n <= cfg.BodySizeLimit) {
		if b := r.cc.s.bodies.get(n); b != nil {
			r.pooled = append(r.pooled, b)
			// Capped: an addon appending to the body gets a copy, not the
			// rest of the buffer.
			body := (*b)[:n:n]
			if err := readFull(src, body); err != nil {
				return nil, nil, nil, err
			}
			return body, endOfBody(src), nil, nil
		}
	}
	if n > 0 {
		// Of known size, but not pooled (beyond the pool's classes, or
		// past body_size_limit, which ReadBody reports).
		if hb, ok := src.(*h1Body); ok {
			body, trailers, err := h1.ReadBody(hb.br, hb.framing, cfg.BodySizeLimit)
			return body, trailers, nil, err
		}
	}
	return r.readUnsized(src)
}

// readUnsized reads a body whose end only its framing tells: HTTP/1 chunks
// or the connection's end, HTTP/2 DATA frames without a content-length. It
// reads into the buffer's spare room and, once the body outgrows its first
// 512 bytes, into recycled buffers of the pool's classes (the last one
// goes back when the flow is done, as readBody's; the ones it outgrew at
// once), so that a chunked 64 KiB response costs no allocation: it took a
// 32 KiB scratch buffer and a slice grown by appends, three large
// allocations and 63k instructions a request (callgrind, net/http origin
// without Content-Length). Past stream_large_bodies it returns a bodyStream
// holding what was read so far.
func (r *flowRun) readUnsized(src bodyReader) ([]byte, flow.Headers, *bodyStream, error) {
	cfg := r.cfg
	pool := &r.cc.s.bodies
	var held *[]byte // the pooled buffer buf is in, if any
	keep := func() {
		if held != nil {
			r.pooled = append(r.pooled, held)
			held = nil
		}
	}
	defer func() {
		if held != nil {
			pool.put(held) // not kept: an error
		}
	}()
	// Most such bodies are small or empty (an HTTP/2 request without a
	// body says so only with the end of its stream): 4 KiB up front cost
	// HTTP/2 about 10 us of CPU a request (zeroed and collected; mitmbench
	// -scenarios h2 -bodies small: 36 -> 25 us).
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = grow(buf, pool, &held)
		}
		m, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if cfg.BodySizeLimit >= 0 && int64(len(buf)) > cfg.BodySizeLimit {
			return nil, nil, nil, h1.ErrBodyTooLarge
		}
		if cfg.StreamLargeBodies >= 0 && int64(len(buf)) > cfg.StreamLargeBodies {
			keep()
			return nil, nil, &bodyStream{prefix: buf, src: src, limit: cfg.BodySizeLimit, store: cfg.StoreStreamedBodies, storeLimit: -1}, nil
		}
		if err == io.EOF {
			keep()
			// Capped: an addon appending to the body gets a copy.
			return buf[:len(buf):len(buf)], src.trailers(), nil, nil
		}
		if err != nil {
			return nil, nil, nil, bodyReadError(src, err)
		}
	}
}

// grow returns buf with room for more: in a recycled buffer of the next
// class while the body fits the pool's classes (giving back the one it
// outgrew, *held), by append beyond them.
func grow(buf []byte, pool *bodyPool, held **[]byte) []byte {
	next := pool.get(int64(max(2*cap(buf), minPooledBody)))
	if next == nil {
		grown := append(buf, 0)[:len(buf)]
		if *held != nil {
			pool.put(*held)
			*held = nil
		}
		return grown
	}
	grown := append((*next)[:0], buf...)
	if *held != nil {
		pool.put(*held)
	}
	*held = next
	return grown
}

// bodyReadError words a failed read of an HTTP/1 body as h1.ReadBody does.
func bodyReadError(src bodyReader, err error) error {
	hb, ok := src.(*h1Body)
	switch {
	case !ok:
		return err
	case hb.framing.Kind == h1.Chunked:
		return fmt.Errorf("reading chunked body: %w", err)
	}
	return fmt.Errorf("reading body: %w", err)
}

// endOfBody reads past the end of a body read to its declared size, so
// that HTTP/2 trailers arrive, and returns its trailers.
func endOfBody(src bodyReader) flow.Headers {
	if _, ok := src.(*h1Body); ok {
		return nil
	}
	_, _ = io.Copy(io.Discard, src)
	return src.trailers()
}

// bodyStream is a body forwarded as it arrives instead of being buffered.
type bodyStream struct {
	prefix []byte
	src    bodyReader
	limit  int64
	// store keeps a copy of the body (store_streamed_bodies), up to
	// storeLimit bytes (-1: all of it).
	store      bool
	storeLimit int64
	stored     []byte
	total      int64
	// fn transforms each chunk on its way (flow.Message.StreamFunc); what
	// it returns is what is sent and stored.
	fn func([]byte) ([]byte, error)
	// live, when set, is told of every piece sent, so that a UI can show
	// the body as it streams (flow.HTTPFlow.StreamProgress).
	live *flow.BodyProgress
}

// newBodyStream streams src; fn is the message's StreamFunc (nil: the body
// passes unchanged).
func newBodyStream(src bodyReader, cfg *Config, fn func([]byte) ([]byte, error)) *bodyStream {
	return &bodyStream{src: src, limit: cfg.BodySizeLimit, store: cfg.StoreStreamedBodies, storeLimit: -1, fn: fn}
}

// streamFuncError is the failure of a flow.Message.StreamFunc; it ends the
// exchange as a side that breaks off the body does.
type streamFuncError struct{ err error }

func (e *streamFuncError) Error() string {
	return "the body's stream function failed: " + e.err.Error()
}
func (e *streamFuncError) Unwrap() error { return e.err }

// streamError tells which side of a copy failed.
type streamError struct {
	read bool
	err  error
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// bodySink is where a streamed body goes: the client's or the server's side
// of an exchange, framed as that side's protocol wants.
type bodySink interface {
	// write sends p at once: a streamed body reaches its receiver as the
	// sender produces it (server-sent events, downloads).
	write(p []byte) error
	// close ends the body, with trailers if there are any.
	close(trailers flow.Headers) error
}

// h1Sink writes an HTTP/1 body, chunked or as it is.
type h1Sink struct {
	w       *bufio.Writer
	chunked bool
}

func (s h1Sink) write(p []byte) error {
	if s.chunked {
		h1.WriteChunk(s.w, p)
	} else if _, err := s.w.Write(p); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s h1Sink) close(trailers flow.Headers) error {
	if s.chunked {
		h1.WriteLastChunk(s.w, trailers)
	}
	return s.w.Flush()
}

// Streamed bodies are copied through a small buffer while the sender trickles
// (server-sent events: a stream may stay open for hours, and a buffer is
// held all that time) and through a large one once a read fills the small
// one, which a download does at once: 256 KiB pieces cost the proxy about
// 30% less CPU time per byte and carry a quarter more than 32 KiB ones (a
// 256 MiB download over loopback). Both come from the body pool.
const (
	streamBufSmall = 32 << 10
	streamBufLarge = 256 << 10
)

// pump reads src to its end, handing each piece to write. It reads through a
// small buffer from pool until a read fills it, then through a large one
// (see streamBufSmall). The error is write's, or src's other than io.EOF.
func pump(src io.Reader, pool *bodyPool, write func([]byte) error) error {
	held := pool.get(streamBufSmall)
	defer func() { pool.put(held) }()
	buf := *held
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n == len(buf) && len(buf) < streamBufLarge {
			// More was waiting than the buffer held: a bulk transfer.
			pool.put(held)
			held = pool.get(streamBufLarge)
			buf = *held
		}
	}
}

// copyTo forwards the body to sink and returns the trailers. Its buffers
// come from and go back to pool. A failure to read is a *streamError with
// read set; a failure to write, one without. The stream function (fn) sees
// every piece read, then an empty one at the end of a body that had any;
// its failure is a
// *streamError with read set, wrapping a *streamFuncError (the body could
// not be produced). The body size limit counts what arrived; storing
// keeps what was sent.
func (b *bodyStream) copyTo(sink bodySink, pool *bodyPool) (flow.Headers, error) {
	// stored goes to the flow when the body is over, where no reader of
	// the progress may see it any more.
	defer b.live.Finish()
	send := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		if b.store {
			keep := p
			if b.storeLimit >= 0 {
				keep = p[:min(int64(len(p)), max(0, b.storeLimit-int64(len(b.stored))))]
			}
			b.stored = append(b.stored, keep...)
		}
		b.live.Publish(b.total, b.stored)
		if err := sink.write(p); err != nil {
			return &streamError{err: err}
		}
		return nil
	}
	transform := func(p []byte) ([]byte, error) {
		out, err := b.fn(p)
		if err != nil {
			return nil, &streamError{read: true, err: &streamFuncError{err}}
		}
		return out, nil
	}
	write := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		b.total += int64(len(p))
		if b.limit >= 0 && b.total > b.limit {
			return &streamError{read: true, err: h1.ErrBodyTooLarge}
		}
		if b.fn != nil {
			var err error
			if p, err = transform(p); err != nil {
				return err
			}
		}
		return send(p)
	}
	if err := write(b.prefix); err != nil {
		return nil, err
	}
	if err := pump(b.src, pool, write); err != nil {
		var se *streamError
		if !errors.As(err, &se) {
			err = &streamError{read: true, err: err}
		}
		return nil, err
	}
	if b.fn != nil && b.total > 0 {
		// The end: what the function held back. (An empty body is not
		// streamed in mitmproxy, and its function never called.)
		last, err := transform([]byte{})
		if err == nil {
			err = send(last)
		}
		if err != nil {
			return nil, err
		}
	}
	trailers := b.src.trailers()
	if err := sink.close(trailers); err != nil {
		return nil, &streamError{err: err}
	}
	return trailers, nil
}

// readWhole reads a whole body, up to limit bytes (-1: no limit).
func readWhole(src bodyReader, limit int64) ([]byte, flow.Headers, error) {
	if hb, ok := src.(*h1Body); ok {
		return h1.ReadBody(hb.br, hb.framing, limit)
	}
	r := io.Reader(src)
	if limit >= 0 {
		r = io.LimitReader(src, limit+1)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	if limit >= 0 && int64(len(body)) > limit {
		return nil, nil, h1.ErrBodyTooLarge
	}
	return body, src.trailers(), nil
}
