package h2

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func f(name, value string) Field { return Field{Name: name, Value: value} }

var reqPseudo = []Field{f(":method", "GET"), f(":scheme", "https"), f(":authority", "a"), f(":path", "/")}

func req(extra ...Field) []Field { return append(append([]Field(nil), reqPseudo...), extra...) }

func TestValidateFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []Field
		kind   blockKind
		err    string // "" for valid
	}{
		{"request", req(f("accept", "*/*"), f("x", "")), kindRequest, ""},
		{"request without authority", []Field{f(":method", "GET"), f(":scheme", "http"), f(":path", "/")}, kindRequest, ""},
		{"CONNECT", []Field{f(":method", "CONNECT"), f(":authority", "a:443")}, kindRequest, ""},
		{"CONNECT with path", []Field{f(":method", "CONNECT"), f(":authority", "a:443"), f(":path", "/")}, kindRequest, "CONNECT request with :scheme or :path"},
		{"CONNECT without authority", []Field{f(":method", "CONNECT")}, kindRequest, "Header block missing mandatory :authority header"},
		{"extended CONNECT", []Field{f(":method", "CONNECT"), f(":protocol", "websocket"), f(":scheme", "https"), f(":path", "/"), f(":authority", "a")}, kindRequest, "Received :protocol pseudo-header without SETTINGS_ENABLE_CONNECT_PROTOCOL"},
		{"no method", []Field{f(":scheme", "http"), f(":path", "/")}, kindRequest, "Header block missing mandatory :method header"},
		{"no scheme", []Field{f(":method", "GET"), f(":path", "/")}, kindRequest, "Header block missing mandatory :scheme header"},
		{"empty path", []Field{f(":method", "GET"), f(":scheme", "http"), f(":path", "")}, kindRequest, "An empty :path header is forbidden"},
		{"duplicate pseudo", req(f(":path", "/x")), kindRequest, "Received duplicate pseudo-header field :path"},
		{"duplicate pseudo in sequence", []Field{f(":method", "GET"), f(":method", "GET")}, kindRequest, "Received duplicate pseudo-header field :method"},
		{"custom pseudo", req(f(":foo", "1")), kindRequest, "Received custom pseudo-header field :foo"},
		{"pseudo after regular", []Field{f(":method", "GET"), f("a", "1"), f(":path", "/")}, kindRequest, "Received pseudo-header field out of sequence: :path"},
		{"status in request", []Field{f(":status", "200")}, kindRequest, "Received response-only pseudo-header :status in request"},
		{"uppercase", req(f("Accept", "*/*")), kindRequest, "Received uppercase header name Accept."},
		{"empty name", req(f("", "v")), kindRequest, "Received header name with zero length."},
		{"space in name", req(f("a b", "v")), kindRequest, `Received invalid header name "a b".`},
		{"colon in name", req(f("a:b", "v")), kindRequest, `Received invalid header name "a:b".`},
		{"high byte in name", req(f("caf\xc3\xa9", "v")), kindRequest, `Received invalid header name "café".`},
		{"connection", req(f("connection", "keep-alive")), kindRequest, "Connection-specific header field present: connection."},
		{"keep-alive", req(f("keep-alive", "5")), kindRequest, "Connection-specific header field present: keep-alive."},
		{"proxy-connection", req(f("proxy-connection", "x")), kindRequest, "Connection-specific header field present: proxy-connection."},
		{"upgrade", req(f("upgrade", "h2c")), kindRequest, "Connection-specific header field present: upgrade."},
		{"te trailers", req(f("te", "trailers")), kindRequest, ""},
		{"te Trailers", req(f("te", "Trailers")), kindRequest, ""},
		{"te gzip", req(f("te", "gzip")), kindRequest, "Invalid value for TE header: gzip"},
		{"leading space", req(f("x", " v")), kindRequest, `Received header value surrounded by whitespace " v"`},
		{"trailing tab", req(f("x", "v\t")), kindRequest, `Received header value surrounded by whitespace "v\t"`},
		{"inner space", req(f("x", "a b")), kindRequest, ""},
		{"CR", req(f("x", "a\rb")), kindRequest, "Received header value with invalid characters in x"},
		{"LF", req(f("x", "a\nb")), kindRequest, "Received header value with invalid characters in x"},
		{"NUL", req(f("x", "a\x00b")), kindRequest, "Received header value with invalid characters in x"},
		{"obs-text value", req(f("x", "caf\xc3\xa9")), kindRequest, ""},

		{"response", []Field{f(":status", "204"), f("x", "1")}, kindResponse, ""},
		{"response no status", []Field{f("x", "1")}, kindResponse, "Header block missing mandatory :status header"},
		{"response bad status", []Field{f(":status", "2000")}, kindResponse, `Invalid :status "2000"`},
		{"response status letters", []Field{f(":status", "2a0")}, kindResponse, `Invalid :status "2a0"`},
		{"response request pseudo", []Field{f(":status", "200"), f(":method", "GET")}, kindResponse, "Received request-only pseudo-header :method in response"},

		{"trailers", []Field{f("x-sum", "1")}, kindTrailers, ""},
		{"empty trailers", nil, kindTrailers, ""},
		{"pseudo in trailers", []Field{f(":status", "200")}, kindTrailers, "Received pseudo-header in trailer :status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateFields(tc.fields, tc.kind)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err {
				t.Errorf("got %q, want %q", got, tc.err)
			}
		})
	}
}

func TestContentLength(t *testing.T) {
	for _, tc := range []struct {
		fields []Field
		want   int64
		bad    bool
	}{
		{nil, -1, false},
		{[]Field{f("content-length", "0")}, 0, false},
		{[]Field{f("content-length", "42"), f("content-length", "42")}, 42, false},
		{[]Field{f("content-length", "42"), f("content-length", "43")}, 0, true},
		{[]Field{f("content-length", "")}, 0, true},
		{[]Field{f("content-length", "-1")}, 0, true},
		{[]Field{f("content-length", "1 2")}, 0, true},
		{[]Field{f("content-length", "99999999999999999999")}, 0, true},
	} {
		got, err := contentLength(tc.fields)
		if (err != nil) != tc.bad || !tc.bad && got != tc.want {
			t.Errorf("%v: %d %v", tc.fields, got, err)
		}
	}
}

func TestStripConnectionHeaders(t *testing.T) {
	for _, tc := range []struct {
		in, want []Field
	}{
		{nil, nil},
		{[]Field{f("a", "1"), f("b", "2")}, []Field{f("a", "1"), f("b", "2")}},
		{
			[]Field{f("Host", "a"), f("Connection", "keep-alive, X-Hop"), f("Keep-Alive", "5"), f("x-hop", "1"), f("Transfer-Encoding", "chunked"), f("Upgrade", "h2c"), f("Proxy-Connection", "x"), f("x-keep", "1")},
			[]Field{f("Host", "a"), f("x-keep", "1")},
		},
		{[]Field{f("te", "trailers"), f("TE", "gzip")}, []Field{f("te", "trailers")}},
		{[]Field{f("te", " Trailers ")}, []Field{f("te", " Trailers ")}},
	} {
		in := append([]Field(nil), tc.in...)
		got := StripConnectionHeaders(tc.in)
		if !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%v:\ngot  %v\nwant %v", tc.in, got, tc.want)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("input modified: %v", tc.in)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&StreamError{StreamID: 1, Code: http2.ErrCodeCancel, Remote: true}, "stream reset by client (CANCEL)"},
		{&StreamError{StreamID: 1, Code: http2.ErrCodeHTTP11Required, Remote: true}, "stream reset by client (HTTP_1_1_REQUIRED)"},
		{&StreamError{StreamID: 1, Code: 0x99, Remote: true}, "stream reset by client (153)"},
		{&StreamError{StreamID: 1, Code: http2.ErrCodeCancel}, "stream reset (CANCEL)"},
		{&StreamError{StreamID: 1, Code: http2.ErrCodeProtocol, Reason: "Received uppercase header name A."}, "HTTP/2 protocol error: Received uppercase header name A."},
		{&GoAwayError{Code: http2.ErrCodeNo, LastStreamID: 1, Remote: true}, "HTTP/2 connection closed: <ConnectionTerminated error_code:0, last_stream_id:1, additional_data:None>"},
		// At most 20 bytes of debug data, in hex.
		{&GoAwayError{Code: http2.ErrCodeProtocol, LastStreamID: 7, Debug: "0123456789abcdefghijKLMN", Remote: true},
			fmt.Sprintf("HTTP/2 connection closed: <ConnectionTerminated error_code:1, last_stream_id:7, additional_data:%x>", "0123456789abcdefghij")},
		{&GoAwayError{Code: http2.ErrCodeNo, LastStreamID: 3}, "HTTP/2 connection shutting down: GOAWAY sent (NO_ERROR, last stream 3)"},
		{&ConnError{Code: http2.ErrCodeProtocol, Reason: "Received pushed stream"}, "HTTP/2 protocol error: Received pushed stream"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&GoAwayError{Remote: true}, true},
		{fmt.Errorf("wrapped: %w", &GoAwayError{}), true},
		{&StreamError{Code: http2.ErrCodeRefusedStream, Remote: true}, true},
		{&StreamError{Code: http2.ErrCodeRefusedStream}, false},
		{&StreamError{Code: http2.ErrCodeCancel, Remote: true}, false},
		{ErrPeerClosed, false},
		{nil, false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v", tc.err, got)
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	s := Settings{}.withDefaults()
	if s.MaxConcurrentStreams != 100 || s.InitialWindowSize != DefaultInitialWindowSize || s.MaxFrameSize != 16384 || s.MaxHeaderListSize != 256<<10 || s.PingInterval != 0 {
		t.Errorf("%+v", s)
	}
	s = Settings{InitialWindowSize: 10, MaxFrameSize: 1 << 30}.withDefaults()
	if s.InitialWindowSize != 65535 || s.MaxFrameSize != 1<<24-1 {
		t.Errorf("%+v", s)
	}
	s = Settings{InitialWindowSize: 1 << 31, MaxFrameSize: 10}.withDefaults()
	if s.InitialWindowSize != 1<<31-1 || s.MaxFrameSize != 16384 || s.connWindow() != 1<<31-1 {
		t.Errorf("%+v", s)
	}
}

// TestHeaderDecoder: list size limit, never-indexed fields, and the HPACK
// context surviving a truncated block.
func TestHeaderDecoder(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	d := newHeaderDecoder(200)
	encode := func(fields ...Field) []byte {
		encodeBlock(enc, &buf, fields)
		return append([]byte(nil), buf.Bytes()...)
	}
	small := []Field{f(":status", "200"), {Name: "authorization", Value: "x", Sensitive: true}, f("x-a", "indexed")}
	got, trunc, err := decodeBlock(d, encode(small...))
	if err != nil || trunc || !reflect.DeepEqual(got, small) {
		t.Fatalf("%v %v %v", got, trunc, err)
	}
	// Over the limit: truncated, but the table entries it adds still count.
	big := []Field{f("x-b", string(bytes.Repeat([]byte("b"), 100))), f("x-c", string(bytes.Repeat([]byte("c"), 100)))}
	b := encode(big...)
	got, trunc, err = decodeBlock(d, b[:3], b[3:])
	if err != nil || !trunc || got != nil {
		t.Fatalf("%v %v %v", got, trunc, err)
	}
	again := []Field{f("x-a", "indexed"), f("x-c", string(bytes.Repeat([]byte("c"), 100)))}
	got, trunc, err = decodeBlock(d, encode(again...))
	if err != nil || trunc || !reflect.DeepEqual(got, again) {
		t.Fatalf("after truncation: %v %v %v", got, trunc, err)
	}
	// A flood of encoded bytes is a connection error.
	if _, _, err := decodeBlock(d, make([]byte, 2*200+1025)); err == nil {
		t.Error("huge block accepted")
	}
	// Garbage and an incomplete block are compression errors.
	for _, b := range [][]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x40, 0x05, 'a'}} {
		_, _, err := decodeBlock(newHeaderDecoder(200), b)
		if ce, ok := err.(*ConnError); !ok || ce.Code != http2.ErrCodeCompression {
			t.Errorf("%x: %v", b, err)
		}
	}
}
