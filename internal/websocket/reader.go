package websocket

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Role is which end of a WebSocket connection an endpoint is: the client
// masks what it sends, the server does not (RFC 6455 section 5.1).
type Role uint8

// The two ends.
const (
	Server Role = iota
	Client
)

func (r Role) String() string {
	if r == Client {
		return "client"
	}
	return "server"
}

// Event is what a Reader returns: a whole message (OpText or OpBinary), or
// a control frame (OpPing, OpPong, OpClose).
type Event struct {
	Opcode Opcode
	// Payload is the message (decompressed), or the ping's or pong's
	// payload. It is the caller's: the Reader does not reuse it.
	Payload []byte
	// Fragments are the lengths of the message's parts as its frames
	// carried them (summing to len(Payload)); nil when one frame carried
	// it. For a compressed message they are shares of the decompressed
	// payload in proportion to what each frame carried.
	Fragments []int
	// Compressed reports a message that came compressed
	// (permessage-deflate).
	Compressed bool
	// CloseCode and CloseReason are a close frame's: CloseNoStatus and ""
	// when it had no payload.
	CloseCode   int
	CloseReason string
}

// Reader reads the frames one peer sends and returns its messages and
// control frames. It is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	role Role // the role of the reading end
	inf  *inflater
	// MaxMessageSize, when positive, bounds a message's size (compressed
	// and decompressed): a larger one is a *ProtocolError with
	// CloseMessageTooBig.
	MaxMessageSize int64
	// Alloc, when set, gives the buffers messages are read into: a
	// slice with room for at least n bytes, whose length does not matter
	// and which nothing else uses (a pool's, for instance). It is called
	// when a message starts and when it outgrows its buffer; the caller
	// owns every buffer it handed out, whether or not a message still
	// uses it.
	Alloc func(n int) []byte
	// Free, when set, is given each buffer a message outgrew, once its
	// bytes are copied into the larger one: nothing uses it any more (an
	// Alloc's pool may take it back at once).
	Free func(p []byte)

	closed bool
	// The message being reassembled.
	op         Opcode // OpContinuation: none
	compressed bool
	buf        []byte
	frames     []int
	// pending is how many bytes at the end of buf are the start of a
	// character the next frame completes (text messages only).
	pending int
}

// NewReader returns a Reader of what the peer of an endpoint in role sends
// on r (best a *bufio.Reader: headers are read a few bytes at a time).
// deflate, when not nil, is the permessage-deflate the handshake agreed.
func NewReader(r io.Reader, role Role, deflate *Deflate) *Reader {
	rd := &Reader{r: r, role: role}
	if deflate != nil {
		peer := Client
		if role == Client {
			peer = Server
		}
		rd.inf = newInflater(deflate, peer)
	}
	return rd
}

// Next reads until the next whole message or control frame. Errors are
// those of the underlying reader (io.EOF when the peer closed the
// connection between frames, io.ErrUnexpectedEOF within one), a
// *ProtocolError when the peer broke the protocol, or ErrClosed after a
// close frame was read. After an error the Reader must not be used again.
func (r *Reader) Next() (Event, error) {
	if r.closed {
		return Event{}, ErrClosed
	}
	for {
		h, err := ReadHeader(r.r)
		if err != nil {
			if err == io.EOF && r.op != OpContinuation {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if err := r.checkHeader(h); err != nil {
			return Event{}, err
		}
		if h.Opcode.IsControl() {
			payload := make([]byte, h.Length)
			if _, err := io.ReadFull(r.r, payload); err != nil {
				return Event{}, unexpected(err)
			}
			if h.Masked {
				MaskBytes(h.Mask, 0, payload)
			}
			ev := Event{Opcode: h.Opcode, Payload: payload}
			if h.Opcode == OpClose {
				r.closed = true
				ev.CloseCode, ev.CloseReason, err = parseClose(payload)
				if err != nil {
					return Event{}, err
				}
			}
			return ev, nil
		}
		if err := r.readData(h); err != nil {
			return Event{}, err
		}
		if h.Fin {
			return r.finishMessage()
		}
	}
}

// checkHeader applies the checks that depend on the connection: the
// reserved bits the extensions use, masking, and the order of a message's
// frames (wsproto's order).
func (r *Reader) checkHeader(h Header) error {
	if h.RSV1 && r.inf != nil && (h.Opcode.IsControl() || h.Opcode == OpContinuation) {
		return protocolError(CloseProtocolError, errExtension)
	}
	if h.RSV2 || h.RSV3 || h.RSV1 && r.inf == nil {
		return protocolError(CloseProtocolError, "Reserved bit set unexpectedly")
	}
	if h.Masked && r.role == Client {
		return protocolError(CloseProtocolError, "client received unexpected masked frame")
	}
	if !h.Masked && r.role == Server {
		return protocolError(CloseProtocolError, "server received unexpected unmasked frame")
	}
	if h.Opcode.IsControl() {
		return nil
	}
	switch {
	case r.op == OpContinuation && h.Opcode == OpContinuation:
		return protocolError(CloseProtocolError, "unexpected CONTINUATION")
	case r.op != OpContinuation && h.Opcode != OpContinuation:
		return protocolError(CloseProtocolError, "expected CONTINUATION, got "+h.Opcode.pyRepr())
	}
	return nil
}

// readChunk bounds how much of a payload is allocated before it has
// arrived, so that a frame header claiming a huge length costs nothing.
const readChunk = 1 << 20

// readData appends a data frame's payload to the message.
func (r *Reader) readData(h Header) error {
	if r.op == OpContinuation {
		r.op, r.compressed = h.Opcode, h.RSV1
		r.buf, r.frames, r.pending = nil, r.frames[:0], 0
	}
	if r.MaxMessageSize > 0 && int64(len(r.buf))+h.Length > r.MaxMessageSize {
		return protocolError(CloseMessageTooBig, "message too big")
	}
	start := len(r.buf)
	for remaining := h.Length; remaining > 0; {
		n := int(min(remaining, readChunk))
		if r.buf == nil {
			r.buf = r.alloc(int(min(h.Length, readChunk)))
		}
		l := len(r.buf)
		if cap(r.buf)-l < n {
			nb := r.alloc(max(2*cap(r.buf), l+n))[:l]
			copy(nb, r.buf)
			if r.Free != nil {
				r.Free(r.buf)
			}
			r.buf = nb
		}
		r.buf = r.buf[:l+n]
		if _, err := io.ReadFull(r.r, r.buf[l:]); err != nil {
			return unexpected(err)
		}
		remaining -= int64(n)
	}
	if h.Masked {
		MaskBytes(h.Mask, 0, r.buf[start:])
	}
	r.frames = append(r.frames, len(r.buf)-start)
	if r.op == OpText && !r.compressed {
		// As wsproto, each frame's text is checked as it arrives, with
		// a character its predecessor began.
		chunk := r.buf[start-r.pending:]
		var msg string
		if r.pending, msg = checkUTF8(chunk, h.Fin); msg != "" {
			return protocolError(CloseInvalidPayload, msg)
		}
	}
	return nil
}

// alloc returns an empty buffer with room for n bytes.
func (r *Reader) alloc(n int) []byte {
	if r.Alloc != nil {
		return r.Alloc(n)[:0]
	}
	return make([]byte, 0, n)
}

// growLen extends b by n bytes.
func growLen(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), max(2*cap(b), len(b)+n))
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// finishMessage returns the message reassembled so far.
func (r *Reader) finishMessage() (Event, error) {
	ev := Event{Opcode: r.op, Payload: r.buf, Compressed: r.compressed}
	r.op = OpContinuation
	if ev.Payload == nil {
		ev.Payload = []byte{}
	}
	if r.compressed {
		out, err := r.inf.inflate(make([]byte, 0, 2*len(ev.Payload)+64), ev.Payload, r.MaxMessageSize)
		if err != nil {
			return Event{}, err
		}
		ev.Payload = out
		if len(r.frames) > 1 {
			ev.Fragments = proportional(r.frames, len(out))
		}
	} else if len(r.frames) > 1 {
		ev.Fragments = append([]int(nil), r.frames...)
	}
	r.buf = nil
	if ev.Opcode == OpText && ev.Compressed {
		if _, msg := checkUTF8(ev.Payload, true); msg != "" {
			return Event{}, protocolError(CloseInvalidPayload, msg)
		}
	}
	return ev, nil
}

// proportional splits total in the proportions of parts.
func proportional(parts []int, total int) []int {
	sum := 0
	for _, p := range parts {
		sum += p
	}
	out := make([]int, len(parts))
	if sum == 0 {
		out[len(out)-1] = total
		return out
	}
	acc, prev := 0, 0
	for i, p := range parts {
		acc += p
		end := int(int64(total) * int64(acc) / int64(sum))
		out[i] = end - prev
		prev = end
	}
	return out
}

// parseClose reads a close frame's payload as wsproto does.
func parseClose(p []byte) (int, string, error) {
	if len(p) == 0 {
		return CloseNoStatus, "", nil
	}
	if len(p) == 1 {
		return 0, "", protocolError(CloseProtocolError, "CLOSE with 1 byte payload")
	}
	code := int(binary.BigEndian.Uint16(p))
	if code < 1000 || code > 4999 {
		return 0, "", protocolError(CloseProtocolError, "CLOSE with invalid code")
	}
	_, named := closeNames[code]
	if localOnly(code) {
		return 0, "", protocolError(CloseProtocolError, "remote CLOSE with local-only reason")
	}
	if !named && code <= 2999 {
		return 0, "", protocolError(CloseProtocolError, "CLOSE with unknown reserved code")
	}
	reason := p[2:]
	if _, msg := checkUTF8(reason, true); msg != "" {
		return 0, "", protocolError(CloseInvalidPayload, "Error decoding CLOSE reason: "+msg)
	}
	return code, string(reason), nil
}

// String describes an event for logs and tests.
func (e Event) String() string {
	switch e.Opcode {
	case OpClose:
		return fmt.Sprintf("CLOSE %d %q", e.CloseCode, e.CloseReason)
	case OpText:
		return fmt.Sprintf("TEXT %q %v", e.Payload, e.Fragments)
	}
	return fmt.Sprintf("%s %x %v", e.Opcode, e.Payload, e.Fragments)
}
