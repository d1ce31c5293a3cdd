package proxy

import (
	"bufio"
	"errors"
	"io"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// readBody reads a whole body. A body of unknown length that grows past the
// stream_large_bodies threshold is not buffered further: readBody returns a
// bodyStream holding what was read so far and the rest of the body. A large
// Content-Length body is read into a recycled buffer, which goes back to the
// pool when the flow is done (see recycleBodies).
func (cc *clientConn) readBody(br *bufio.Reader, fr h1.Framing, cfg *Config) ([]byte, flow.Headers, *bodyStream, error) {
	if fr.Kind == h1.Length && (cfg.BodySizeLimit < 0 || fr.Length <= cfg.BodySizeLimit) {
		if b := cc.s.bodies.get(fr.Length); b != nil {
			cc.pooled = append(cc.pooled, b)
			// Capped: an addon appending to the body gets a copy, not the
			// rest of the buffer.
			body := (*b)[:fr.Length:fr.Length]
			if err := h1.ReadFullBody(br, body); err != nil {
				return nil, nil, nil, err
			}
			return body, nil, nil, nil
		}
	}
	if cfg.StreamLargeBodies < 0 || fr.Kind == h1.Length || fr.Kind == h1.NoBody {
		body, trailers, err := h1.ReadBody(br, fr, cfg.BodySizeLimit)
		return body, trailers, nil, err
	}
	r := h1.BodyReader(br, fr)
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if cfg.BodySizeLimit >= 0 && int64(len(buf)) > cfg.BodySizeLimit {
			return nil, nil, nil, h1.ErrBodyTooLarge
		}
		if int64(len(buf)) > cfg.StreamLargeBodies {
			return nil, nil, &bodyStream{prefix: buf, r: r, limit: cfg.BodySizeLimit, store: cfg.StoreStreamedBodies}, nil
		}
		if err == io.EOF {
			var trailers flow.Headers
			if cr, ok := r.(*h1.ChunkedReader); ok {
				trailers = cr.Trailers
			}
			return buf, trailers, nil, nil
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
}

// bodyStream is a body forwarded as it arrives instead of being buffered.
type bodyStream struct {
	prefix []byte
	r      io.Reader
	limit  int64
	// store keeps a copy of the body (store_streamed_bodies).
	store  bool
	stored []byte
	total  int64
}

func newBodyStream(br *bufio.Reader, fr h1.Framing, prefix []byte, cfg *Config) *bodyStream {
	return &bodyStream{prefix: prefix, r: h1.BodyReader(br, fr), limit: cfg.BodySizeLimit, store: cfg.StoreStreamedBodies}
}

// streamError tells which side of a copy failed.
type streamError struct {
	read bool
	err  error
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

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

// copyTo forwards the body to w, chunked or raw, and returns the trailers.
// Each piece is flushed as it goes so the receiver sees data as soon as the
// sender produces it (server-sent events, downloads). Its buffers come from
// and go back to pool.
func (b *bodyStream) copyTo(w *bufio.Writer, chunked bool, pool *bodyPool) (flow.Headers, error) {
	write := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		b.total += int64(len(p))
		if b.limit >= 0 && b.total > b.limit {
			return &streamError{read: true, err: h1.ErrBodyTooLarge}
		}
		if b.store {
			b.stored = append(b.stored, p...)
		}
		if chunked {
			h1.WriteChunk(w, p)
		} else if _, err := w.Write(p); err != nil {
			return &streamError{err: err}
		}
		if err := w.Flush(); err != nil {
			return &streamError{err: err}
		}
		return nil
	}
	if err := write(b.prefix); err != nil {
		return nil, err
	}
	if err := pump(b.r, pool, write); err != nil {
		var se *streamError
		if !errors.As(err, &se) {
			err = &streamError{read: true, err: err}
		}
		return nil, err
	}
	var trailers flow.Headers
	if cr, ok := b.r.(*h1.ChunkedReader); ok {
		trailers = cr.Trailers
	}
	if chunked {
		h1.WriteLastChunk(w, trailers)
	}
	if err := w.Flush(); err != nil {
		return nil, &streamError{err: err}
	}
	return trailers, nil
}
