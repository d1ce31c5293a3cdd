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
// io.ErrUnexpectedEOF when it ends within it.
func ReadHeader(r io.Reader) (Header, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return Header{}, err
	}
	h := Header{
		Fin:    b[0]&0x80 != 0,
		RSV1:   b[0]&0x40 != 0,
		RSV2:   b[0]&0x20 != 0,
		RSV3:   b[0]&0x10 != 0,
		Opcode: Opcode(b[0] & 0x0f),
		Masked: b[1]&0x80 != 0,
	}
	if !h.Opcode.known() {
		return h, protocolError(CloseProtocolError, fmt.Sprintf("Invalid opcode %#x", uint8(h.Opcode)))
	}
	if h.Opcode.IsControl() && !h.Fin {
		return h, protocolError(CloseProtocolError, "Invalid attempt to fragment control frame")
	}
	n := int64(b[1] & 0x7f)
	if h.Opcode.IsControl() && n > MaxControlPayload {
		return h, protocolError(CloseProtocolError, "Control frame with payload len > 125")
	}
	switch n {
	case 126:
		if _, err := io.ReadFull(r, b[:2]); err != nil {
			return h, unexpected(err)
		}
		n = int64(binary.BigEndian.Uint16(b[:2]))
		if n <= 125 {
			return h, protocolError(CloseProtocolError, "Payload length used 2 bytes when 1 would have sufficed")
		}
	case 127:
		if _, err := io.ReadFull(r, b[:8]); err != nil {
			return h, unexpected(err)
		}
		u := binary.BigEndian.Uint64(b[:8])
		if u <= 0xffff {
			return h, protocolError(CloseProtocolError, "Payload length used 8 bytes when 2 would have sufficed")
		}
		if u>>63 != 0 {
			return h, protocolError(CloseProtocolError, "8-byte payload length with non-zero MSB")
		}
		n = int64(u)
	}
	h.Length = n
	if h.Masked {
		if _, err := io.ReadFull(r, h.Mask[:]); err != nil {
			return h, unexpected(err)
		}
	}
	return h, nil
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
	dst = append(dst, payload...)
	if h.Masked {
		MaskBytes(h.Mask, 0, dst[start:])
	}
	return dst
}

// MaskBytes XORs b with the masking key, b being the payload's bytes from
// offset pos on; it returns the offset after b, for the next part of the
// same payload. Masking and unmasking are the same operation.
func MaskBytes(key [4]byte, pos int, b []byte) int {
	k := binary.LittleEndian.Uint32(key[:])
	k = bits.RotateLeft32(k, -8*(pos&3))
	n := len(b)
	// Eight bytes at a time: the key repeats every four.
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= n; i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(b[i:], v^k64)
	}
	for ; i < n; i++ {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
	return pos + n
}
