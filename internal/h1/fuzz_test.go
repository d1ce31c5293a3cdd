package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	"OPTIONS * HTTP/1.0\n\n",
	"\r\nGET http://a/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nX:\r\n \r\n\r\n",
	"GET / HTTP/1.1\r\nA: 1\r\na: 2\r\nEmpty:\r\n\r\n",
	"GET  /  HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
}

// FuzzReadRequestHead: the parser never panics, and a head it accepts
// re-serialises with WriteRequestHead into a head that parses to the same
// value (so the proxy forwards what it understood, nothing else).
func FuzzReadRequestHead(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		h, err := ReadRequestHead(bufio.NewReaderSize(bytes.NewReader(data), 16), limit)
		// A head that fits the reader's buffer takes another path through
		// readHead than one that does not: both must agree.
		hBig, errBig := ReadRequestHead(bufio.NewReaderSize(bytes.NewReader(data), 64<<10), limit)
		if (err == nil) != (errBig == nil) || err == nil && !reflect.DeepEqual(h, hBig) {
			t.Fatalf("small and large buffers disagree:\n%+v %v\n%+v %v", h, err, hBig, errBig)
		}
		// With validate_inbound_headers off, any header name goes: a
		// head accepted strictly reads the same, and one accepted leniently
		// survives a write/read cycle too.
		hAny, errAny := ReadRequestHead(bufio.NewReaderSize(bytes.NewReader(data), 16), limit, AnyHeaderNames)
		if err == nil && (errAny != nil || !reflect.DeepEqual(h, hAny)) {
			t.Fatalf("AnyHeaderNames refuses or changes a valid head: %v\n%+v\n%+v", errAny, h, hAny)
		}
		if errAny == nil {
			_ = ValidateHeaders(hAny.Headers)
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			WriteRequestHead(w, hAny.Method, hAny.Target, hAny.Proto, hAny.Headers)
			w.Flush()
			if again, err := ReadRequestHead(bufio.NewReader(&buf), 4*limit, AnyHeaderNames); err != nil || !reflect.DeepEqual(hAny, again) {
				t.Fatalf("lenient head changed by a write/read cycle: %v\n%+v\n%+v", err, hAny, again)
			}
		}
		if err != nil {
			checkReadError(t, err)
			return
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		WriteRequestHead(w, h.Method, h.Target, h.Proto, h.Headers)
		w.Flush()
		// Bare LFs become CRLFs, so allow for growth.
		h2, err := ReadRequestHead(bufio.NewReader(&buf), 4*limit)
		if err != nil {
			t.Fatalf("re-serialised head does not parse: %v\n%q", err, buf.String())
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("head changed by a write/read cycle:\n%+v\n%+v", h, h2)
		}
		if _, err := RequestFraming(h.Headers); err != nil && !isProtocolError(err) {
			t.Fatalf("RequestFraming error %T: %v", err, err)
		}
	})
}

// FuzzReadResponseHead: as FuzzReadRequestHead for status lines.
func FuzzReadResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 404 Not Found\nX: y\n z\n\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.1 999 \r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		h, err := ReadResponseHead(bufio.NewReaderSize(bytes.NewReader(data), 16), limit)
		// As for requests: lenient reading accepts every strict head
		// unchanged (validate_inbound_headers off).
		hAny, errAny := ReadResponseHead(bufio.NewReaderSize(bytes.NewReader(data), 16), limit, AnyHeaderNames)
		if err == nil && (errAny != nil || !reflect.DeepEqual(h, hAny)) {
			t.Fatalf("AnyHeaderNames refuses or changes a valid head: %v\n%+v\n%+v", errAny, h, hAny)
		}
		if errAny == nil {
			_ = ValidateHeaders(hAny.Headers)
		}
		if err != nil {
			checkReadError(t, err)
			return
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		WriteResponseHead(w, h.Proto, h.Status, h.Reason, h.Headers)
		w.Flush()
		h2, err := ReadResponseHead(bufio.NewReader(&buf), 4*limit)
		if err != nil {
			t.Fatalf("re-serialised head does not parse: %v\n%q", err, buf.String())
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("head changed by a write/read cycle:\n%+v\n%+v", h, h2)
		}
		for _, m := range []string{"GET", "HEAD", "CONNECT"} {
			if _, err := ResponseFraming(m, h.Status, h.Headers); err != nil && !isProtocolError(err) {
				t.Fatalf("ResponseFraming error %T: %v", err, err)
			}
		}
	})
}

// FuzzChunkedReader: the decoder never panics, and what it decodes
// re-encodes (one chunk plus trailers) into a stream that decodes to the
// same data and trailers.
func FuzzChunkedReader(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"1;ext=1\r\na\r\n2\r\nbc\r\n0\r\nX-T: 1\r\n\r\n",
		"A\n0123456789\n0\n\n",
		"0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		"ffffffffffffffff\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := NewChunkedReader(bufio.NewReaderSize(bytes.NewReader(data), 16))
		body, err := io.ReadAll(io.LimitReader(cr, 1<<20))
		if err != nil {
			checkReadError(t, err)
			if cr.Done() {
				t.Fatal("Done after an error")
			}
			return
		}
		if !cr.Done() {
			return // hit the LimitReader bound
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		WriteBody(w, true, body, cr.Trailers)
		w.Flush()
		body2, trailers2, err := ReadBody(bufio.NewReader(&buf), Framing{Kind: Chunked}, -1)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%q", err, buf.String())
		}
		if !bytes.Equal(body, body2) || !reflect.DeepEqual(cr.Trailers, trailers2) {
			t.Fatalf("body changed by an encode/decode cycle: %q %q / %q %q", body, cr.Trailers, body2, trailers2)
		}
	})
}

// checkReadError fails on errors other than the documented kinds.
func checkReadError(t *testing.T, err error) {
	t.Helper()
	switch {
	case isProtocolError(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrHeaderTooLarge):
	default:
		t.Fatalf("unexpected error %T: %v", err, err)
	}
}
