// Package websocket is the WebSocket protocol as the proxy speaks it on
// either side of a connection: RFC 6455 frames (reading, writing, masking),
// messages reassembled from their fragments with control frames between
// them, the close handshake's codes and reasons, and permessage-deflate
// (RFC 7692) with the parameters a handshake agreed on.
//
// Its checks and the reasons it gives for failing are wsproto's (the library
// mitmproxy's WebSocket layer is built on), so that a connection mitmgo
// closes for a protocol error records the close code and reason mitmproxy
// would.
//
// A Reader reads one peer's frames and returns whole messages and control
// frames; a Writer sends messages and control frames to one peer, masked
// when it writes as a client. Neither knows about flows or hooks.
package websocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Opcode is a frame's opcode (RFC 6455 section 5.2).
type Opcode uint8

// The opcodes RFC 6455 defines.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports a control frame's opcode (close, ping, pong, or a
// reserved one).
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// known reports an opcode RFC 6455 defines.
func (o Opcode) known() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

var opcodeNames = map[Opcode]string{
	OpContinuation: "CONTINUATION", OpText: "TEXT", OpBinary: "BINARY",
	OpClose: "CLOSE", OpPing: "PING", OpPong: "PONG",
}

// String is the opcode's name as wsproto's Opcode enum spells it.
func (o Opcode) String() string {
	if s, ok := opcodeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("0x%x", uint8(o))
}

// pyRepr is the opcode as Python prints the enum member, which wsproto's
// error messages include.
func (o Opcode) pyRepr() string { return fmt.Sprintf("<Opcode.%s: %d>", o, uint8(o)) }

// MaxControlPayload is the largest payload of a control frame.
const MaxControlPayload = 125

// MaxHeaderSize is the largest encoded frame header: two bytes, an eight
// byte length and a four byte masking key.
const MaxHeaderSize = 14

// Header is a frame's header.
type Header struct {
	Fin              bool
	RSV1, RSV2, RSV3 bool
	Opcode           Opcode
	Masked           bool
	Mask             [4]byte
	// Length is the payload's length.
	Length int64
}

// ReadHeader reads one frame header. It checks what can be checked without
// knowing the connection: a known opcode, control frames unfragmented and
// at most 125 bytes long, and the length encoded in as few bytes as it
// fits (wsproto's checks, in its order, with its messages). Masking and the
// reserved bits depend on the side and the extensions; Reader checks them.
//
// It returns io.EOF when r ends before the header's first byte and
// io.ErrUnexpectedEOF when it ends within it. From a *bufio.Reader it
// takes the header in place (see readHeaderBuffered).
func ReadHeader(r io.Reader) (Header, error) {
	if br, ok := r.(*bufio.Reader); ok {
		return readHeaderBuffered(br)
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return Header{}, err
	}
	h, ext, err := startHeader(b[0], b[1])
	if err != nil {
		return h, err
	}
	if ext > 0 {
		if _, err := io.ReadFull(r, b[:ext]); err != nil {
			return h, unexpected(err)
		}
		if err := h.setLength(b[:ext]); err != nil {
			return h, err
		}
	}
	if h.Masked {
		if _, err := io.ReadFull(r, h.Mask[:]); err != nil {
			return h, unexpected(err)
		}
	}
	return h, nil
}

// readHeaderBuffered is ReadHeader from a *bufio.Reader: the header is
// looked at where the reader holds it and then skipped, instead of being
// copied out in up to three reads of a few bytes (a tenth of the proxy's
// own instructions per 100-byte message went to those reads, callgrind).
func readHeaderBuffered(br *bufio.Reader) (Header, error) {
	b, err := br.Peek(2)
	if len(b) < 2 {
		if len(b) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		_, _ = br.Discard(len(b))
		return Header{}, err
	}
	h, ext, err := startHeader(b[0], b[1])
	if err != nil {
		_, _ = br.Discard(2)
		return h, err
	}
	// The length is checked before the masking key is waited for, as
	// ReadHeader does.
	size := 2 + ext
	if ext > 0 {
		if b, err = br.Peek(size); len(b) < size {
			// What there is of the header is consumed, as ReadFull
			// would.
			_, _ = br.Discard(len(b))
			return h, unexpected(err)
		}
		if err := h.setLength(b[2:size]); err != nil {
			_, _ = br.Discard(size)
			return h, err
		}
	}
	if h.Masked {
		size += 4
		if b, err = br.Peek(size); len(b) < size {
			_, _ = br.Discard(len(b))
			return h, unexpected(err)
		}
		copy(h.Mask[:], b[2+ext:])
	}
	_, _ = br.Discard(size)
	return h, nil
}

// startHeader decodes a header's first two bytes and makes the checks they
// allow; ext is how many bytes of extended length follow (0, 2 or 8).
func startHeader(b0, b1 byte) (h Header, ext int, err error) {
	h = Header{
		Fin:    b0&0x80 != 0,
		RSV1:   b0&0x40 != 0,
		RSV2:   b0&0x20 != 0,
		RSV3:   b0&0x10 != 0,
		Opcode: Opcode(b0 & 0x0f),
		Masked: b1&0x80 != 0,
	}
	if !h.Opcode.known() {
		return h, 0, protocolError(CloseProtocolError, fmt.Sprintf("Invalid opcode %#x", uint8(h.Opcode)))
	}
	if h.Opcode.IsControl() && !h.Fin {
		return h, 0, protocolError(CloseProtocolError, "Invalid attempt to fragment control frame")
	}
	n := int64(b1 & 0x7f)
	if h.Opcode.IsControl() && n > MaxControlPayload {
		return h, 0, protocolError(CloseProtocolError, "Control frame with payload len > 125")
	}
	switch n {
	case 126:
		return h, 2, nil
	case 127:
		return h, 8, nil
	}
	h.Length = n
	return h, 0, nil
}

// setLength decodes an extended payload length (2 or 8 bytes), which must
// not fit in fewer.
func (h *Header) setLength(b []byte) error {
	if len(b) == 2 {
		n := int64(binary.BigEndian.Uint16(b))
		if n <= 125 {
			return protocolError(CloseProtocolError, "Payload length used 2 bytes when 1 would have sufficed")
		}
		h.Length = n
		return nil
	}
	u := binary.BigEndian.Uint64(b)
	if u <= 0xffff {
		return protocolError(CloseProtocolError, "Payload length used 8 bytes when 2 would have sufficed")
	}
	if u>>63 != 0 {
		return protocolError(CloseProtocolError, "8-byte payload length with non-zero MSB")
	}
	h.Length = int64(u)
	return nil
}

// unexpected turns the end of the input inside a header into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends h's encoding, with its length in as few bytes as
// it fits.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Opcode & 0x0f)
	if h.Fin {
		b0 |= 0x80
	}
	if h.RSV1 {
		b0 |= 0x40
	}
	if h.RSV2 {
		b0 |= 0x20
	}
	if h.RSV3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length <= 125:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole frame: h (whose Length is set to the
// payload's) and the payload, masked with h.Mask when h.Masked. payload is
// not changed.
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	if !h.Masked {
		return append(dst, payload...)
	}
	// Masked while copied: one pass over the payload instead of a copy
	// and a second pass over the copy (for 64 KiB messages the copy was
	// as costly as the masking, perf).
	dst = growLen(dst, len(payload))
	maskCopy(h.Mask, 0, dst[start:], payload)
	return dst
}

// MaskBytes XORs b with the masking key, b being the payload's bytes from
// offset pos on; it returns the offset after b, for the next part of the
// same payload. Masking and unmasking are the same operation.
func MaskBytes(key [4]byte, pos int, b []byte) int {
	return maskCopy(key, pos, b, b)
}

// maskCopy writes src XORed with the masking key to dst (as long as src;
// dst may be src itself), src being the payload's bytes from offset pos on,
// and returns the offset after src.
func maskCopy(key [4]byte, pos int, dst, src []byte) int {
	k := binary.LittleEndian.Uint32(key[:])
	k = bits.RotateLeft32(k, -8*(pos&3))
	n := len(src)
	dst = dst[:n]
	// Eight bytes at a time (the key repeats every four), four words per
	// turn: a quarter of the loop's bookkeeping per byte (MaskBytes took
	// 10% of the proxy's CPU time with 64 KiB messages, perf).
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+32 <= n; i += 32 {
		s, d := src[i:i+32], dst[i:i+32]
		binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(s)^k64)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k64)
	}
	for ; i < n; i++ {
		dst[i] = src[i] ^ byte(k>>(8*(i&3)))
	}
	return pos + n
}
