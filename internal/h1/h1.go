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
func hasCRorNUL(b []byte) bool {
	return bytes.IndexByte(b, '\r') >= 0 || bytes.IndexByte(b, 0) >= 0
}

// trimOWS removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3).
func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// readHeaders reads header fields up to the empty line.
func readHeaders(br *bufio.Reader, budget *int) (flow.Headers, error) {
	h := make(flow.Headers, 0, 12)
	for {
		line, err := readLine(br, budget)
		if err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
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
					last.Value = string(cont)
				} else {
					last.Value += " " + string(cont)
				}
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, protoErr("invalid header line %q", truncate(line))
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenChar(c) {
				return nil, protoErr("invalid header name %q", truncate(name))
			}
		}
		value := trimOWS(line[colon+1:])
		h = append(h, flow.Field{Name: string(name), Value: string(value)})
	}
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:77:77], "..."...)
	}
	return b
}

// ReadRequestHead reads a request line and headers. It returns io.EOF when the
// connection closed cleanly before a new request began.
func ReadRequestHead(br *bufio.Reader, maxBytes int) (*RequestHead, error) {
	budget := maxBytes
	var line []byte
	var err error
	// Tolerate empty lines before a request (RFC 9112 §2.2).
	for i := 0; ; i++ {
		line, err = readLine(br, &budget)
		if err != nil {
			return nil, err
		}
		if len(line) > 0 || i > 4 {
			break
		}
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return nil, protoErr("invalid request line %q", truncate(line))
	}
	method, target, proto := line[:sp1], bytes.Trim(line[sp1+1:sp2], " "), line[sp2+1:]
	for _, c := range method {
		if !isTokenChar(c) {
			return nil, protoErr("invalid request method %q", truncate(method))
		}
	}
	if len(target) == 0 || bytes.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// No whitespace or control characters: mitmproxy splits the
		// line on whitespace, and a CR or NUL here is a smuggling vector.
		return nil, protoErr("invalid request target %q", truncate(target))
	}
	if !validProto(proto) {
		return nil, protoErr("invalid HTTP version %q", truncate(proto))
	}
	// line points into br's buffer, which reading the headers may
	// overwrite (when the head arrives in several reads): copy it out first.
	head := &RequestHead{Method: string(method), Target: string(target), Proto: string(proto)}
	if head.Headers, err = readHeaders(br, &budget); err != nil {
		return nil, err
	}
	return head, nil
}

func validProto(p []byte) bool {
	return len(p) == 8 && bytes.HasPrefix(p, []byte("HTTP/")) && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9'
}

// ReadResponseHead reads a status line and headers.
func ReadResponseHead(br *bufio.Reader, maxBytes int) (*ResponseHead, error) {
	budget := maxBytes
	line, err := readLine(br, &budget)
	if err != nil {
		return nil, err
	}
	// "HTTP/1.1 200 OK"; the reason may be empty or absent.
	if len(line) < 12 || !validProto(line[:8]) || line[8] != ' ' {
		return nil, protoErr("invalid status line %q", truncate(line))
	}
	code := line[9:12]
	status, err := strconv.Atoi(string(code))
	if err != nil || status < 100 || status > 999 {
		return nil, protoErr("invalid status code in %q", truncate(line))
	}
	reason := ""
	if len(line) > 12 {
		if line[12] != ' ' || hasCRorNUL(line) {
			return nil, protoErr("invalid status line %q", truncate(line))
		}
		reason = string(line[13:])
	}
	// line points into br's buffer, which reading the headers may
	// overwrite: copy what is kept first.
	head := &ResponseHead{Proto: string(line[:8]), Status: status, Reason: reason}
	if head.Headers, err = readHeaders(br, &budget); err != nil {
		return nil, err
	}
	return head, nil
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

func isChunked(h flow.Headers) (present, chunked bool) {
	te, ok := h.Lookup("transfer-encoding")
	if !ok {
		return false, false
	}
	parts := strings.Split(te, ",")
	last := strings.ToLower(strings.TrimSpace(parts[len(parts)-1]))
	return true, last == "chunked"
}

func contentLength(h flow.Headers) (int64, bool, error) {
	values := h.GetAll("content-length")
	if len(values) == 0 {
		return 0, false, nil
	}
	var n int64 = -1
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.Trim(part, " \t")
			// Content-Length = 1*DIGIT: ParseInt alone would take "+5" and
			// "-0", which other parsers read differently.
			m, err := strconv.ParseInt(part, 10, 64)
			if err != nil || !isDigits(part) {
				return 0, false, protoErr("invalid Content-Length %q", v)
			}
			if n != -1 && m != n {
				return 0, false, protoErr("conflicting Content-Length values %q", strings.Join(values, ", "))
			}
			n = m
		}
	}
	return n, true, nil
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
		if _, err := io.ReadFull(br, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, fmt.Errorf("reading body: %w", err)
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

// BodyReader returns a reader over the body's payload (chunked coding
// removed). For chunked bodies the *ChunkedReader is returned so the caller
// can get the trailers after EOF.
func BodyReader(br *bufio.Reader, f Framing) io.Reader {
	switch f.Kind {
	case NoBody:
		return bytes.NewReader(nil)
	case Length:
		return io.LimitReader(br, f.Length)
	case Chunked:
		return NewChunkedReader(br)
	default:
		return br
	}
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
		line = trimOWS(line)
		// chunk-size = 1*HEXDIG: ParseInt alone would accept a sign.
		size, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil || !isHexDigits(line) {
			return 0, c.fail(protoErr("invalid chunk size %q", truncate(line)))
		}
		if size == 0 {
			tb := DefaultMaxHeaderBytes
			tr, err := readHeaders(c.br, &tb)
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
	for _, f := range h {
		w.WriteString(f.Name)
		w.WriteString(": ")
		w.WriteString(f.Value)
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
}

// WriteRequestHead writes a request line and headers.
func WriteRequestHead(w *bufio.Writer, method, target, proto string, h flow.Headers) {
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(target)
	w.WriteByte(' ')
	w.WriteString(proto)
	w.WriteString("\r\n")
	WriteHeaders(w, h)
}

// WriteResponseHead writes a status line and headers.
func WriteResponseHead(w *bufio.Writer, proto string, status int, reason string, h flow.Headers) {
	w.WriteString(proto)
	w.WriteByte(' ')
	var buf [8]byte
	w.Write(strconv.AppendInt(buf[:0], int64(status), 10))
	w.WriteByte(' ')
	w.WriteString(reason)
	w.WriteString("\r\n")
	WriteHeaders(w, h)
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
	var buf [16]byte
	w.Write(strconv.AppendInt(buf[:0], int64(len(p)), 16))
	w.WriteString("\r\n")
	w.Write(p)
	w.WriteString("\r\n")
}

// WriteLastChunk ends a chunked body, with trailers.
func WriteLastChunk(w *bufio.Writer, trailers flow.Headers) {
	w.WriteString("0\r\n")
	WriteHeaders(w, trailers)
}
