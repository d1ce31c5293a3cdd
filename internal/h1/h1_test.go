package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

func reader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func isProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

func TestReadRequestHead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want RequestHead
		rest string
	}{
		{
			name: "simple",
			in:   "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.NewHeaders("Host", "example.com")},
		},
		{
			name: "spelling, order and duplicates kept; OWS trimmed",
			in:   "POST /submit?a=1 HTTP/1.1\r\nhOsT:   example.com  \r\nX-A:1\r\nx-a: \t2\t\r\nEmpty:\r\nX-Sp: a  b\r\n\r\nbody",
			want: RequestHead{"POST", "/submit?a=1", "HTTP/1.1", flow.NewHeaders("hOsT", "example.com", "X-A", "1", "x-a", "2", "Empty", "", "X-Sp", "a  b")},
			rest: "body",
		},
		{
			name: "absolute-form",
			in:   "GET http://example.com:8080/x HTTP/1.1\r\n\r\n",
			want: RequestHead{"GET", "http://example.com:8080/x", "HTTP/1.1", flow.Headers{}},
		},
		{
			name: "authority-form",
			in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			want: RequestHead{"CONNECT", "example.com:443", "HTTP/1.1", flow.NewHeaders("Host", "example.com:443")},
		},
		{
			name: "asterisk-form, HTTP/1.0",
			in:   "OPTIONS * HTTP/1.0\r\n\r\n",
			want: RequestHead{"OPTIONS", "*", "HTTP/1.0", flow.Headers{}},
		},
		{
			name: "bare LF line endings",
			in:   "GET / HTTP/1.1\nHost: a\nX: y\n\nrest",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.NewHeaders("Host", "a", "X", "y")},
			rest: "rest",
		},
		{
			name: "leading empty lines are skipped (RFC 9112 §2.2)",
			in:   "\r\n\r\n\nGET / HTTP/1.1\r\n\r\n",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.Headers{}},
		},
		{
			name: "obs-fold continuation joined with a space",
			in:   "GET / HTTP/1.1\r\nX-Long: a\r\n   b\r\n\tc \r\nY: z\r\n\r\n",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.NewHeaders("X-Long", "a b c", "Y", "z")},
		},
		{
			name: "obs-fold of an empty value",
			in:   "GET / HTTP/1.1\r\nX:\r\n b\r\n \r\n\r\n",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.NewHeaders("X", "b")},
		},
		{
			name: "extension method, odd but legal target",
			in:   "M-SEARCH /%7Efoo;p?q=%20#f HTTP/1.1\r\n\r\n",
			want: RequestHead{"M-SEARCH", "/%7Efoo;p?q=%20#f", "HTTP/1.1", flow.Headers{}},
		},
		{
			name: "header value with non-ASCII bytes kept",
			in:   "GET / HTTP/1.1\r\nX-UTF8: caf\xc3\xa9 \xff\r\n\r\n",
			want: RequestHead{"GET", "/", "HTTP/1.1", flow.NewHeaders("X-UTF8", "caf\xc3\xa9 \xff")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := reader(tt.in)
			got, err := ReadRequestHead(br, DefaultMaxHeaderBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("left %q in the reader, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadRequestHeadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error // nil: a *ProtocolError
	}{
		{"clean EOF", "", io.EOF},
		{"EOF after empty lines", "\r\n\r\n", io.EOF},
		{"EOF in the request line", "GET / HTT", io.ErrUnexpectedEOF},
		{"EOF in the headers", "GET / HTTP/1.1\r\nHost: a\r\n", io.ErrUnexpectedEOF},
		{"EOF in a header line", "GET / HTTP/1.1\r\nHost: a", io.ErrUnexpectedEOF},
		{"only the method", "GET\r\n\r\n", nil},
		{"no version", "GET /\r\n\r\n", nil},
		{"too many parts", "GET / HTTP/1.1 extra\r\n\r\n", nil},
		{"space in the target", "GET /a b HTTP/1.1\r\n\r\n", nil},
		{"empty target", "GET  HTTP/1.1\r\n\r\n", nil},
		{"bad method", "G(T / HTTP/1.1\r\n\r\n", nil},
		{"empty method", " / HTTP/1.1\r\n\r\n", nil},
		{"lower-case version", "GET / http/1.1\r\n\r\n", nil},
		{"bad version", "GET / HTTP/11\r\n\r\n", nil},
		{"version with letters", "GET / HTTP/1.x\r\n\r\n", nil},
		{"too many empty lines first", strings.Repeat("\r\n", 10) + "GET / HTTP/1.1\r\n\r\n", nil},
		{"TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", nil},
		{"space in a name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", nil},
		// RFC 9112 §5.1: no whitespace between name and colon.
		{"space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", nil},
		{"empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", nil},
		{"no colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", nil},
		{"NUL in a name", "GET / HTTP/1.1\r\nX\x00: y\r\n\r\n", nil},
		{"non-ASCII name", "GET / HTTP/1.1\r\nX-\xc3\xa9: y\r\n\r\n", nil},
		{"continuation first", "GET / HTTP/1.1\r\n folded: x\r\n\r\n", nil},
		// RFC 9110 §5.5: CR, LF and NUL in a field value are invalid and
		// dangerous (request smuggling); RFC 9112 §2.2: a bare CR is too.
		{"bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", nil},
		{"NUL in a value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", nil},
		{"bare CR ending a value", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", nil},
		{"bare CR in a folded value", "GET / HTTP/1.1\r\nX: a\r\n b\rc\r\n\r\n", nil},
		{"bare CR in the target", "GET /a\rb HTTP/1.1\r\n\r\n", nil},
		{"NUL in the target", "GET /a\x00 HTTP/1.1\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadRequestHead(reader(tt.in), DefaultMaxHeaderBytes)
			if err == nil {
				t.Fatalf("parsed: %+v", h)
			}
			if tt.want == nil {
				if !isProtocolError(err) {
					t.Errorf("err = %v (%T), want a *ProtocolError", err, err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadHeadTooLarge(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: example.com\r\nX-Pad: " + strings.Repeat("a", 1000) + "\r\n\r\n"
	// Exactly at the limit is fine, one byte less is not.
	if _, err := ReadRequestHead(reader(head), len(head)); err != nil {
		t.Errorf("head of exactly the limit: %v", err)
	}
	if _, err := ReadRequestHead(reader(head), len(head)-1); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("head over the limit: %v", err)
	}
	// A single line longer than the bufio buffer, within the limit.
	long := "GET /" + strings.Repeat("x", 10000) + " HTTP/1.1\r\nX: " + strings.Repeat("y", 20000) + "\r\n\r\n"
	br := bufio.NewReaderSize(strings.NewReader(long), 16)
	h, err := ReadRequestHead(br, DefaultMaxHeaderBytes)
	if err != nil || len(h.Target) != 10001 || len(h.Headers.Get("x")) != 20000 {
		t.Fatalf("long lines: %v", err)
	}
	// A line longer than the limit fails without reading it all.
	endless := io.MultiReader(strings.NewReader("GET /"), neverending('a'))
	if _, err := ReadRequestHead(bufio.NewReaderSize(endless, 4096), 64<<10); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("endless request line: %v", err)
	}
	endless = io.MultiReader(strings.NewReader("GET / HTTP/1.1\r\n"), neverendingHeaders{})
	if _, err := ReadRequestHead(bufio.NewReader(endless), 64<<10); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("endless headers: %v", err)
	}
	resp := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("z", 100) + "\r\n\r\n"
	if _, err := ReadResponseHead(reader(resp), 50); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("response head over the limit: %v", err)
	}
}

type neverending byte

func (n neverending) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(n)
	}
	return len(p), nil
}

type neverendingHeaders struct{}

func (neverendingHeaders) Read(p []byte) (int, error) {
	line := "X-Header: value\r\n"
	n := 0
	for n+len(line) <= len(p) {
		n += copy(p[n:], line)
	}
	if n == 0 {
		p[0] = 'X'
		n = 1
	}
	return n, nil
}

func TestReadHeadShortReads(t *testing.T) {
	in := "GET /x HTTP/1.1\r\nHost: a\r\nX-Fold: 1\r\n 2\r\n\r\n"
	br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16)
	h, err := ReadRequestHead(br, DefaultMaxHeaderBytes)
	if err != nil || h.Headers.Get("x-fold") != "1 2" {
		t.Fatalf("one byte at a time: %+v %v", h, err)
	}
	br = bufio.NewReader(iotest.DataErrReader(strings.NewReader(in)))
	if _, err := ReadRequestHead(br, DefaultMaxHeaderBytes); err != nil {
		t.Fatalf("data with EOF: %v", err)
	}
	// A read error (not EOF) is passed on as it is.
	errRead := errors.New("connection reset")
	br = bufio.NewReader(io.MultiReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a"), iotest.ErrReader(errRead)))
	if _, err := ReadRequestHead(br, DefaultMaxHeaderBytes); !errors.Is(err, errRead) {
		t.Fatalf("read error: %v", err)
	}
}

// segments returns its parts in separate reads, as TCP segments arrive.
type segments []string

func (s *segments) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*s)[0])
	if (*s)[0] = (*s)[0][n:]; (*s)[0] == "" {
		*s = (*s)[1:]
	}
	return n, nil
}

// Regression: the start line was a slice of the bufio buffer and was
// converted to strings only after the headers had been read, so a head
// arriving in several reads came out with a garbled method, target, proto.
func TestReadHeadInSegments(t *testing.T) {
	for size := 16; size <= 128; size += 8 {
		r := &segments{"GET /index.html HTTP/1.1\r\n", "Host: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"}
		h, err := ReadRequestHead(bufio.NewReaderSize(r, size), DefaultMaxHeaderBytes)
		if err != nil {
			t.Fatalf("buffer %d: %v", size, err)
		}
		want := RequestHead{"GET", "/index.html", "HTTP/1.1", flow.NewHeaders("Host", "example.com", "User-Agent", "curl/8.5.0", "Accept", "*/*")}
		if !reflect.DeepEqual(*h, want) {
			t.Fatalf("buffer %d: %+v", size, *h)
		}
		rs := &segments{"HTTP/1.1 200 OK\r\n", "Content-Type: text/html\r\nServer: nginx/1.25.3\r\nVary: Accept-Encoding\r\n\r\n"}
		resp, err := ReadResponseHead(bufio.NewReaderSize(rs, size), DefaultMaxHeaderBytes)
		if err != nil || resp.Proto != "HTTP/1.1" || resp.Status != 200 || resp.Reason != "OK" || len(resp.Headers) != 3 {
			t.Fatalf("buffer %d: %+v %v", size, resp, err)
		}
	}
}

func TestReadResponseHead(t *testing.T) {
	tests := []struct {
		in   string
		want ResponseHead
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ResponseHead{"HTTP/1.1", 200, "OK", flow.NewHeaders("Content-Length", "0")}},
		{"HTTP/1.0 404 Not Found\r\n\r\n", ResponseHead{"HTTP/1.0", 404, "Not Found", flow.Headers{}}},
		{"HTTP/1.1 500 Internal  Server Error \r\n\r\n", ResponseHead{"HTTP/1.1", 500, "Internal  Server Error ", flow.Headers{}}},
		{"HTTP/1.1 204\r\n\r\n", ResponseHead{"HTTP/1.1", 204, "", flow.Headers{}}},
		{"HTTP/1.1 204 \r\n\r\n", ResponseHead{"HTTP/1.1", 204, "", flow.Headers{}}},
		{"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n", ResponseHead{"HTTP/1.1", 101, "Switching Protocols", flow.NewHeaders("Upgrade", "websocket", "Connection", "Upgrade")}},
		{"HTTP/1.1 999 Weird\r\n\r\n", ResponseHead{"HTTP/1.1", 999, "Weird", flow.Headers{}}},
		{"HTTP/1.1 200 caf\xe9\r\nX: a\r\n\tb\r\n\r\n", ResponseHead{"HTTP/1.1", 200, "caf\xe9", flow.NewHeaders("X", "a b")}},
	}
	for _, tt := range tests {
		got, err := ReadResponseHead(reader(tt.in), DefaultMaxHeaderBytes)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, *got, tt.want)
		}
	}
	for _, bad := range []string{
		"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
		"HTTP/1.1 -10 X\r\n\r\n", "HTTP/1.1 +10 X\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1\r\n\r\n", "http/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
		"HTTP/1.1 200 O\rK\r\n\r\n", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n",
	} {
		if h, err := ReadResponseHead(reader(bad), DefaultMaxHeaderBytes); !isProtocolError(err) {
			t.Errorf("%q: %+v, %v; want a *ProtocolError", bad, h, err)
		}
	}
	if _, err := ReadResponseHead(reader(""), DefaultMaxHeaderBytes); err != io.EOF {
		t.Errorf("empty: %v, want io.EOF", err)
	}
	if _, err := ReadResponseHead(reader("HTTP/1.1 200 OK\r\nX: y"), DefaultMaxHeaderBytes); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", err)
	}
}

func TestRequestFraming(t *testing.T) {
	tests := []struct {
		name    string
		headers flow.Headers
		want    Framing
		wantErr bool
	}{
		{"nothing: no body", nil, Framing{Kind: NoBody}, false},
		{"Content-Length 0", flow.NewHeaders("Content-Length", "0"), Framing{Kind: NoBody}, false},
		{"Content-Length", flow.NewHeaders("content-length", "42"), Framing{Kind: Length, Length: 42}, false},
		{"Content-Length with OWS", flow.NewHeaders("Content-Length", " 7 "), Framing{Kind: Length, Length: 7}, false},
		{"large Content-Length", flow.NewHeaders("Content-Length", "9223372036854775807"), Framing{Kind: Length, Length: 1<<63 - 1}, false},
		{"Content-Length one past int64", flow.NewHeaders("Content-Length", "9223372036854775808"), Framing{}, true},
		{"Content-Length far past int64", flow.NewHeaders("Content-Length", "99999999999999999999"), Framing{}, true},
		// RFC 9110 §8.6: identical repeated fields may be accepted; a list
		// in one field is refused, as mitmproxy does (other parsers read
		// "5, 5" as 5, 55 or an error).
		{"repeated equal fields", flow.NewHeaders("Content-Length", "5", "content-length", "5"), Framing{Kind: Length, Length: 5}, false},
		{"repeated equal list", flow.NewHeaders("Content-Length", "5, 5"), Framing{}, true},
		{"list without space", flow.NewHeaders("Content-Length", "5,5"), Framing{}, true},
		{"leading zero", flow.NewHeaders("Content-Length", "05"), Framing{}, true},
		{"octal-looking", flow.NewHeaders("Content-Length", "010"), Framing{}, true},
		{"space inside", flow.NewHeaders("Content-Length", "1 0"), Framing{}, true},
		{"vertical tab", flow.NewHeaders("Content-Length", "\v5"), Framing{}, true},
		{"non-ASCII digit", flow.NewHeaders("Content-Length", "\u0665"), Framing{}, true},
		{"one of the fields invalid", flow.NewHeaders("Content-Length", "5", "Content-Length", "+5"), Framing{}, true},
		{"conflicting fields", flow.NewHeaders("Content-Length", "5", "Content-Length", "6"), Framing{}, true},
		{"conflicting list", flow.NewHeaders("Content-Length", "5,6"), Framing{}, true},
		{"negative", flow.NewHeaders("Content-Length", "-1"), Framing{}, true},
		{"minus zero", flow.NewHeaders("Content-Length", "-0"), Framing{}, true},
		{"plus sign", flow.NewHeaders("Content-Length", "+5"), Framing{}, true},
		{"hex", flow.NewHeaders("Content-Length", "0x10"), Framing{}, true},
		{"letters", flow.NewHeaders("Content-Length", "abc"), Framing{}, true},
		{"empty", flow.NewHeaders("Content-Length", ""), Framing{}, true},
		{"empty list item", flow.NewHeaders("Content-Length", "5,,5"), Framing{}, true},
		{"overflow", flow.NewHeaders("Content-Length", "99999999999999999999"), Framing{}, true},
		{"underscore", flow.NewHeaders("Content-Length", "1_0"), Framing{}, true},
		{"chunked", flow.NewHeaders("Transfer-Encoding", "chunked"), Framing{Kind: Chunked}, false},
		{"Chunked upper-case", flow.NewHeaders("transfer-encoding", "Chunked"), Framing{Kind: Chunked}, false},
		{"chunked last of several codings", flow.NewHeaders("Transfer-Encoding", "gzip, chunked"), Framing{Kind: Chunked}, false},
		{"chunked last over several fields", flow.NewHeaders("Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked"), Framing{Kind: Chunked}, false},
		{"OWS around the comma", flow.NewHeaders("Transfer-Encoding", "deflate \t,\t chunked"), Framing{Kind: Chunked}, false},
		{"CHUNKED", flow.NewHeaders("Transfer-Encoding", "CHUNKED"), Framing{Kind: Chunked}, false},
		{"name in odd case", flow.NewHeaders("tRANSFER-eNCODING", "chunked"), Framing{Kind: Chunked}, false},
		// Only the codings mitmproxy knows, in the orders it knows: the
		// rest is read differently by different parsers (RFC 9112 §6.1).
		{"xchunked", flow.NewHeaders("Transfer-Encoding", "xchunked"), Framing{}, true},
		{"chunked with a trailing comma", flow.NewHeaders("Transfer-Encoding", "chunked ,"), Framing{}, true},
		{"chunked twice", flow.NewHeaders("Transfer-Encoding", "chunked, chunked"), Framing{}, true},
		{"chunked in two fields", flow.NewHeaders("Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"), Framing{}, true},
		{"identity, chunked", flow.NewHeaders("Transfer-Encoding", "identity, chunked"), Framing{}, true},
		{"identity then chunked fields", flow.NewHeaders("Transfer-Encoding", "identity", "Transfer-Encoding", "chunked"), Framing{}, true},
		{"unknown coding before chunked", flow.NewHeaders("Transfer-Encoding", "br, chunked"), Framing{}, true},
		{"space inside the coding", flow.NewHeaders("Transfer-Encoding", "chun ked"), Framing{}, true},
		{"quoted", flow.NewHeaders("Transfer-Encoding", `"chunked"`), Framing{}, true},
		{"vertical tab", flow.NewHeaders("Transfer-Encoding", "chunked\v"), Framing{}, true},
		{"Kelvin sign folds to k in Unicode only", flow.NewHeaders("Transfer-Encoding", "chun\u212aed"), Framing{}, true},
		{"long s in the name is not Transfer-Encoding", flow.NewHeaders("Tran\u017ffer-Encoding", "chunked", "Content-Length", "3"), Framing{Kind: Length, Length: 3}, false},
		// RFC 9112 §6.3 (3): Transfer-Encoding overrides Content-Length.
		{"TE and CL: chunked wins", flow.NewHeaders("Content-Length", "10", "Transfer-Encoding", "chunked"), Framing{Kind: Chunked}, false},
		{"TE and invalid CL", flow.NewHeaders("Content-Length", "x", "Transfer-Encoding", "chunked"), Framing{Kind: Chunked}, false},
		// RFC 9112 §6.3 (4): a request whose final coding is not chunked
		// cannot be delimited: 400.
		{"chunked not last", flow.NewHeaders("Transfer-Encoding", "chunked, gzip"), Framing{}, true},
		{"only gzip", flow.NewHeaders("Transfer-Encoding", "gzip"), Framing{}, true},
		{"identity", flow.NewHeaders("Transfer-Encoding", "identity", "Content-Length", "5"), Framing{}, true},
		{"empty TE", flow.NewHeaders("Transfer-Encoding", ""), Framing{}, true},
	}
	for _, tt := range tests {
		got, err := RequestFraming(tt.headers)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil && !isProtocolError(err) {
			t.Errorf("%s: err %T, want *ProtocolError", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestResponseFraming(t *testing.T) {
	cl10 := flow.NewHeaders("Content-Length", "10")
	te := flow.NewHeaders("Transfer-Encoding", "chunked")
	tests := []struct {
		name    string
		method  string
		status  int
		headers flow.Headers
		want    Framing
		wantErr bool
	}{
		// RFC 9112 §6.3 (1): HEAD, 1xx, 204 and 304 never have a body.
		{"HEAD with Content-Length", "HEAD", 200, cl10, Framing{Kind: NoBody}, false},
		{"HEAD with chunked", "HEAD", 200, te, Framing{Kind: NoBody}, false},
		{"100", "GET", 100, nil, Framing{Kind: NoBody}, false},
		{"101", "GET", 101, cl10, Framing{Kind: NoBody}, false},
		{"103", "GET", 103, te, Framing{Kind: NoBody}, false},
		{"204 with Content-Length", "GET", 204, cl10, Framing{Kind: NoBody}, false},
		{"304 with Content-Length", "GET", 304, cl10, Framing{Kind: NoBody}, false},
		{"304 with conflicting Content-Length", "GET", 304, flow.NewHeaders("Content-Length", "1", "Content-Length", "2"), Framing{Kind: NoBody}, false},
		// (2): a 2xx answer to CONNECT switches to a tunnel.
		{"CONNECT 200", "CONNECT", 200, cl10, Framing{Kind: NoBody}, false},
		{"CONNECT 299", "CONNECT", 299, nil, Framing{Kind: NoBody}, false},
		{"CONNECT 407 has a body", "CONNECT", 407, cl10, Framing{Kind: Length, Length: 10}, false},
		// (3)/(4): Transfer-Encoding.
		{"chunked", "GET", 200, te, Framing{Kind: Chunked}, false},
		{"chunked wins over CL", "GET", 200, flow.NewHeaders("Content-Length", "10", "Transfer-Encoding", "gzip, chunked"), Framing{Kind: Chunked}, false},
		{"gzip only: until close", "POST", 200, flow.NewHeaders("Transfer-Encoding", "gzip", "Content-Length", "10"), Framing{Kind: UntilClose}, false},
		{"identity: until close", "GET", 200, flow.NewHeaders("Transfer-Encoding", "identity"), Framing{Kind: UntilClose}, false},
		// Codings mitmproxy does not know: 502, not read until close.
		{"chunked, gzip", "GET", 200, flow.NewHeaders("Transfer-Encoding", "chunked, gzip"), Framing{}, true},
		{"chunked, identity", "GET", 200, flow.NewHeaders("Transfer-Encoding", "chunked, identity"), Framing{}, true},
		{"chunked and identity fields", "GET", 200, flow.NewHeaders("Transfer-Encoding", "chunked", "Transfer-Encoding", "identity"), Framing{}, true},
		{"xchunked", "GET", 200, flow.NewHeaders("Transfer-Encoding", "xchunked"), Framing{}, true},
		{"empty Transfer-Encoding", "GET", 200, flow.NewHeaders("Transfer-Encoding", ""), Framing{}, true},
		{"bad Transfer-Encoding on a 304 is no body", "GET", 304, flow.NewHeaders("Transfer-Encoding", "xchunked"), Framing{Kind: NoBody}, false},
		// (5)/(6): Content-Length.
		{"Content-Length", "GET", 200, cl10, Framing{Kind: Length, Length: 10}, false},
		{"Content-Length 0", "GET", 404, flow.NewHeaders("Content-Length", "0"), Framing{Kind: NoBody}, false},
		{"conflicting Content-Length", "GET", 200, flow.NewHeaders("Content-Length", "10", "Content-Length", "11"), Framing{}, true},
		{"invalid Content-Length", "GET", 200, flow.NewHeaders("Content-Length", "ten"), Framing{}, true},
		{"Content-Length list", "GET", 200, flow.NewHeaders("Content-Length", "10, 10"), Framing{}, true},
		{"negative Content-Length", "GET", 200, flow.NewHeaders("Content-Length", "-1"), Framing{}, true},
		// (8): otherwise until the connection closes.
		{"no framing", "GET", 200, nil, Framing{Kind: UntilClose}, false},
		{"no framing on 500", "POST", 500, flow.NewHeaders("Content-Type", "text/plain"), Framing{Kind: UntilClose}, false},
	}
	for _, tt := range tests {
		got, err := ResponseFraming(tt.method, tt.status, tt.headers)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil && !isProtocolError(err) {
			t.Errorf("%s: err %T, want *ProtocolError", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		framing      Framing
		limit        int64
		want         string
		wantTrailers flow.Headers
		wantErr      error // nil: success; errAny: any error
		rest         string
	}{
		{"no body", "NEXT", Framing{Kind: NoBody}, -1, "", nil, nil, "NEXT"},
		{"length", "helloNEXT", Framing{Kind: Length, Length: 5}, -1, "hello", nil, nil, "NEXT"},
		{"length at the limit", "hello", Framing{Kind: Length, Length: 5}, 5, "hello", nil, nil, ""},
		{"length over the limit", "hello", Framing{Kind: Length, Length: 5}, 4, "", nil, ErrBodyTooLarge, "hello"},
		{"length truncated", "hel", Framing{Kind: Length, Length: 5}, -1, "", nil, io.ErrUnexpectedEOF, ""},
		{"length, empty input", "", Framing{Kind: Length, Length: 5}, -1, "", nil, io.ErrUnexpectedEOF, ""},
		{"chunked", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", Framing{Kind: Chunked}, -1, "hello world", nil, nil, "NEXT"},
		{"chunked empty", "0\r\n\r\n", Framing{Kind: Chunked}, -1, "", nil, nil, ""},
		{"chunked trailers", "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nx-other: 2\r\n\r\n", Framing{Kind: Chunked}, -1, "abc", flow.NewHeaders("X-Checksum", "1", "x-other", "2"), nil, ""},
		{"chunked at the limit", "5\r\nhello\r\n0\r\n\r\n", Framing{Kind: Chunked}, 5, "hello", nil, nil, ""},
		{"chunked over the limit", "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", Framing{Kind: Chunked}, 5, "", nil, ErrBodyTooLarge, ""},
		{"chunked truncated", "5\r\nhel", Framing{Kind: Chunked}, -1, "", nil, io.ErrUnexpectedEOF, ""},
		{"chunked malformed", "z\r\n", Framing{Kind: Chunked}, -1, "", nil, errAny, ""},
		{"until close", "all of it\r\n\r\n", Framing{Kind: UntilClose}, -1, "all of it\r\n\r\n", nil, nil, ""},
		{"until close, empty", "", Framing{Kind: UntilClose}, -1, "", nil, nil, ""},
		{"until close at the limit", "12345", Framing{Kind: UntilClose}, 5, "12345", nil, nil, ""},
		{"until close over the limit", "123456", Framing{Kind: UntilClose}, 5, "", nil, ErrBodyTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := reader(tt.in)
			body, trailers, err := ReadBody(br, tt.framing, tt.limit)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if body == nil || string(body) != tt.want {
				t.Errorf("body = %#v, want %q (non-nil)", body, tt.want)
			}
			if !reflect.DeepEqual(trailers, tt.wantTrailers) {
				t.Errorf("trailers = %q, want %q", trailers, tt.wantTrailers)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("left %q, want %q", rest, tt.rest)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestBodyReader(t *testing.T) {
	read := func(in string, f Framing) (string, io.Reader, *bufio.Reader) {
		br := reader(in)
		r := BodyReader(br, f)
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		return string(b), r, br
	}
	if got, _, br := read("NEXT", Framing{Kind: NoBody}); got != "" {
		t.Errorf("NoBody read %q", got)
	} else if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
		t.Errorf("NoBody consumed the input: %q left", rest)
	}
	if got, _, _ := read("helloNEXT", Framing{Kind: Length, Length: 5}); got != "hello" {
		t.Errorf("Length read %q", got)
	}
	got, r, _ := read("2\r\nhi\r\n0\r\nT: 1\r\n\r\n", Framing{Kind: Chunked})
	cr, ok := r.(*ChunkedReader)
	if got != "hi" || !ok || !cr.Done() || cr.Trailers.Get("t") != "1" {
		t.Errorf("Chunked read %q, reader %T", got, r)
	}
	if got, _, _ := read("rest of it", Framing{Kind: UntilClose}); got != "rest of it" {
		t.Errorf("UntilClose read %q", got)
	}
}

// TestBodyReaderLengthCutShort: a Content-Length body that ends early is
// an error, whatever the sizes of the reads; a complete one ends with
// io.EOF and leaves what follows it unread.
func TestBodyReaderLengthCutShort(t *testing.T) {
	for _, tt := range []struct {
		in      string
		length  int64
		readLen int
		want    string
		err     error
	}{
		{"hello", 5, 1, "hello", nil},
		{"helloNEXT", 5, 64, "hello", nil},
		{"hel", 5, 64, "hel", io.ErrUnexpectedEOF},
		{"hel", 5, 1, "hel", io.ErrUnexpectedEOF},
		{"", 5, 64, "", io.ErrUnexpectedEOF},
		{"", 0, 64, "", nil},
	} {
		br := reader(tt.in)
		r := BodyReader(br, Framing{Kind: Length, Length: tt.length})
		var got []byte
		buf := make([]byte, tt.readLen)
		var err error
		for {
			var n int
			n, err = r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = nil
		}
		if string(got) != tt.want || err != tt.err {
			t.Errorf("%q, Content-Length %d, reads of %d: got %q, %v; want %q, %v", tt.in, tt.length, tt.readLen, got, err, tt.want, tt.err)
		}
		if tt.err == nil && strings.HasPrefix(tt.in, tt.want) {
			if rest, _ := io.ReadAll(br); string(rest) != tt.in[len(tt.want):] {
				t.Errorf("%q: %q left after the body, want %q", tt.in, rest, tt.in[len(tt.want):])
			}
		}
	}
}

func TestChunkedReader(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		want         string
		wantTrailers flow.Headers
		rest         string
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", nil, ""},
		{"several chunks", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", "abcdef", nil, ""},
		{"upper and lower hex", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789", nil, ""},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", nil, ""},
		{"many leading zeros", "000000000000000000005\r\nhello\r\n0\r\n\r\n", "hello", nil, ""},
		{"extensions", "5;name=value;flag\r\nhello\r\n0;last\r\n\r\n", "hello", nil, ""},
		{"extension with quoted string", "5;a=\"x;y\"\r\nhello\r\n0\r\n\r\n", "hello", nil, ""},
		{"whitespace before extension", "5 ;ext\r\nhello\r\n0 \r\n\r\n", "hello", nil, ""},
		{"bare LF", "5\nhello\n0\n\n", "hello", nil, ""},
		{"trailers", "3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", "abc", flow.NewHeaders("Expires", "never", "X-Sum", "1"), ""},
		{"data after the last chunk stays", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1", "x", nil, "GET / HTTP/1.1"},
		{"binary data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := reader(tt.in)
			cr := NewChunkedReader(br)
			got, err := io.ReadAll(cr)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			if !cr.Done() {
				t.Error("not Done after EOF")
			}
			if !reflect.DeepEqual(cr.Trailers, tt.wantTrailers) {
				t.Errorf("trailers %q, want %q", cr.Trailers, tt.wantTrailers)
			}
			if n, err := cr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("Read after EOF = %d, %v", n, err)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("left %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestChunkedReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error // nil: a *ProtocolError
	}{
		{"empty size", "\r\nhello\r\n0\r\n\r\n", nil},
		{"not hex", "g\r\n", nil},
		{"negative", "-5\r\nhello\r\n0\r\n\r\n", nil},
		{"plus sign", "+5\r\nhello\r\n0\r\n\r\n", nil},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", nil},
		{"underscore", "1_0\r\n", nil},
		{"space inside", "1 0\r\n", nil},
		{"overflow", "ffffffffffffffffff\r\n", nil},
		{"only an extension", ";ext\r\n", nil},
		{"no CRLF after data", "5\r\nhelloXX\r\n0\r\n\r\n", nil},
		{"chunk longer than its size", "3\r\nhello\r\n0\r\n\r\n", nil},
		{"bad trailer", "0\r\nBad Trailer\r\n\r\n", nil},
		{"size line too long", strings.Repeat("0", 5000) + "1\r\nx\r\n0\r\n\r\n", nil},
		{"long extension", "1;" + strings.Repeat("x", 5000) + "\r\nx\r\n0\r\n\r\n", nil},
		{"data far longer than its size", "1\r\n" + strings.Repeat("x", 5000) + "\r\n0\r\n\r\n", nil},
		{"bare CR in the size line", "5\r;x\r\nhello\r\n0\r\n\r\n", nil},
		{"bare CR ending the size line", "5\r\r\nhello\r\n0\r\n\r\n", nil},
		{"NUL in an extension", "5;\x00\r\nhello\r\n0\r\n\r\n", nil},
		{"size in hex with a prefix and a sign", "-0x5\r\nhello\r\n0\r\n\r\n", nil},
		{"trailer with a bare CR", "0\r\nX: a\rb\r\n\r\n", nil},
		{"trailer continuation first", "0\r\n folded\r\n\r\n", nil},
		{"trailer section too large", "0\r\nX: " + strings.Repeat("a", DefaultMaxHeaderBytes) + "\r\n\r\n", nil},
		{"truncated in the size", "5", io.ErrUnexpectedEOF},
		{"truncated in the data", "5\r\nhel", io.ErrUnexpectedEOF},
		{"truncated after the data", "5\r\nhello", io.ErrUnexpectedEOF},
		{"truncated before the last chunk", "5\r\nhello\r\n", io.ErrUnexpectedEOF},
		{"no input", "", io.ErrUnexpectedEOF},
		{"truncated in the trailers", "0\r\nX: 1\r\n", io.ErrUnexpectedEOF},
		{"no final CRLF", "0\r\n", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := NewChunkedReader(reader(tt.in))
			_, err := io.ReadAll(cr)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want == nil {
				if !isProtocolError(err) {
					t.Errorf("err = %v (%T), want *ProtocolError", err, err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			// The error sticks.
			if _, err2 := cr.Read(make([]byte, 1)); err2 != err {
				t.Errorf("second Read = %v, want %v", err2, err)
			}
			if cr.Done() {
				t.Error("Done after an error")
			}
		})
	}
}

// TestChunkedReaderErrorMessages: the reasons of issue 18's malformed
// bodies, as the proxy's 400 or 502 page and log show them.
func TestChunkedReaderErrorMessages(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ffffffffffffffffff\r\n", `chunk size "ffffffffffffffffff" too large`},
		{"0x5\r\nhello\r\n0\r\n\r\n", `invalid chunk size "0x5"`},
		{"3\r\nhello\r\n0\r\n\r\n", "chunk data longer than its size (3 bytes): no CRLF after it"},
		{"5\r\nhelloXX\r\n0\r\n\r\n", "chunk data longer than its size (5 bytes): no CRLF after it"},
		{"5\r\nhello0\r\n\r\n", "chunk data longer than its size (5 bytes): no CRLF after it"},
		{"0\r\nBad Trailer\r\n\r\n", `invalid trailer section: invalid header line "Bad Trailer"`},
		{"0\r\nBad Name: x\r\n\r\n", `invalid trailer section: invalid header name "Bad Name"`},
	} {
		_, _, err := ReadBody(reader(tt.in), Framing{Kind: Chunked}, -1)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Msg != tt.want {
			t.Errorf("%q: %v, want a *ProtocolError %q", tt.in, err, tt.want)
		}
	}
}

func TestChunkedReaderSmallReads(t *testing.T) {
	in := "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n"
	cr := NewChunkedReader(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16))
	got, err := io.ReadAll(iotest.OneByteReader(cr))
	if err != nil || string(got) != "0123456789abc" {
		t.Errorf("one byte at a time: %q, %v", got, err)
	}
	if err := iotest.TestReader(NewChunkedReader(reader(in)), []byte("0123456789abc")); err != nil {
		t.Error(err)
	}
}

func write(fn func(w *bufio.Writer)) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	fn(w)
	w.Flush()
	return b.String()
}

func TestWriters(t *testing.T) {
	h := flow.NewHeaders("Host", "example.com", "x-lower", "v", "X-Empty", "", "X-Dup", "1", "x-dup", "2")
	tests := []struct {
		name string
		fn   func(w *bufio.Writer)
		want string
	}{
		{"request head", func(w *bufio.Writer) { WriteRequestHead(w, "GET", "/a?b", "HTTP/1.1", h) },
			"GET /a?b HTTP/1.1\r\nHost: example.com\r\nx-lower: v\r\nX-Empty: \r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"},
		{"request head without headers", func(w *bufio.Writer) { WriteRequestHead(w, "CONNECT", "example.com:443", "HTTP/1.1", nil) },
			"CONNECT example.com:443 HTTP/1.1\r\n\r\n"},
		{"response head", func(w *bufio.Writer) {
			WriteResponseHead(w, "HTTP/1.1", 200, "OK", flow.NewHeaders("Content-Length", "0"))
		}, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		// status-line = HTTP-version SP status-code SP [ reason-phrase ]
		{"response head without reason", func(w *bufio.Writer) { WriteResponseHead(w, "HTTP/1.0", 204, "", nil) },
			"HTTP/1.0 204 \r\n\r\n"},
		{"headers", func(w *bufio.Writer) { WriteHeaders(w, flow.NewHeaders("A", "1")) }, "A: 1\r\n\r\n"},
		{"no headers", func(w *bufio.Writer) { WriteHeaders(w, nil) }, "\r\n"},
		{"plain body", func(w *bufio.Writer) { WriteBody(w, false, []byte("raw\r\n0\r\n"), nil) }, "raw\r\n0\r\n"},
		{"chunked body", func(w *bufio.Writer) { WriteBody(w, true, []byte("hello"), nil) }, "5\r\nhello\r\n0\r\n\r\n"},
		{"chunked empty body", func(w *bufio.Writer) { WriteBody(w, true, nil, nil) }, "0\r\n\r\n"},
		{"chunked body with trailers", func(w *bufio.Writer) {
			WriteBody(w, true, []byte(strings.Repeat("x", 26)), flow.NewHeaders("X-T", "1"))
		}, "1a\r\n" + strings.Repeat("x", 26) + "\r\n0\r\nX-T: 1\r\n\r\n"},
		{"chunk", func(w *bufio.Writer) { WriteChunk(w, make([]byte, 4096)) }, "1000\r\n" + string(make([]byte, 4096)) + "\r\n"},
		{"last chunk", func(w *bufio.Writer) { WriteLastChunk(w, flow.NewHeaders("A", "b")) }, "0\r\nA: b\r\n\r\n"},
	}
	for _, tt := range tests {
		if got := write(tt.fn); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// What the writers produce, the readers read back unchanged.
func TestWriteReadRoundTrip(t *testing.T) {
	h := flow.NewHeaders("Host", "example.com", "X-Dup", "1", "x-dup", "2", "Empty", "")
	wire := write(func(w *bufio.Writer) {
		WriteRequestHead(w, "POST", "http://example.com/x", "HTTP/1.1", h)
		WriteBody(w, true, []byte("payload"), flow.NewHeaders("X-Trailer", "t"))
		WriteResponseHead(w, "HTTP/1.1", 201, "Created", h)
	})
	br := reader(wire)
	rq, err := ReadRequestHead(br, DefaultMaxHeaderBytes)
	if err != nil || rq.Method != "POST" || rq.Target != "http://example.com/x" || !reflect.DeepEqual(rq.Headers, h) {
		t.Fatalf("request head %+v, %v", rq, err)
	}
	body, trailers, err := ReadBody(br, Framing{Kind: Chunked}, -1)
	if err != nil || string(body) != "payload" || trailers.Get("x-trailer") != "t" {
		t.Fatalf("body %q trailers %q: %v", body, trailers, err)
	}
	rs, err := ReadResponseHead(br, DefaultMaxHeaderBytes)
	if err != nil || rs.Status != 201 || rs.Reason != "Created" || !reflect.DeepEqual(rs.Headers, h) {
		t.Fatalf("response head %+v, %v", rs, err)
	}
}

func TestProtocolErrorMessage(t *testing.T) {
	_, err := ReadRequestHead(reader("GET / HTTP/1.1\r\n"+strings.Repeat("x", 200)+"\r\n\r\n"), DefaultMaxHeaderBytes)
	if err == nil || len(err.Error()) > 120 || !strings.Contains(err.Error(), "...") {
		t.Errorf("long bad line not truncated in the message: %v", err)
	}
}

// TestReadResponseHeadNotHTTP: bytes that cannot begin a status line are
// refused as soon as they arrive, even when no head end follows and the
// server keeps the connection open.
func TestReadResponseHeadNotHTTP(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("\x16\x03\x01garbage without an end"))
	done := make(chan error, 1)
	go func() {
		_, err := ReadResponseHead(bufio.NewReader(pr), DefaultMaxHeaderBytes)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "invalid status line") {
			t.Errorf("err = %v, want an invalid status line", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadResponseHead waited for the end of a head that is not HTTP")
	}
	// Short answers still wait for more, and a real one still parses.
	if _, err := ReadResponseHead(reader("HTT"), DefaultMaxHeaderBytes); err == nil || strings.Contains(err.Error(), "invalid status line") {
		t.Errorf("3 bytes then EOF: %v, want an unexpected EOF", err)
	}
	if _, err := ReadResponseHead(reader("HTTP/1.1 204 No Content\r\n\r\n"), DefaultMaxHeaderBytes); err != nil {
		t.Error(err)
	}
}

func TestHeadBuffered(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"GET / HTTP/1.1\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET / HTTP/1.1\r\n\r\nbody", true},
		{"GET / HTTP/1.1\nHost: a\n\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n", true},
		// Empty lines before the request line are not its end.
		{"\r\n\r\nGET / HTTP/1.1\r\n", false},
		{"\n\nGET / HTTP/1.1\r\n\r\n", true},
		// Only empty lines: no head at all, whatever they end with.
		{"\r\n\r\n", false},
		{"\n\n\n", false},
		{"GET / HTTP/1.1\r\n\n", true},
		{"GET / HTTP/1.1\r\nX: \r\r\n", false},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.in))
		_, _ = br.Peek(len(tt.in)) // fill the buffer as a read would
		if got := HeadBuffered(br); got != tt.want {
			t.Errorf("HeadBuffered(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
