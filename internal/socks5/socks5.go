// Package socks5 is the server side of SOCKS version 5 (RFC 1928) with
// username/password authentication (RFC 1929), as mitmproxy's Socks5Proxy
// layer speaks it: one method is required (no authentication, or
// username/password when credentials are checked), only CONNECT is
// served, with IPv4, IPv6 or domain-name destinations, and every failure
// answers the client as mitmproxy does and carries mitmproxy's message for
// the log.
//
// The parsers (ParseGreeting, ParseAuth, ParseRequest) read one message
// from the start of a buffer and say how much of it they used, or that the
// message is not complete yet (ErrIncomplete). Handshake drives them on a
// connection; what the client sent after its request stays in the reader
// for the layer that follows.
package socks5

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// Version is the protocol version, the first byte of every SOCKS5 message
// but the authentication ones.
const Version = 0x05

// Authentication methods (RFC 1928 §3).
const (
	MethodNoAuth       = 0x00
	MethodUserPass     = 0x02
	MethodNoAcceptable = 0xff
)

// Commands (RFC 1928 §4).
const (
	CmdConnect      = 0x01
	CmdBind         = 0x02
	CmdUDPAssociate = 0x03
)

// Address types (RFC 1928 §5).
const (
	AtypIPv4   = 0x01
	AtypDomain = 0x03
	AtypIPv6   = 0x04
)

// Reply codes (RFC 1928 §6).
const (
	RepSucceeded               = 0x00
	RepGeneralFailure          = 0x01
	RepNotAllowed              = 0x02
	RepNetworkUnreachable      = 0x03
	RepHostUnreachable         = 0x04
	RepConnectionRefused       = 0x05
	RepTTLExpired              = 0x06
	RepCommandNotSupported     = 0x07
	RepAddressTypeNotSupported = 0x08
)

// authVersion is the version of the username/password sub-negotiation
// (RFC 1929 §2).
const authVersion = 0x01

// MinBufferSize is the smallest reader buffer Handshake can work with: the
// longest message, an authentication request with a 255-byte user name and
// password.
const MinBufferSize = 1 + 1 + 255 + 1 + 255

// ErrIncomplete is returned by the parsers when the buffer ends before the
// message does: more bytes are needed.
var ErrIncomplete = errors.New("socks5: incomplete message")

// The kinds of failure a handshake ends with; an *Error wraps one of them.
var (
	ErrVersion            = errors.New("socks5: invalid version")
	ErrNoAcceptableMethod = errors.New("socks5: no acceptable authentication method")
	ErrAuthFailed         = errors.New("socks5: authentication failed")
	ErrUnsupportedRequest = errors.New("socks5: command not supported")
	ErrAddressType        = errors.New("socks5: address type not supported")
)

// Error is a handshake that failed because of what the client sent. Reply
// is what the client is answered before the connection is closed (nil for
// nothing), Msg mitmproxy's log message.
type Error struct {
	Kind  error
	Msg   string
	Reply []byte
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// ClosedError is a connection that ended (or failed) during the handshake.
// Buffered holds what the client had sent of the message being read, for
// mitmproxy's "Client closed connection before completing SOCKS5
// handshake" (it says nothing when that is empty).
type ClosedError struct {
	Buffered []byte
	Err      error
}

func (e *ClosedError) Error() string {
	if len(e.Buffered) == 0 {
		return fmt.Sprintf("socks5: connection closed during the handshake: %v", e.Err)
	}
	return "Client closed connection before completing SOCKS5 handshake: " + pyrepr.Bytes(e.Buffered)
}

func (e *ClosedError) Unwrap() error { return e.Err }

// Request is a client's request (RFC 1928 §4).
type Request struct {
	Command  byte
	AddrType byte
	// Host is the destination: an IP address in its usual text form, or
	// the domain name as sent (bytes outside ASCII as U+FFFD, as
	// mitmproxy decodes it).
	Host string
	Port int
}

// ParseGreeting reads the client's version identifier and method selection
// message (VER, NMETHODS, METHODS) from the start of b. n is how many bytes
// it took. As mitmproxy, nothing is decided before two bytes arrived; a
// wrong version is then an *Error (ErrVersion).
func ParseGreeting(b []byte) (methods []byte, n int, err error) {
	if len(b) < 2 {
		return nil, 0, ErrIncomplete
	}
	if b[0] != Version {
		guess := ""
		if isUpper(b[:min(3, len(b))]) {
			guess = "Probably not a SOCKS request but a regular HTTP request. "
		}
		return nil, 0, &Error{Kind: ErrVersion, Msg: fmt.Sprintf("%sInvalid SOCKS version. Expected 0x05, got 0x%x", guess, b[0])}
	}
	n = 2 + int(b[1])
	if len(b) < n {
		return nil, 0, ErrIncomplete
	}
	return b[2:n], n, nil
}

// ParseAuth reads a username/password request (RFC 1929 §2) from the start
// of b. The names are decoded as mitmproxy decodes them: UTF-8, with
// invalid bytes as \xNN escapes. Like mitmproxy, it does not insist on
// the sub-negotiation's version byte.
func ParseAuth(b []byte) (user, password string, n int, err error) {
	if len(b) < 3 {
		return "", "", 0, ErrIncomplete
	}
	ulen := int(b[1])
	if len(b) < 3+ulen {
		return "", "", 0, ErrIncomplete
	}
	plen := int(b[2+ulen])
	n = 3 + ulen + plen
	if len(b) < n {
		return "", "", 0, ErrIncomplete
	}
	return backslashReplace(b[2 : 2+ulen]), backslashReplace(b[3+ulen : n]), n, nil
}

// ParseRequest reads a request (VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT)
// from the start of b. Anything but a version 5 CONNECT with a zero
// reserved byte is an *Error with ErrUnsupportedRequest, an unknown address
// type one with ErrAddressType; both carry the reply mitmproxy sends.
func ParseRequest(b []byte) (req Request, n int, err error) {
	if len(b) < 5 {
		return Request{}, 0, ErrIncomplete
	}
	if b[0] != Version || b[1] != CmdConnect || b[2] != 0 {
		return Request{}, 0, &Error{Kind: ErrUnsupportedRequest, Msg: "Unsupported SOCKS5 request: " + pyrepr.Bytes(b),
			Reply: Reply(RepCommandNotSupported)}
	}
	req = Request{Command: b[1], AddrType: b[3]}
	switch req.AddrType {
	case AtypIPv4:
		n = 4 + 4 + 2
	case AtypIPv6:
		n = 4 + 16 + 2
	case AtypDomain:
		n = 4 + 1 + int(b[4]) + 2
	default:
		return Request{}, 0, &Error{Kind: ErrAddressType, Msg: fmt.Sprintf("Unknown address type: %d", req.AddrType),
			Reply: Reply(RepAddressTypeNotSupported)}
	}
	if len(b) < n {
		return Request{}, 0, ErrIncomplete
	}
	addr := b[4 : n-2]
	switch req.AddrType {
	case AtypIPv4:
		req.Host = netip.AddrFrom4([4]byte(addr)).String()
	case AtypIPv6:
		req.Host = netip.AddrFrom16([16]byte(addr)).String()
	default:
		req.Host = asciiReplace(addr[1:])
	}
	req.Port = int(binary.BigEndian.Uint16(b[n-2 : n]))
	return req, n, nil
}

// Reply is the server's reply to a request with the given code. As
// mitmproxy's, its bound address is always 0.0.0.0:0: nothing a client
// needs for CONNECT.
func Reply(code byte) []byte {
	return []byte{Version, code, 0, AtypIPv4, 0, 0, 0, 0, 0, 0}
}

// Authenticator checks a user name and password.
type Authenticator func(user, password string) bool

// Handshake runs the server side of the handshake on a client connection
// up to its request: r reads the client (its buffer must hold at least
// MinBufferSize bytes), w answers it unbuffered. With auth, the client must
// authenticate with a user name and password that auth accepts; without,
// it must offer "no authentication". On success the caller answers the
// request with Reply (RepSucceeded, or RepHostUnreachable when the server
// cannot be reached); the bytes the client sent after its request are still
// in r.
//
// On failure the client has been answered as mitmproxy answers it, and the
// error is an *Error (what the client sent was refused), a *ClosedError
// (the connection ended), or the error of a write.
func Handshake(r *bufio.Reader, w io.Writer, auth Authenticator) (Request, error) {
	if r.Size() < MinBufferSize {
		return Request{}, fmt.Errorf("socks5: the reader's buffer (%d bytes) is smaller than %d", r.Size(), MinBufferSize)
	}
	// Greeting and method selection.
	var methods []byte
	n, err := readMessage(r, func(b []byte) (n int, err error) {
		methods, n, err = ParseGreeting(b)
		return n, err
	})
	if err != nil {
		return Request{}, answer(w, err)
	}
	method, name := byte(MethodNoAuth), "no"
	if auth != nil {
		method, name = MethodUserPass, "user/password"
	}
	if !contains(methods, method) {
		_, _ = r.Discard(n)
		// As mitmproxy's, the refusal is a whole reply (10 bytes), of
		// which a client reads the two of a method selection message.
		e := &Error{Kind: ErrNoAcceptableMethod, Msg: fmt.Sprintf("Client does not support SOCKS5 with %s authentication.", name),
			Reply: Reply(MethodNoAcceptable)}
		return Request{}, answer(w, e)
	}
	_, _ = r.Discard(n)
	if _, err := w.Write([]byte{Version, method}); err != nil {
		return Request{}, err
	}

	// Username/password sub-negotiation.
	if auth != nil {
		var user, password string
		n, err := readMessage(r, func(b []byte) (n int, err error) {
			user, password, n, err = ParseAuth(b)
			return n, err
		})
		if err != nil {
			return Request{}, err
		}
		_, _ = r.Discard(n)
		if !auth(user, password) {
			return Request{}, answer(w, &Error{Kind: ErrAuthFailed, Msg: "authentication failed", Reply: []byte{authVersion, 0x01}})
		}
		if _, err := w.Write([]byte{authVersion, 0x00}); err != nil {
			return Request{}, err
		}
	}

	// The request.
	var req Request
	n, err = readMessage(r, func(b []byte) (n int, err error) {
		req, n, err = ParseRequest(b)
		return n, err
	})
	if err != nil {
		return Request{}, answer(w, err)
	}
	_, _ = r.Discard(n)
	return req, nil
}

// readMessage waits until parse finds a whole message at the start of r's
// buffer and returns its length; the message stays in the buffer.
func readMessage(r *bufio.Reader, parse func([]byte) (int, error)) (int, error) {
	for {
		b, _ := r.Peek(r.Buffered())
		n, err := parse(b)
		if err != ErrIncomplete {
			return n, err
		}
		if _, err := r.Peek(len(b) + 1); err != nil {
			b, _ := r.Peek(r.Buffered())
			return 0, &ClosedError{Buffered: append([]byte(nil), b...), Err: err}
		}
	}
}

// answer sends an *Error's reply and returns err (or the write's error).
func answer(w io.Writer, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Reply != nil {
		if _, werr := w.Write(e.Reply); werr != nil {
			return fmt.Errorf("%w (and the reply could not be sent: %w)", err, werr)
		}
	}
	return err
}

func contains(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// isUpper is Python's bytes.isupper: at least one ASCII capital, and no
// lowercase ASCII letter.
func isUpper(b []byte) bool {
	upper := false
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			return false
		case c >= 'A' && c <= 'Z':
			upper = true
		}
	}
	return upper
}

// backslashReplace decodes b as Python's b.decode("utf-8",
// "backslashreplace").
func backslashReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[0])
			b = b[1:]
			continue
		}
		sb.Write(b[:size])
		b = b[size:]
	}
	return sb.String()
}

// asciiReplace decodes b as Python's b.decode("ascii", "replace").
func asciiReplace(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			var sb strings.Builder
			for _, c := range b {
				if c >= 0x80 {
					sb.WriteRune(utf8.RuneError)
				} else {
					sb.WriteByte(c)
				}
			}
			return sb.String()
		}
	}
	return string(b)
}
