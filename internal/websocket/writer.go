package websocket

import (
	crand "crypto/rand"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"unicode/utf8"
)

// Writer sends messages and control frames to one peer. It is safe for
// concurrent use: each message's frames go out together.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
	// buffered tells what w holds unflushed (a *bufio.Writer's Buffered);
	// direct writes a frame's header and payload past w (see SetDirect).
	buffered func() int
	direct   func(head, payload []byte) error
	role     Role // the role of the writing end
	def      *deflater
	rng      *rand.ChaCha8
	closed   bool
	buf      []byte
}

// NewWriter returns a Writer to w for an endpoint in role; when w has a
// Flush method (a *bufio.Writer), it is flushed after every message and
// control frame. deflate, when not nil, is the permessage-deflate the
// handshake agreed: every message is then sent compressed, as wsproto does.
func NewWriter(w io.Writer, role Role, deflate *Deflate) *Writer {
	wr := &Writer{w: w, role: role}
	if f, ok := w.(interface{ Flush() error }); ok {
		wr.flush = f.Flush
	}
	if b, ok := w.(interface{ Buffered() int }); ok {
		wr.buffered = b.Buffered
	}
	if deflate != nil {
		wr.def = newDeflater(deflate, role)
	}
	if role == Client {
		// Masking keys must be unpredictable (RFC 6455 section 5.3): a
		// ChaCha8 stream seeded from the system's generator is, and
		// costs far less per frame.
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		wr.rng = rand.NewChaCha8(seed)
	}
	return wr
}

// SetDirect gives the Writer a way to send a large frame's header and
// payload together past w (for a connection, one writev): used when w
// holds nothing unflushed (w must then have a Buffered method, as a
// *bufio.Writer has), so that the bytes still go out in order. Without
// it, the payload of a large unmasked frame is written through w (which
// copies it in part and takes two system calls), and a masked frame is
// masked into the Writer's own buffer and written in one piece.
func (w *Writer) SetDirect(direct func(head, payload []byte) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buffered != nil {
		w.direct = direct
	}
}

// WriteMessage sends a text or binary message in frames carrying the
// given lengths of it (nil or lengths that do not add up to len(payload):
// one frame). It returns ErrClosed once a close frame was sent.
func (w *Writer) WriteMessage(op Opcode, payload []byte, fragments []int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	sum := 0
	for _, n := range fragments {
		sum += n
	}
	if sum != len(payload) || len(fragments) == 0 {
		fragments = []int{len(payload)}
	}
	frameOp := op
	off := 0
	for i, n := range fragments {
		part := payload[off : off+n]
		off += n
		final := i == len(fragments)-1
		h := Header{Fin: final, Opcode: frameOp}
		if w.def != nil {
			var err error
			if part, err = w.def.compress(part, final); err != nil {
				return err
			}
			h.RSV1 = frameOp != OpContinuation
		}
		if err := w.writeFrame(h, part); err != nil {
			return err
		}
		frameOp = OpContinuation
	}
	return w.flushLocked()
}

// WriteControl sends a ping or pong (at most 125 bytes of payload).
func (w *Writer) WriteControl(op Opcode, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if len(payload) > MaxControlPayload {
		payload = payload[:MaxControlPayload]
	}
	if err := w.writeFrame(Header{Fin: true, Opcode: op}, payload); err != nil {
		return err
	}
	return w.flushLocked()
}

// WriteClose sends a close frame, as wsproto does: no payload for
// CloseNoStatus (or code 0), CloseNormal in place of the other codes that
// are never sent, and the reason cut to fit 125 bytes on a character
// boundary. Only the first close is sent; later ones return ErrClosed.
func (w *Writer) WriteClose(code int, reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	var payload []byte
	if code != 0 && code != CloseNoStatus {
		if localOnly(code) {
			code = CloseNormal
		}
		payload = binary.BigEndian.AppendUint16(make([]byte, 0, MaxControlPayload), uint16(code))
		r := []byte(reason)
		if len(r) > MaxControlPayload-2 {
			r = r[:MaxControlPayload-2]
			for len(r) > 0 && !utf8.Valid(r) {
				r = r[:len(r)-1]
			}
		}
		payload = append(payload, r...)
	}
	if err := w.writeFrame(Header{Fin: true, Opcode: OpClose}, payload); err != nil {
		return err
	}
	return w.flushLocked()
}

// Closed reports whether a close frame was sent.
func (w *Writer) Closed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// largeFrame is the payload size from which a frame's payload is written
// on its own rather than copied after its header.
const largeFrame = 16 << 10

func (w *Writer) writeFrame(h Header, payload []byte) error {
	h.Length = int64(len(payload))
	if w.role == Client {
		h.Masked = true
		binary.LittleEndian.PutUint32(h.Mask[:], uint32(w.rng.Uint64()))
	}
	if !h.Masked && len(payload) >= largeFrame {
		w.buf = AppendHeader(w.buf[:0], h)
		if w.direct != nil && w.buffered() == 0 {
			return w.direct(w.buf, payload)
		}
		if _, err := w.w.Write(w.buf); err != nil {
			return err
		}
		_, err := w.w.Write(payload)
		return err
	}
	// A masked frame is masked into w.buf as it is copied there, and
	// goes out in one piece: through w, which writes a piece larger than
	// its buffer directly when it holds nothing.
	w.buf = AppendFrame(w.buf[:0], h, payload)
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > 1<<20 {
		// Do not keep a large message's buffer for the small ones.
		w.buf = nil
	}
	return err
}

func (w *Writer) flushLocked() error {
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

// FragmentSize is the frame size in which a message is sent when it no
// longer has the length it arrived with (it was changed, or injected):
// mitmproxy's Fragmentizer.FRAGMENT_SIZE, a bit under 4 KiB, as some
// servers refuse larger frames.
const FragmentSize = 4000

// Refragment returns the frame lengths in which to send payload, as
// mitmproxy's Fragmentizer chooses them: the lengths the message arrived
// in (original) when the payload still has their sum, else FragmentSize
// pieces. No frame of a text message ends inside a character. A nil
// result means one frame.
func Refragment(payload []byte, original []int, text bool) []int {
	sum := 0
	for _, n := range original {
		sum += n
	}
	var ends []int
	switch {
	case len(original) > 0 && sum == len(payload):
		if len(original) == 1 {
			return nil
		}
		ends = make([]int, 0, len(original))
		e := 0
		for _, n := range original {
			e += n
			ends = append(ends, e)
		}
	case len(payload) <= FragmentSize:
		return nil
	default:
		ends = make([]int, 0, len(payload)/FragmentSize+1)
		for e := FragmentSize; e < len(payload); e += FragmentSize {
			ends = append(ends, e)
		}
		ends = append(ends, len(payload))
	}
	out := make([]int, len(ends))
	prev := 0
	for i, e := range ends {
		if text && i < len(ends)-1 {
			e = max(runeStart(payload, e), prev)
		}
		out[i] = e - prev
		prev = e
	}
	return out
}
