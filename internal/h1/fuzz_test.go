package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
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
	// Issue 18's smuggling table.
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tChunKed ,\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n ,chunked\r\n\r\n",
	"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
	"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n",
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
		if err := ValidateRequest(h.Proto, h.Headers); err != nil {
			if !isProtocolError(err) {
				t.Fatalf("ValidateRequest error %T: %v", err, err)
			}
			return
		}
		fr, err := RequestFraming(h.Headers)
		if err != nil {
			if !isProtocolError(err) {
				t.Fatalf("RequestFraming error %T: %v", err, err)
			}
			return
		}
		checkFramingDownstream(t, h.Headers, fr)
		// What the proxy forwards, read by another parser (net/http, as
		// a Go origin would): it may refuse it, but must not frame the
		// body differently, or the bytes after it would be read as
		// another request (RFC 9112 §11.2).
		if req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf.Bytes()))); err == nil {
			switch {
			case fr.Kind == Chunked && !(len(req.TransferEncoding) == 1 && req.TransferEncoding[0] == "chunked"),
				fr.Kind == Length && (req.ContentLength != fr.Length || len(req.TransferEncoding) != 0),
				fr.Kind == NoBody && (req.ContentLength != 0 || len(req.TransferEncoding) != 0):
				t.Fatalf("framed as %v, net/http reads content-length %d, transfer-encoding %q:\n%q",
					fr, req.ContentLength, req.TransferEncoding, buf.String())
			}
		}
	})
}

// checkFramingDownstream checks a framing that strict validation accepted
// against what a simple downstream parser makes of the same fields: the
// Transfer-Encoding split on commas, each coding trimmed and compared
// without case, and every Content-Length field read as a number.
func checkFramingDownstream(t *testing.T, h flow.Headers, fr Framing) {
	t.Helper()
	var codings []string
	cls := 0
	for _, f := range h {
		switch strings.ToLower(f.Name) {
		case "transfer-encoding":
			for c := range strings.SplitSeq(f.Value, ",") {
				codings = append(codings, strings.ToLower(strings.Trim(c, " \t")))
			}
		case "content-length":
			cls++
			n, err := strconv.ParseInt(strings.TrimSpace(f.Value), 10, 64)
			if err != nil || fr.Kind == Length && n != fr.Length || fr.Kind == NoBody && n != 0 {
				t.Fatalf("framed as %v with Content-Length %q", fr, f.Value)
			}
		}
	}
	if len(codings) > 0 && cls > 0 {
		t.Fatalf("framed as %v with both Transfer-Encoding and Content-Length: %q", fr, h)
	}
	chunked := len(codings) > 0 && codings[len(codings)-1] == "chunked"
	if chunked != (fr.Kind == Chunked) {
		t.Fatalf("framed as %v, Transfer-Encoding codings %q", fr, codings)
	}
	for i, c := range codings {
		if c == "chunked" && i != len(codings)-1 || !validCoding(c) {
			t.Fatalf("framed as %v, Transfer-Encoding codings %q", fr, codings)
		}
	}
}

func validCoding(c string) bool {
	switch c {
	case "chunked", "gzip", "deflate", "compress", "identity":
		return true
	}
	return false
}

// FuzzReadResponseHead: as FuzzReadRequestHead for status lines.
func FuzzReadResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 404 Not Found\nX: y\n z\n\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.1 999 \r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
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
		if err := ValidateResponse(h.Proto, h.Status, h.Headers); err != nil {
			if !isProtocolError(err) {
				t.Fatalf("ValidateResponse error %T: %v", err, err)
			}
			return
		}
		fr, err := ResponseFraming("GET", h.Status, h.Headers)
		if err != nil || h.Status/100 == 1 || h.Status == 204 || h.Status == 304 {
			return
		}
		if fr.Kind != UntilClose {
			checkFramingDownstream(t, h.Headers, fr)
		}
		// As for requests: net/http, as a Go client would read what the
		// proxy forwards, frames it the same or refuses it.
		if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf.Bytes())), &http.Request{Method: "GET"}); err == nil {
			switch {
			case fr.Kind == Chunked && !(len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"),
				fr.Kind == Length && (resp.ContentLength != fr.Length || len(resp.TransferEncoding) != 0),
				fr.Kind == NoBody && (resp.ContentLength != 0 || len(resp.TransferEncoding) != 0),
				fr.Kind == UntilClose && (resp.ContentLength != -1 || len(resp.TransferEncoding) != 0):
				t.Fatalf("framed as %v, net/http reads content-length %d, transfer-encoding %q:\n%q",
					fr, resp.ContentLength, resp.TransferEncoding, buf.String())
			}
		}
	})
}

// FuzzFraming: whatever the Transfer-Encoding and Content-Length values,
// RequestFraming and ResponseFraming fail only with a *ProtocolError, and a
// message that strict validation lets through is framed as a simple
// downstream parser frames it (checkFramingDownstream), with IsChunked
// agreeing.
func FuzzFraming(f *testing.F) {
	for _, s := range [][3]string{
		{"chunked", "", ""},
		{"gzip, chunked", "", ""},
		{"chunked", "chunked", ""},
		{"identity, chunked", "", ""},
		{" chunked", "", "5"},
		{"chunked ,", "", ""},
		{"\tChUnKeD\t", "", ""},
		{"xchunked", "", ""},
		{"chun\u212aed", "", ""},
		{"", "", "5, 5"},
		{"", "", "+5"},
		{"", "", "0x5"},
		{"", "", "18446744073709551616"},
		{"", "", "05"},
		{"identity", "", "3"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, te1, te2, cl string) {
		var h flow.Headers
		if te1 != "" {
			h = append(h, flow.Field{Name: "Transfer-Encoding", Value: te1})
		}
		if te2 != "" {
			h = append(h, flow.Field{Name: "transfer-encoding", Value: te2})
		}
		if cl != "" {
			for v := range strings.SplitSeq(cl, "|") {
				h = append(h, flow.Field{Name: "Content-Length", Value: v})
			}
		}
		rf, rerr := RequestFraming(h)
		if rerr != nil && !isProtocolError(rerr) {
			t.Fatalf("RequestFraming error %T: %v", rerr, rerr)
		}
		sf, serr := ResponseFraming("GET", 200, h)
		if serr != nil && !isProtocolError(serr) {
			t.Fatalf("ResponseFraming error %T: %v", serr, serr)
		}
		if rerr == nil && IsChunked(h) != (rf.Kind == Chunked) || serr == nil && IsChunked(h) != (sf.Kind == Chunked) {
			t.Fatalf("IsChunked %v, framed as %v / %v", IsChunked(h), rf, sf)
		}
		checkOnePass(t, h)
		if rerr == nil && ValidateRequest("HTTP/1.1", h) == nil {
			checkFramingDownstream(t, h, rf)
		}
		if serr == nil && ValidateResponse("HTTP/1.1", 200, h) == nil && sf.Kind != UntilClose {
			checkFramingDownstream(t, h, sf)
		}
	})
}

// checkOnePass: ValidateRequestFraming and ValidateResponseFraming answer
// as validating and then framing do, error for error.
func checkOnePass(t *testing.T, h flow.Headers) {
	t.Helper()
	same := func(what string, f1 Framing, err1 error, f2 Framing, err2 error) {
		t.Helper()
		if fmt.Sprint(err1) != fmt.Sprint(err2) || err1 == nil && f1 != f2 {
			t.Fatalf("%s of %v: one pass %v %v, two %v %v", what, h, f1, err1, f2, err2)
		}
	}
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		f, err := ValidateRequestFraming(proto, h)
		f2, err2 := Framing{}, ValidateRequest(proto, h)
		if err2 == nil {
			f2, err2 = RequestFraming(h)
		}
		same(proto+" request", f, err, f2, err2)
		for _, r := range []struct {
			method string
			status int
		}{{"GET", 200}, {"HEAD", 200}, {"GET", 204}, {"GET", 304}, {"GET", 100}, {"GET", 101}, {"CONNECT", 200}, {"CONNECT", 407}} {
			f, err := ValidateResponseFraming(r.method, proto, r.status, h)
			f2, err2 := Framing{}, ValidateResponse(proto, r.status, h)
			if err2 == nil {
				f2, err2 = ResponseFraming(r.method, r.status, h)
			}
			same(fmt.Sprintf("%s response %d to %s", proto, r.status, r.method), f, err, f2, err2)
		}
	}
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
		"ffffffffffffffffff\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		"3\r\nhello\r\n0\r\n\r\n",
		"5\r\nhelloXX0\r\n\r\n",
		"0\r\nBad Trailer\r\n\r\n",
		"5;a\rb\r\nhello\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := NewChunkedReader(bufio.NewReaderSize(bytes.NewReader(data), 16))
		body, err := io.ReadAll(io.LimitReader(cr, 1<<20))
		if err != nil {
			// Malformed or cut short, nothing else: the proxy answers
			// the one 400 or 502 and the other as a disconnect.
			if !isProtocolError(err) && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
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

// headBufferedByLines is HeadBuffered without its shortcut: line after
// line, past the leading empty lines, until a line end followed by an empty
// line.
func headBufferedByLines(buf []byte) bool {
	buf = bytes.TrimLeft(buf, "\r\n")
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return false
		}
		buf = buf[i+1:]
		if bytes.HasPrefix(buf, []byte("\n")) || bytes.HasPrefix(buf, []byte("\r\n")) {
			return true
		}
	}
}

// FuzzHeadBuffered checks HeadBuffered's shortcut for a head that ends the
// buffer against the scan of every line.
func FuzzHeadBuffered(f *testing.F) {
	for _, s := range []string{"", "\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\n\nGET / HTTP/1.1\n\n", "GET /\r\nX: \r\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		br := bufio.NewReaderSize(strings.NewReader(s), len(s)+16)
		_, _ = br.Peek(len(s))
		if got, want := HeadBuffered(br), headBufferedByLines([]byte(s)); got != want {
			t.Errorf("HeadBuffered(%q) = %v, want %v", s, got, want)
		}
	})
}
