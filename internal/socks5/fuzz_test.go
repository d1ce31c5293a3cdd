package socks5

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// FuzzHandshake feeds arbitrary client bytes to the parsers and to
// Handshake, whole and a byte at a time: nothing panics, both ways agree,
// a parser never claims more than it was given, a message cut short is
// incomplete rather than wrong, and a parsed request encodes back to the
// bytes it came from.
func FuzzHandshake(f *testing.F) {
	for _, s := range []string{
		"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50",
		"\x05\x01\x00\x05\x01\x00\x04" + strings.Repeat("\x00", 15) + "\x01\x01\xbb",
		"\x05\x01\x00\x05\x01\x00\x03\x0bexample.com\x01\xbbGET / HTTP/1.1\r\n\r\n",
		"\x05\x02\x00\x02\x01\x04user\x04pass\x05\x01\x00\x03\x01a\x00\x50",
		"\x05\x01\x02\x01\x04user\x04nope",
		"\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50",
		"\x05\x01\x00\x05\x01\x00\x09",
		"GET / HTTP/1.1\r\n\r\n",
		"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, withAuth bool) {
		var auth Authenticator
		if withAuth {
			auth = func(user, password string) bool { return user == "user" && password == "pass" }
		}
		run := func(oneByte bool) (Request, error, string, []byte) {
			var src = bytes.NewReader(data)
			var r *bufio.Reader
			if oneByte {
				r = bufio.NewReaderSize(&oneByteReader{string(data)}, MinBufferSize)
			} else {
				r = bufio.NewReaderSize(src, MinBufferSize)
			}
			var w bytes.Buffer
			req, err := Handshake(r, &w, auth)
			rest, _ := r.Peek(r.Buffered())
			return req, err, w.String(), rest
		}
		req, err, written, _ := run(false)
		req1, err1, written1, _ := run(true)
		// The messages may differ: they show what had arrived when the
		// handshake failed.
		if req != req1 || written != written1 || kindOf(err) != kindOf(err1) {
			t.Fatalf("whole and byte by byte disagree:\n%+v %v %q\n%+v %v %q", req, err, written, req1, err1, written1)
		}
		var e *Error
		var c *ClosedError
		if err != nil && !errors.As(err, &e) && !errors.As(err, &c) {
			t.Fatalf("untyped error %v", err)
		}

		if m, n, err := ParseGreeting(data); err == nil {
			if n > len(data) || len(m) != n-2 {
				t.Fatalf("greeting took %d of %d bytes, %d methods", n, len(data), len(m))
			}
		} else if errors.Is(err, ErrIncomplete) && len(data) >= 2+255 {
			t.Fatalf("greeting incomplete at %d bytes", len(data))
		}
		if _, _, n, err := ParseAuth(data); err == nil && n > len(data) {
			t.Fatalf("auth took %d of %d bytes", n, len(data))
		} else if errors.Is(err, ErrIncomplete) && len(data) >= MinBufferSize {
			t.Fatalf("auth incomplete at %d bytes", len(data))
		}
		r, n, err := ParseRequest(data)
		switch {
		case err == nil:
			if n > len(data) {
				t.Fatalf("request took %d of %d bytes", n, len(data))
			}
			if enc := encodeRequest(r); !bytes.Equal(enc, data[:n]) && !strings.ContainsRune(r.Host, '\ufffd') {
				t.Fatalf("request %+v encodes as %x, read from %x", r, enc, data[:n])
			}
			// Every shorter prefix is incomplete.
			for i := range n {
				if _, _, err := ParseRequest(data[:i]); !errors.Is(err, ErrIncomplete) {
					t.Fatalf("prefix of %d bytes of a %d-byte request: %v", i, n, err)
				}
			}
		case errors.Is(err, ErrIncomplete):
			if len(data) >= 4+1+255+2 {
				t.Fatalf("request incomplete at %d bytes", len(data))
			}
		}
	})
}

// kindOf names the kind of a handshake error.
func kindOf(err error) error {
	for _, k := range []error{ErrVersion, ErrNoAcceptableMethod, ErrAuthFailed, ErrUnsupportedRequest, ErrAddressType} {
		if errors.Is(err, k) {
			return k
		}
	}
	var c *ClosedError
	if errors.As(err, &c) {
		return c.Err
	}
	return err
}

// encodeRequest is how a client writes a request.
func encodeRequest(r Request) []byte {
	b := []byte{Version, r.Command, 0, r.AddrType}
	if r.AddrType == AtypDomain {
		b = append(append(b, byte(len(r.Host))), r.Host...)
		return binary.BigEndian.AppendUint16(b, uint16(r.Port))
	}
	a := netip.MustParseAddr(r.Host)
	if r.AddrType == AtypIPv4 {
		a4 := a.As4()
		b = append(b, a4[:]...)
	} else {
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	return binary.BigEndian.AppendUint16(b, uint16(r.Port))
}
