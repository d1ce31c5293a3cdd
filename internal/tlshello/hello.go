// Package tlshello reads a TLS ClientHello without consuming it, so the proxy
// can decide — from the SNI and ALPN offers — whether to intercept a
// connection or pass it through untouched.
package tlshello

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
)

// Hello is what the proxy needs from a ClientHello.
type Hello struct {
	SNI  string
	ALPN []string
	// Version is the legacy_version field of the hello.
	Version uint16
}

// ErrNotTLS means the data does not start with a TLS handshake record.
var ErrNotTLS = errors.New("not a TLS ClientHello")

const (
	recordHandshake  = 0x16
	typeClientHello  = 1
	extServerName    = 0
	extALPN          = 16
	maxHelloSize     = 1 << 16
	recordHeaderSize = 5
)

// LooksLikeTLS reports whether b starts like a TLS handshake record.
func LooksLikeTLS(b []byte) bool {
	return len(b) >= 3 && b[0] == recordHandshake && b[1] == 3 && b[2] <= 4
}

// Peek parses the ClientHello at the start of br without consuming it. The
// hello may span several records, as long as it fits br's buffer.
func Peek(br *bufio.Reader) (*Hello, error) {
	head, err := br.Peek(3)
	if err != nil {
		return nil, err
	}
	if !LooksLikeTLS(head) {
		return nil, ErrNotTLS
	}
	// Collect the handshake message from as many records as it needs.
	var msg []byte
	off := 0
	for {
		h, err := br.Peek(off + recordHeaderSize)
		if err != nil {
			return nil, fmt.Errorf("reading TLS record: %w", err)
		}
		rec := h[off:]
		if rec[0] != recordHandshake {
			return nil, fmt.Errorf("unexpected TLS record type %d in ClientHello", rec[0])
		}
		n := int(binary.BigEndian.Uint16(rec[3:5]))
		if n == 0 || n > 1<<14+2048 {
			return nil, fmt.Errorf("invalid TLS record length %d", n)
		}
		full, err := br.Peek(off + recordHeaderSize + n)
		if err != nil {
			return nil, fmt.Errorf("reading TLS record: %w", err)
		}
		body := full[off+recordHeaderSize:]
		if msg == nil {
			// Nearly every hello fits its first record: it is parsed
			// where it lies in the buffer, without a copy (every field
			// of Hello is copied out of it).
			if h, ok, err := parseWhole(body); ok {
				return h, err
			}
		}
		msg = append(msg, body...)
		off += recordHeaderSize + n
		if len(msg) >= 4 && 4+(int(msg[1])<<16|int(msg[2])<<8|int(msg[3])) > maxHelloSize {
			return nil, errors.New("ClientHello too large")
		}
		if h, ok, err := parseWhole(msg); ok {
			return h, err
		}
	}
}

// parseWhole parses the handshake message at the start of b when b holds
// all of it (ok), and reports !ok when it needs more records.
func parseWhole(b []byte) (h *Hello, ok bool, err error) {
	if len(b) < 4 {
		return nil, false, nil
	}
	want := 4 + (int(b[1])<<16 | int(b[2])<<8 | int(b[3]))
	if want > len(b) {
		return nil, false, nil
	}
	h, err = ParseHandshake(b[:want])
	return h, true, err
}

// reader is a bounds-checked cursor over a byte slice.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

func (r *reader) u16() int {
	if len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// ParseHandshake parses a handshake message that must be a ClientHello.
func ParseHandshake(msg []byte) (*Hello, error) {
	r := &reader{b: msg}
	if r.u8() != typeClientHello {
		return nil, ErrNotTLS
	}
	n := r.u8()<<16 | r.u16()
	body := &reader{b: r.bytes(n)}
	if r.bad {
		return nil, errors.New("truncated ClientHello")
	}
	h := &Hello{Version: uint16(body.u16())}
	body.bytes(32)         // random
	body.bytes(body.u8())  // session id
	body.bytes(body.u16()) // cipher suites
	body.bytes(body.u8())  // compression methods
	if body.bad {
		return nil, errors.New("malformed ClientHello")
	}
	if len(body.b) == 0 {
		return h, nil // no extensions
	}
	exts := &reader{b: body.bytes(body.u16())}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		data := &reader{b: exts.bytes(exts.u16())}
		switch typ {
		case extServerName:
			list := &reader{b: data.bytes(data.u16())}
			for len(list.b) > 0 && !list.bad {
				nameType := list.u8()
				name := list.bytes(list.u16())
				if nameType == 0 && h.SNI == "" {
					h.SNI = string(name)
				}
			}
			if list.bad {
				return nil, errors.New("malformed server_name extension")
			}
		case extALPN:
			list := &reader{b: data.bytes(data.u16())}
			for len(list.b) > 0 && !list.bad {
				p := list.bytes(list.u8())
				if !list.bad {
					h.ALPN = append(h.ALPN, string(p))
				}
			}
			if list.bad {
				return nil, errors.New("malformed ALPN extension")
			}
		}
	}
	if exts.bad || body.bad {
		return nil, errors.New("malformed ClientHello extensions")
	}
	return h, nil
}
