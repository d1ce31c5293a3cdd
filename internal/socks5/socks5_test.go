package socks5

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

func TestParseGreeting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		methods string
		n       int
		kind    error
		msg     string
	}{
		{"empty", "", "", 0, ErrIncomplete, ""},
		{"one byte", "\x05", "", 0, ErrIncomplete, ""},
		{"methods missing", "\x05\x02\x00", "", 0, ErrIncomplete, ""},
		{"no auth", "\x05\x01\x00", "\x00", 3, nil, ""},
		{"two methods and more", "\x05\x02\x00\x02rest", "\x00\x02", 4, nil, ""},
		{"no methods", "\x05\x00", "", 2, nil, ""},
		{"socks4", "\x04\x01\x00\x50", "", 0, ErrVersion, "Invalid SOCKS version. Expected 0x05, got 0x4"},
		{"http", "GET / HTTP/1.1\r\n", "", 0, ErrVersion, "Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x47"},
		{"two capitals", "CO", "", 0, ErrVersion, "Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x43"},
		{"lowercase", "get /", "", 0, ErrVersion, "Invalid SOCKS version. Expected 0x05, got 0x67"},
		{"mixed case", "Get", "", 0, ErrVersion, "Invalid SOCKS version. Expected 0x05, got 0x47"},
		{"capital and digit", "G1\x00", "", 0, ErrVersion, "Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x47"},
		{"TLS", "\x16\x03\x01", "", 0, ErrVersion, "Invalid SOCKS version. Expected 0x05, got 0x16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			methods, n, err := ParseGreeting([]byte(tc.in))
			checkErr(t, err, tc.kind, tc.msg)
			if err == nil && (string(methods) != tc.methods || n != tc.n) {
				t.Errorf("got %q, %d; want %q, %d", methods, n, tc.methods, tc.n)
			}
		})
	}
}

func TestParseAuth(t *testing.T) {
	long := strings.Repeat("u", 255)
	for _, tc := range []struct {
		name, in       string
		user, password string
		n              int
		kind           error
	}{
		{"empty", "", "", "", 0, ErrIncomplete},
		{"user cut", "\x01\x04us", "", "", 0, ErrIncomplete},
		{"password length missing", "\x01\x04user", "", "", 0, ErrIncomplete},
		{"password cut", "\x01\x04user\x04pa", "", "", 0, ErrIncomplete},
		{"ok", "\x01\x04user\x04pass", "user", "pass", 11, nil},
		{"ok, more follows", "\x01\x04user\x04pass\x05\x01", "user", "pass", 11, nil},
		{"empty names", "\x01\x00\x00", "", "", 3, nil},
		{"longest", "\x01\xff" + long + "\xff" + long, long, long, MinBufferSize, nil},
		{"utf-8", "\x01\x02\xc3\xa9\x01:", "é", ":", 6, nil},
		{"invalid utf-8", "\x01\x03a\xff\xe2\x02\xe2\x82", `a\xff\xe2`, `\xe2\x82`, 8, nil},
		// mitmproxy reads the sub-negotiation whatever its version byte.
		{"version not checked", "\x05\x01u\x01p", "u", "p", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, password, n, err := ParseAuth([]byte(tc.in))
			checkErr(t, err, tc.kind, "")
			if err == nil && (user != tc.user || password != tc.password || n != tc.n) {
				t.Errorf("got %q, %q, %d; want %q, %q, %d", user, password, n, tc.user, tc.password, tc.n)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		req   Request
		n     int
		kind  error
		msg   string
		reply []byte
	}{
		{"empty", "", Request{}, 0, ErrIncomplete, "", nil},
		{"four bytes", "\x05\x01\x00\x01", Request{}, 0, ErrIncomplete, "", nil},
		{"ipv4", "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", Request{CmdConnect, AtypIPv4, "127.0.0.1", 80}, 10, nil, "", nil},
		{"ipv4 cut", "\x05\x01\x00\x01\x7f\x00\x00\x01\x00", Request{}, 0, ErrIncomplete, "", nil},
		{"ipv4, data follows", "\x05\x01\x00\x01\x0a\x00\x00\x02\x01\xbbGET", Request{CmdConnect, AtypIPv4, "10.0.0.2", 443}, 10, nil, "", nil},
		{"ipv6", "\x05\x01\x00\x04" + strings.Repeat("\x00", 15) + "\x01\xff\xff", Request{CmdConnect, AtypIPv6, "::1", 65535}, 22, nil, "", nil},
		{"ipv6 full", "\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", Request{CmdConnect, AtypIPv6, "2001:db8::1", 1}, 22, nil, "", nil},
		{"ipv4-mapped ipv6", "\x05\x01\x00\x04" + strings.Repeat("\x00", 10) + "\xff\xff\x7f\x00\x00\x01\x00\x50", Request{CmdConnect, AtypIPv6, "::ffff:127.0.0.1", 80}, 22, nil, "", nil},
		{"ipv6 cut", "\x05\x01\x00\x04\x00\x00", Request{}, 0, ErrIncomplete, "", nil},
		{"domain", "\x05\x01\x00\x03\x0bexample.com\x01\xbb", Request{CmdConnect, AtypDomain, "example.com", 443}, 18, nil, "", nil},
		{"domain cut", "\x05\x01\x00\x03\x0bexample.co", Request{}, 0, ErrIncomplete, "", nil},
		{"empty domain", "\x05\x01\x00\x03\x00\x00\x50", Request{CmdConnect, AtypDomain, "", 80}, 7, nil, "", nil},
		{"non-ascii domain", "\x05\x01\x00\x03\x03a\xc3\xa9\x00\x50", Request{CmdConnect, AtypDomain, "a\ufffd\ufffd", 80}, 10, nil, "", nil},
		{"bind", "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", Request{}, 0, ErrUnsupportedRequest,
			`Unsupported SOCKS5 request: b'\x05\x02\x00\x01\x7f\x00\x00\x01\x00P'`, Reply(RepCommandNotSupported)},
		{"udp associate", "\x05\x03\x00\x01\x00", Request{}, 0, ErrUnsupportedRequest,
			`Unsupported SOCKS5 request: b'\x05\x03\x00\x01\x00'`, Reply(RepCommandNotSupported)},
		{"reserved byte set", "\x05\x01\x01\x01\x00", Request{}, 0, ErrUnsupportedRequest,
			`Unsupported SOCKS5 request: b'\x05\x01\x01\x01\x00'`, Reply(RepCommandNotSupported)},
		{"wrong version", "\x04\x01\x00\x01\x00", Request{}, 0, ErrUnsupportedRequest,
			`Unsupported SOCKS5 request: b'\x04\x01\x00\x01\x00'`, Reply(RepCommandNotSupported)},
		{"unknown address type", "\x05\x01\x00\x02\x00", Request{}, 0, ErrAddressType,
			"Unknown address type: 2", Reply(RepAddressTypeNotSupported)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, n, err := ParseRequest([]byte(tc.in))
			checkErr(t, err, tc.kind, tc.msg)
			var e *Error
			if errors.As(err, &e) && !bytes.Equal(e.Reply, tc.reply) {
				t.Errorf("reply %x, want %x", e.Reply, tc.reply)
			}
			if err == nil && (req != tc.req || n != tc.n) {
				t.Errorf("got %+v, %d; want %+v, %d", req, n, tc.req, tc.n)
			}
		})
	}
}

func checkErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Fatalf("error %v", err)
		}
		return
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	if msg != "" && err.Error() != msg {
		t.Errorf("message\n%s\nwant\n%s", err.Error(), msg)
	}
}

// TestHandshake runs whole handshakes, fed in one piece and a byte at a
// time: what the client is answered, the request, what stays unread.
func TestHandshake(t *testing.T) {
	auth := func(user, password string) bool { return user == "user" && password == "pass" }
	connect := "\x05\x01\x00\x03\x09localhost\x1f\x90"
	for _, tc := range []struct {
		name    string
		auth    Authenticator
		in      string
		written string
		req     Request
		rest    string
		kind    error
		msg     string
	}{
		{"no auth", nil, "\x05\x01\x00" + connect + "GET /", "\x05\x00",
			Request{CmdConnect, AtypDomain, "localhost", 8080}, "GET /", nil, ""},
		{"no auth among others", nil, "\x05\x03\x02\x01\x00" + connect, "\x05\x00",
			Request{CmdConnect, AtypDomain, "localhost", 8080}, "", nil, ""},
		{"auth", auth, "\x05\x02\x00\x02\x01\x04user\x04pass" + connect + "\x16\x03\x01", "\x05\x02\x01\x00",
			Request{CmdConnect, AtypDomain, "localhost", 8080}, "\x16\x03\x01", nil, ""},
		{"wrong password", auth, "\x05\x01\x02\x01\x04user\x04nope" + connect, "\x05\x02\x01\x01",
			Request{}, connect, ErrAuthFailed, "authentication failed"},
		{"client cannot authenticate", auth, "\x05\x01\x00" + connect, "\x05\xff\x00\x01\x00\x00\x00\x00\x00\x00",
			Request{}, connect, ErrNoAcceptableMethod, "Client does not support SOCKS5 with user/password authentication."},
		{"client wants to authenticate", nil, "\x05\x01\x02", "\x05\xff\x00\x01\x00\x00\x00\x00\x00\x00",
			Request{}, "", ErrNoAcceptableMethod, "Client does not support SOCKS5 with no authentication."},
		{"http request", nil, "GET http://example.com/ HTTP/1.1\r\n\r\n", "",
			Request{}, "GET http://example.com/ HTTP/1.1\r\n\r\n", ErrVersion,
			"Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x47"},
		{"bind", nil, "\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", "\x05\x00" + string(Reply(RepCommandNotSupported)),
			Request{}, "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", ErrUnsupportedRequest,
			`Unsupported SOCKS5 request: b'\x05\x02\x00\x01\x7f\x00\x00\x01\x00P'`},
		{"closed during greeting", nil, "\x05\x02\x00", "",
			Request{}, "\x05\x02\x00", io.EOF, `Client closed connection before completing SOCKS5 handshake: b'\x05\x02\x00'`},
		{"closed before request", nil, "\x05\x01\x00", "\x05\x00",
			Request{}, "", io.EOF, "socks5: connection closed during the handshake: EOF"},
		{"closed during request", nil, "\x05\x01\x00\x05\x01\x00\x01\x7f", "\x05\x00",
			Request{}, "\x05\x01\x00\x01\x7f", io.EOF, `Client closed connection before completing SOCKS5 handshake: b'\x05\x01\x00\x01\x7f'`},
	} {
		for _, oneByte := range []bool{false, true} {
			name := tc.name
			if oneByte {
				name += "/byte by byte"
			}
			t.Run(name, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tc.in)
				if oneByte {
					src = &oneByteReader{tc.in}
				}
				r := bufio.NewReaderSize(src, MinBufferSize)
				var w bytes.Buffer
				req, err := Handshake(r, &w, tc.auth)
				msg := tc.msg
				if oneByte && tc.kind == ErrUnsupportedRequest {
					// As mitmproxy's, the message shows what had arrived
					// when the request was judged: its first 5 bytes.
					msg = "Unsupported SOCKS5 request: " + pyrepr.Bytes([]byte(tc.rest[:5]))
				}
				checkErr(t, err, tc.kind, msg)
				if w.String() != tc.written {
					t.Errorf("answered %q, want %q", w.String(), tc.written)
				}
				if req != tc.req {
					t.Errorf("request %+v, want %+v", req, tc.req)
				}
				if rest, _ := io.ReadAll(r); string(rest) != tc.rest {
					t.Errorf("left %q, want %q", rest, tc.rest)
				}
			})
		}
	}
}

func TestHandshakeSmallBuffer(t *testing.T) {
	_, err := Handshake(bufio.NewReaderSize(strings.NewReader(""), 16), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "smaller than") {
		t.Fatalf("error %v", err)
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestReply(t *testing.T) {
	if got, want := Reply(RepSucceeded), []byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("Reply(0) = %x, want %x", got, want)
	}
	if got, want := Reply(RepHostUnreachable), []byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("Reply(4) = %x, want %x", got, want)
	}
}
