// Package h1 is mitmgo's HTTP/1.x codec. Unlike net/http it keeps every header
// field exactly as it was sent — name spelling, order, duplicates — so that a
// message no addon touched leaves the proxy as it came in (RFC 9112 framing,
// lenient where mitmproxy is lenient).
package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/flow"
)

// DefaultMaxHeaderBytes bounds a message head (start line and header fields).
const DefaultMaxHeaderBytes = 256 << 10

// ErrHeaderTooLarge is returned when a head exceeds the limit.
var ErrHeaderTooLarge = errors.New("header section too large")

// ProtocolError describes malformed HTTP/1 input.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// RequestHead is a request line and its header fields.
type RequestHead struct {
	Method  string
	Target  string
	Proto   string
	Headers flow.Headers
}

// ResponseHead is a status line and its header fields.
type ResponseHead struct {
	Proto   string
	Status  int
	Reason  string
	Headers flow.Headers
}

// readLine returns one line without its line ending (CRLF or bare LF),
// counting against *budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A line longer than the reader's buffer: gather it.
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > *budget {
				return nil, ErrHeaderTooLarge
			}
			line, err = br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, ErrHeaderTooLarge
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// hasCRorNUL reports a CR or NUL. RFC 9110 §5.5 calls them invalid and
// dangerous in a field value (a bare CR can end a line for one parser and not
// for another, which is how requests are smuggled), and RFC 9112 §2.2 forbids
// a bare CR anywhere in the head. An LF cannot occur: it ends the line.
func hasCRorNUL(s string) bool {
	return strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, 0) >= 0
}

// trimOWS removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3).
func trimOWS(s string) string { return strings.Trim(s, " \t") }

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// readHead reads a message head: the start line and the header fields up to
// and including the empty line that ends them, returned as one string so that
// a head costs one allocation (the parsed fields are substrings of it).
// Up to skipEmpty empty lines before the start line are dropped. It returns
// io.EOF when the input ends before the head's first byte.
func readHead(br *bufio.Reader, maxBytes, skipEmpty int) (string, error) {
	for i := 0; i < skipEmpty; i++ {
		b, err := br.Peek(1)
		if err != nil {
			return "", err
		}
		if b[0] == '\r' {
			if b, err = br.Peek(2); err != nil && len(b) < 2 {
				return "", unexpectedEOF(err)
			}
		}
		if b[0] == '\n' || b[0] == '\r' && b[1] == '\n' {
			_, _ = br.Discard(len(b))
			continue
		}
		break
	}
	// The usual case: the whole head is in the reader's buffer, or arrives
	// in it after a few reads. The scan resumes where it stopped; Peek keeps
	// offsets relative to the unread data valid when the buffer slides.
	pos, lineStart := 0, 0
	for {
		buf, _ := br.Peek(br.Buffered())
		for pos < len(buf) {
			i := bytes.IndexByte(buf[pos:], '\n')
			if i < 0 {
				pos = len(buf)
				break
			}
			pos += i
			if n := pos - lineStart; n == 0 || n == 1 && buf[lineStart] == '\r' {
				end := pos + 1
				if end > maxBytes {
					return "", ErrHeaderTooLarge
				}
				s := string(buf[:end])
				_, _ = br.Discard(end)
				return s, nil
			}
			pos++
			lineStart = pos
		}
		if len(buf) > maxBytes {
			return "", ErrHeaderTooLarge
		}
		if len(buf) == br.Size() {
			// A head larger than the buffer: gather it line by line.
			return readLongHead(br, maxBytes)
		}
		if _, err := br.Peek(len(buf) + 1); err != nil && br.Buffered() == len(buf) {
			if len(buf) == 0 {
				return "", err
			}
			return "", unexpectedEOF(err)
		}
	}
}

// readLongHead is readHead for heads that do not fit the reader's buffer.
func readLongHead(br *bufio.Reader, maxBytes int) (string, error) {
	var head []byte
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		head = append(head, chunk...)
		if len(head) > maxBytes {
			return "", ErrHeaderTooLarge
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return "", unexpectedEOF(err)
		}
		if line := head[lineStart : len(head)-1]; len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return string(head), nil
		}
		lineStart = len(head)
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// cutLine splits the first line (without its CRLF or bare LF) off s.
func cutLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest
}

// HeadOption relaxes how a message head is read.
type HeadOption int

const (
	// AnyHeaderNames accepts any non-empty header name, not only RFC 9110
	// tokens: what mitmproxy reads with validate_inbound_headers off. CR
	// and NUL are refused all the same.
	AnyHeaderNames HeadOption = iota + 1
)

func anyNames(opts []HeadOption) bool {
	for _, o := range opts {
		if o == AnyHeaderNames {
			return true
		}
	}
	return false
}

// ValidateHeaders refuses what mitmproxy's validate_inbound_headers
// refuses besides invalid names: a message with both Transfer-Encoding and
// Content-Length, which front and back ends may frame differently (request
// smuggling; RFC 9112 §6.1).
func ValidateHeaders(h flow.Headers) error {
	te, cl := false, false
	for _, f := range h {
		te = te || strings.EqualFold(f.Name, "transfer-encoding")
		cl = cl || strings.EqualFold(f.Name, "content-length")
	}
	if te && cl {
		return protoErr("received both a Transfer-Encoding and a Content-Length header, refusing as recommended in RFC 7230 Section 3.3.3 " +
			"(disable the validate_inbound_headers option to skip this security check)")
	}
	return nil
}

// parseFields parses header fields from a head's text after the start line,
// ending with the empty line. anyName accepts names that are not tokens.
func parseFields(s string, anyName bool) (flow.Headers, error) {
	h := make(flow.Headers, 0, strings.Count(s, "\n"))
	for {
		var line string
		line, s = cutLine(s)
		if len(line) == 0 {
			return h, nil
		}
		if hasCRorNUL(line) {
			return nil, protoErr("invalid character (CR or NUL) in header line %q", truncate(line))
		}
		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold: a continuation of the previous value, replaced by
			// one SP as RFC 9112 §5.2 asks of a proxy. Empty parts add
			// nothing, so the value has no leading or trailing whitespace
			// and forwards (and re-parses) unchanged.
			if len(h) == 0 {
				return nil, protoErr("invalid header continuation line %q", truncate(line))
			}
			if cont := trimOWS(line); len(cont) > 0 {
				if last := &h[len(h)-1]; last.Value == "" {
					last.Value = cont
				} else {
					last.Value += " " + cont
				}
			}
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, protoErr("invalid header line %q", truncate(line))
		}
		name := line[:colon]
		for i := 0; i < len(name) && !anyName; i++ {
			if !isTokenChar(name[i]) {
				return nil, protoErr("invalid header name %q (disable the validate_inbound_headers option to accept it)", truncate(name))
			}
		}
		h = append(h, flow.Field{Name: name, Value: trimOWS(line[colon+1:])})
	}
}

func truncate[T string | []byte](b T) string {
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// ReadRequestHead reads a request line and headers. It returns io.EOF when the
// connection closed cleanly before a new request began.
func ReadRequestHead(br *bufio.Reader, maxBytes int, opts ...HeadOption) (*RequestHead, error) {
	// Tolerate empty lines before a request (RFC 9112 §2.2).
	s, err := readHead(br, maxBytes, 5)
	if err != nil {
		return nil, err
	}
	line, rest := cutLine(s)
	sp1 := strings.IndexByte(line, ' ')
	sp2 := strings.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return nil, protoErr("invalid request line %q", truncate(line))
	}
	method, target, proto := line[:sp1], strings.Trim(line[sp1+1:sp2], " "), line[sp2+1:]
	for i := 0; i < len(method); i++ {
		if !isTokenChar(method[i]) {
			return nil, protoErr("invalid request method %q", truncate(method))
		}
	}
	if len(target) == 0 || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// No whitespace or control characters: mitmproxy splits the
		// line on whitespace, and a CR or NUL here is a smuggling vector.
		return nil, protoErr("invalid request target %q", truncate(target))
	}
	if !validProto(proto) {
		return nil, protoErr("invalid HTTP version %q", truncate(proto))
	}
	h, err := parseFields(rest, anyNames(opts))
	if err != nil {
		return nil, err
	}
	return &RequestHead{Method: method, Target: target, Proto: proto, Headers: h}, nil
}

func validProto(p string) bool {
	return len(p) == 8 && strings.HasPrefix(p, "HTTP/") && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9'
}

// ReadResponseHead reads a status line and headers.
func ReadResponseHead(br *bufio.Reader, maxBytes int, opts ...HeadOption) (*ResponseHead, error) {
	// A server that answers with something else than HTTP is told as soon
	// as its first bytes show it, not when it closes the connection (or
	// fills maxBytes) without ever ending a head.
	b, err := br.Peek(5)
	switch {
	case len(b) == 5 && string(b) != "HTTP/":
		buffered, _ := br.Peek(br.Buffered())
		line, _, _ := strings.Cut(string(buffered), "\n")
		return nil, protoErr("invalid status line %q", truncate(strings.TrimSuffix(line, "\r")))
	case err != nil:
		// bufio hands a read error out once: it is this one's to
		// return (a reset must not turn into a clean end).
		if len(b) == 0 {
			return nil, err
		}
		return nil, unexpectedEOF(err)
	}
	s, err := readHead(br, maxBytes, 0)
	if err != nil {
		return nil, err
	}
	line, rest := cutLine(s)
	// "HTTP/1.1 200 OK"; the reason may be empty or absent.
	if len(line) < 12 || !validProto(line[:8]) || line[8] != ' ' {
		return nil, protoErr("invalid status line %q", truncate(line))
	}
	status := 0
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return nil, protoErr("invalid status code in %q", truncate(line))
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return nil, protoErr("invalid status code in %q", truncate(line))
	}
	reason := ""
	if len(line) > 12 {
		if line[12] != ' ' || hasCRorNUL(line) {
			return nil, protoErr("invalid status line %q", truncate(line))
		}
		reason = line[13:]
	}
	h, err := parseFields(rest, anyNames(opts))
	if err != nil {
		return nil, err
	}
	return &ResponseHead{Proto: line[:8], Status: status, Reason: reason, Headers: h}, nil
}

// BodyKind is how a message body is delimited.
type BodyKind int

const (
	// NoBody: the message has no body.
	NoBody BodyKind = iota
	// Length: Content-Length bytes follow.
	Length
	// Chunked: chunked transfer coding.
	Chunked
	// UntilClose: the body runs until the connection closes (responses only).
	UntilClose
)

// Framing is a message's body delimitation.
type Framing struct {
	Kind   BodyKind
	Length int64
}

// String describes the framing for logs: "no body", "content-length 42",
// "chunked", "until close".
func (f Framing) String() string {
	switch f.Kind {
	case NoBody:
		return "no body"
	case Length:
		return "content-length " + strconv.FormatInt(f.Length, 10)
	case Chunked:
		return "chunked"
	case UntilClose:
		return "until close"
	}
	return "unknown framing"
}

func isChunked(h flow.Headers) (present, chunked bool) {
	te, ok := h.Lookup("transfer-encoding")
	if !ok {
		return false, false
	}
	last := te
	if i := strings.LastIndexByte(te, ','); i >= 0 {
		last = te[i+1:]
	}
	return true, strings.EqualFold(strings.TrimSpace(last), "chunked")
}

func contentLength(h flow.Headers) (int64, bool, error) {
	var n int64 = -1
	for _, f := range h {
		if !strings.EqualFold(f.Name, "content-length") {
			continue
		}
		for part := range strings.SplitSeq(f.Value, ",") {
			part = strings.Trim(part, " \t")
			// Content-Length = 1*DIGIT: ParseInt alone would take "+5" and
			// "-0", which other parsers read differently.
			m, err := strconv.ParseInt(part, 10, 64)
			if err != nil || !isDigits(part) {
				return 0, false, protoErr("invalid Content-Length %q", f.Value)
			}
			if n != -1 && m != n {
				return 0, false, protoErr("conflicting Content-Length values %q", strings.Join(h.GetAll("content-length"), ", "))
			}
			n = m
		}
	}
	return n, n != -1, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHexDigits(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(b) > 0
}

// RequestFraming determines a request's body delimitation (RFC 9112 §6.3).
func RequestFraming(h flow.Headers) (Framing, error) {
	if te, chunked := isChunked(h); te {
		if !chunked {
			return Framing{}, protoErr("unsupported Transfer-Encoding %q in request", h.Get("transfer-encoding"))
		}
		return Framing{Kind: Chunked}, nil
	}
	n, ok, err := contentLength(h)
	if err != nil {
		return Framing{}, err
	}
	if !ok || n == 0 {
		return Framing{Kind: NoBody}, nil
	}
	return Framing{Kind: Length, Length: n}, nil
}

// ResponseFraming determines a response's body delimitation, given the
// request method it answers.
func ResponseFraming(method string, status int, h flow.Headers) (Framing, error) {
	if method == "HEAD" || status/100 == 1 || status == 204 || status == 304 {
		return Framing{Kind: NoBody}, nil
	}
	if method == "CONNECT" && status/100 == 2 {
		return Framing{Kind: NoBody}, nil
	}
	if te, chunked := isChunked(h); te {
		if chunked {
			return Framing{Kind: Chunked}, nil
		}
		return Framing{Kind: UntilClose}, nil
	}
	n, ok, err := contentLength(h)
	if err != nil {
		return Framing{}, err
	}
	if ok {
		if n == 0 {
			return Framing{Kind: NoBody}, nil
		}
		return Framing{Kind: Length, Length: n}, nil
	}
	return Framing{Kind: UntilClose}, nil
}

// ErrBodyTooLarge is returned when a body exceeds the caller's limit.
var ErrBodyTooLarge = errors.New("HTTP body too large")

// ReadBody reads a whole body. limit < 0 means no limit. For chunked bodies
// the trailers are returned (nil when there are none).
func ReadBody(br *bufio.Reader, f Framing, limit int64) ([]byte, flow.Headers, error) {
	switch f.Kind {
	case NoBody:
		return []byte{}, nil, nil
	case Length:
		if limit >= 0 && f.Length > limit {
			return nil, nil, ErrBodyTooLarge
		}
		buf := make([]byte, f.Length)
		if err := ReadFullBody(br, buf); err != nil {
			return nil, nil, err
		}
		return buf, nil, nil
	case Chunked:
		var buf []byte
		cr := NewChunkedReader(br)
		chunk := make([]byte, 32<<10)
		for {
			n, err := cr.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if limit >= 0 && int64(len(buf)) > limit {
				return nil, nil, ErrBodyTooLarge
			}
			if err == io.EOF {
				if buf == nil {
					buf = []byte{}
				}
				return buf, cr.Trailers, nil
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading chunked body: %w", err)
			}
		}
	default:
		var r io.Reader = br
		if limit >= 0 {
			r = io.LimitReader(br, limit+1)
		}
		buf, err := io.ReadAll(r)
		if err != nil {
			return nil, nil, fmt.Errorf("reading body: %w", err)
		}
		if limit >= 0 && int64(len(buf)) > limit {
			return nil, nil, ErrBodyTooLarge
		}
		return buf, nil, nil
	}
}

// ReadFullBody reads a Content-Length body of len(buf) bytes into buf (a
// buffer the caller recycles, where ReadBody would allocate one).
func ReadFullBody(br *bufio.Reader, buf []byte) error {
	if _, err := io.ReadFull(br, buf); err != nil {
		return fmt.Errorf("reading body: %w", unexpectedEOF(err))
	}
	return nil
}

// BodyReader returns a reader over the body's payload (chunked coding
// removed). For chunked bodies the *ChunkedReader is returned so the caller
// can get the trailers after EOF.
func BodyReader(br *bufio.Reader, f Framing) io.Reader {
	switch f.Kind {
	case NoBody:
		return bytes.NewReader(nil)
	case Length:
		return &lengthReader{r: br, left: f.Length}
	case Chunked:
		return NewChunkedReader(br)
	default:
		return br
	}
}

// lengthReader reads a Content-Length body: exactly left bytes. Unlike
// io.LimitReader, a connection that ends before them is an error
// (io.ErrUnexpectedEOF), not the body's end: a streamed body cut short
// must not pass for a complete one.
type lengthReader struct {
	r    io.Reader
	left int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	switch {
	case err == io.EOF && l.left > 0:
		return n, io.ErrUnexpectedEOF
	case err == nil && l.left == 0:
		return n, io.EOF
	}
	return n, err
}

// ChunkedReader decodes the chunked transfer coding.
type ChunkedReader struct {
	br       *bufio.Reader
	left     int64
	started  bool
	done     bool
	err      error
	Trailers flow.Headers
}

// NewChunkedReader decodes chunked data from br.
func NewChunkedReader(br *bufio.Reader) *ChunkedReader { return &ChunkedReader{br: br} }

func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.started {
			// CRLF after the previous chunk's data.
			budget := 1024
			line, err := readLine(c.br, &budget)
			if err != nil {
				return 0, c.fail(err)
			}
			if len(line) != 0 {
				return 0, c.fail(protoErr("missing CRLF after chunk data"))
			}
		}
		budget := 4096
		line, err := readLine(c.br, &budget)
		if err != nil {
			return 0, c.fail(err)
		}
		c.started = true
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.Trim(line, " \t")
		// chunk-size = 1*HEXDIG: ParseInt alone would accept a sign.
		size, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil || !isHexDigits(line) {
			return 0, c.fail(protoErr("invalid chunk size %q", truncate(line)))
		}
		if size == 0 {
			ts, err := readHead(c.br, DefaultMaxHeaderBytes, 0)
			if err != nil {
				return 0, c.fail(err)
			}
			tr, err := parseFields(ts, false)
			if err != nil {
				return 0, c.fail(err)
			}
			if len(tr) > 0 {
				c.Trailers = tr
			}
			c.done = true
			c.err = io.EOF
			return 0, io.EOF
		}
		c.left = size
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, c.fail(err)
	}
	return n, nil
}

func (c *ChunkedReader) fail(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return err
}

// Done reports whether the terminating chunk was read.
func (c *ChunkedReader) Done() bool { return c.done }

// WriteHeaders writes header fields as "Name: value\r\n" and the empty line.
func WriteHeaders(w *bufio.Writer, h flow.Headers) {
	w.Write(AppendHeaders(w.AvailableBuffer(), h))
}

// AppendHeaders is WriteHeaders appending to dst.
func AppendHeaders(dst []byte, h flow.Headers) []byte {
	for _, f := range h {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// WriteRequestHead writes a request line and headers.
func WriteRequestHead(w *bufio.Writer, method, target, proto string, h flow.Headers) {
	w.Write(AppendRequestHead(w.AvailableBuffer(), method, target, proto, h))
}

// AppendRequestHead is WriteRequestHead appending to dst.
func AppendRequestHead(dst []byte, method, target, proto string, h flow.Headers) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, ' ')
	dst = append(dst, proto...)
	dst = append(dst, "\r\n"...)
	return AppendHeaders(dst, h)
}

// WriteResponseHead writes a status line and headers.
func WriteResponseHead(w *bufio.Writer, proto string, status int, reason string, h flow.Headers) {
	w.Write(AppendResponseHead(w.AvailableBuffer(), proto, status, reason, h))
}

// AppendResponseHead is WriteResponseHead appending to dst.
func AppendResponseHead(dst []byte, proto string, status int, reason string, h flow.Headers) []byte {
	dst = append(dst, proto...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\n"...)
	return AppendHeaders(dst, h)
}

// WriteBody writes a whole body in the given framing. Chunked bodies are
// written as one chunk plus the terminating chunk and trailers.
func WriteBody(w *bufio.Writer, chunked bool, body []byte, trailers flow.Headers) {
	if !chunked {
		w.Write(body)
		return
	}
	if len(body) > 0 {
		WriteChunk(w, body)
	}
	WriteLastChunk(w, trailers)
}

// WriteChunk writes one chunk of a chunked body.
func WriteChunk(w *bufio.Writer, p []byte) {
	w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(p)), 16))
	w.WriteString("\r\n")
	w.Write(p)
	w.WriteString("\r\n")
}

// WriteLastChunk ends a chunked body, with trailers.
func WriteLastChunk(w *bufio.Writer, trailers flow.Headers) {
	w.WriteString("0\r\n")
	WriteHeaders(w, trailers)
}
