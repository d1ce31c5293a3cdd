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
	"math"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/flow"
)

// DefaultMaxHeaderBytes bounds a message head (start line and header fields).
const DefaultMaxHeaderBytes = 256 << 10

// ErrHeaderTooLarge is returned when a head exceeds the limit.
var ErrHeaderTooLarge = errors.New("header section too large")

// ProtocolError describes malformed HTTP/1 input: bytes that break the
// grammar, or framing that parsers along a chain could read differently
// (RFC 9112 §6). It is never an I/O error: input that ends early gives
// io.EOF or io.ErrUnexpectedEOF, a failed read the reader's own error. A
// proxy answers a ProtocolError in a request (head or body) with 400 and one
// in a response with 502, and names Msg as the reason.
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

// trimOWS removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3). A
// loop of its own: strings.Trim builds its set of characters on every
// call, and this runs for every header field.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isTokenChar reports a tchar of RFC 9110 §5.6.2. A table: every byte of
// every header name goes through it, and the comparisons it replaced were
// 600 instructions of a proxied request (callgrind, mitmdump).
func isTokenChar(c byte) bool { return tokenChars[c] }

// tokenChars is isTokenChar's table, never written after it is built.
var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

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

// HeadBuffered reports whether br's buffer already holds a whole head,
// through the empty line that ends it, so that reading it takes no read of
// the connection. Empty lines a request may start with (RFC 9112 §2.2) are
// not taken for its end.
func HeadBuffered(br *bufio.Reader) bool {
	buf, _ := br.Peek(br.Buffered())
	for len(buf) > 0 && (buf[0] == '\r' || buf[0] == '\n') {
		buf = buf[1:]
	}
	// The usual case, a request with no body alone in the buffer, ends
	// with the empty line: past the leading empty lines, a line end
	// followed by an empty line ends a head.
	if bytes.HasSuffix(buf, []byte("\n\r\n")) || bytes.HasSuffix(buf, []byte("\n\n")) {
		return true
	}
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return false
		}
		buf = buf[i+1:]
		if len(buf) > 0 && buf[0] == '\n' || len(buf) > 1 && buf[0] == '\r' && buf[1] == '\n' {
			return true
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

func nameRule(opts []HeadOption) int {
	for _, o := range opts {
		if o == AnyHeaderNames {
			return anyHeadNames
		}
	}
	return headNames
}

// ValidateHeaders refuses what mitmproxy's validate_inbound_headers
// refuses in any message besides invalid names (which ReadRequestHead and
// ReadResponseHead refuse unless given AnyHeaderNames): framing that a
// front end and a back end may read differently (request smuggling, RFC
// 9112 §6.1 and §6.3):
//   - both Transfer-Encoding and Content-Length;
//   - more than one Transfer-Encoding field (one reader takes the first,
//     another joins them);
//   - a Transfer-Encoding or Content-Length value that RequestFraming and
//     ResponseFraming refuse, even where the message has no body (a
//     response to HEAD, a 304).
//
// ValidateRequest and ValidateResponse add the checks that depend on the
// start line.
func ValidateHeaders(h flow.Headers) error {
	_, err := validateHeaders(h)
	return err
}

// validateHeaders is ValidateHeaders, also returning what the message's
// Transfer-Encoding says, for ValidateRequest and ValidateResponse (read
// once: this runs for every message).
func validateHeaders(h flow.Headers) (transferCoding, error) {
	te, _, err := validateFraming(h)
	return te, err
}

// validateFraming is validateHeaders, also returning the Content-Length
// (-1 for none), so that a message is validated and framed in one look at
// its fields (see ValidateRequestFraming).
func validateFraming(h flow.Headers) (transferCoding, int64, error) {
	te, cl, clAt := 0, 0, 0
	for i, f := range h {
		// Both names are 14 and 17 bytes long: most fields are neither.
		switch len(f.Name) {
		case len("transfer-encoding"):
			if IsFieldName(f.Name, "transfer-encoding") {
				te++
			}
		case len("content-length"):
			if IsFieldName(f.Name, "content-length") {
				cl, clAt = cl+1, i
			}
		}
	}
	switch {
	case te > 0 && cl > 0:
		return transferCoding{}, 0, protoErr("received both a Transfer-Encoding and a Content-Length header, refusing as recommended in RFC 7230 Section 3.3.3 " + validateHint)
	case te > 1:
		return transferCoding{}, 0, protoErr("received %d Transfer-Encoding headers (%q), refusing as they may be read differently downstream (RFC 9112 Section 6.1) "+validateHint,
			te, truncate(joinFields(h, "transfer-encoding")))
	case te == 1:
		t, err := transferEncoding(h)
		return t, -1, err
	case cl == 1:
		n, err := fieldLength(h[clAt].Value)
		return transferCoding{}, n, err
	case cl > 1:
		n, err := contentLength(h)
		return transferCoding{}, n, err
	}
	return transferCoding{}, -1, nil
}

// ValidateRequestFraming is ValidateRequest and then RequestFraming, in one
// look at the header fields: the framing of a request ValidateRequest
// accepts, or its error.
func ValidateRequestFraming(proto string, h flow.Headers) (Framing, error) {
	te, n, err := validateFraming(h)
	if err == nil && te.present {
		err = requestCoding(proto, te)
	}
	switch {
	case err != nil:
		return Framing{}, err
	case te.present:
		return Framing{Kind: Chunked}, nil
	case n <= 0:
		return Framing{Kind: NoBody}, nil
	}
	return Framing{Kind: Length, Length: n}, nil
}

// ValidateResponseFraming is ValidateResponse and then ResponseFraming
// for a response to method, in one look at the header fields.
func ValidateResponseFraming(method, proto string, status int, h flow.Headers) (Framing, error) {
	te, n, err := validateFraming(h)
	if err == nil && te.present {
		err = responseCoding(proto, status, te)
	}
	if err != nil {
		return Framing{}, err
	}
	return responseFraming(method, status, te, n), nil
}

// validateHint ends the messages of checks that only validate_inbound_headers
// makes (with it off the message is framed all the same).
const validateHint = "(disable the validate_inbound_headers option to skip this security check)"

// ValidateRequest is ValidateHeaders for a request of the given HTTP
// version, with what mitmproxy's validate_inbound_headers adds for
// requests: Transfer-Encoding only in HTTP/1.1 (RFC 9112 §6.1: an HTTP/1.0
// message with it is to be treated as faulty framing) and only ending in
// chunked (which RequestFraming refuses in any case).
func ValidateRequest(proto string, h flow.Headers) error {
	te, err := validateHeaders(h)
	if err != nil || !te.present {
		return err
	}
	return requestCoding(proto, te)
}

// requestCoding is what ValidateRequest asks of a request's
// Transfer-Encoding.
func requestCoding(proto string, te transferCoding) error {
	switch {
	case proto != "HTTP/1.1":
		return protoErr("received Transfer-Encoding %q in an %s request, refusing as RFC 9112 Section 6.1 asks "+validateHint, truncate(te.value), truncate(proto))
	case !te.chunked:
		return requestNotChunked(te)
	}
	return nil
}

// ValidateResponse is ValidateHeaders for a response, with what mitmproxy's
// validate_inbound_headers adds for responses: Transfer-Encoding only in
// HTTP/1.1 and never in a 1xx or 204 response (RFC 9112 §6.1).
func ValidateResponse(proto string, status int, h flow.Headers) error {
	te, err := validateHeaders(h)
	if err != nil || !te.present {
		return err
	}
	return responseCoding(proto, status, te)
}

// responseCoding is what ValidateResponse asks of a response's
// Transfer-Encoding.
func responseCoding(proto string, status int, te transferCoding) error {
	switch {
	case proto != "HTTP/1.1":
		return protoErr("received Transfer-Encoding %q in an %s response, refusing as RFC 9112 Section 6.1 asks "+validateHint, truncate(te.value), truncate(proto))
	case status/100 == 1 || status == 204:
		return protoErr("received Transfer-Encoding %q in a %d response, refusing as RFC 9112 Section 6.1 asks "+validateHint, truncate(te.value), status)
	}
	return nil
}

// IsFieldName reports whether name is want (lower case), ignoring ASCII case
// only: strings.EqualFold also folds "ſ" (U+017F) to "s" and "K" (U+212A)
// to "k", which a downstream parser would not. For a want without k and s
// it answers as EqualFold (and flow.Headers' lookups) do, only quicker.
func IsFieldName(name, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// joinFields joins the values of the fields named name (lower case) with
// ", ", as one list (RFC 9110 §5.3).
func joinFields(h flow.Headers, name string) string {
	var b strings.Builder
	n := 0
	for _, f := range h {
		if IsFieldName(f.Name, name) {
			if n > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Value)
			n++
		}
	}
	return b.String()
}

// Name rules for parseFields.
const (
	headNames    = iota // tokens; validate_inbound_headers accepts others
	anyHeadNames        // anything but empty (AnyHeaderNames)
	trailerNames        // tokens, whatever the options
)

// parseFields parses header fields from a head's text after the start line,
// ending with the empty line, with names as the rule says.
func parseFields(s string, names int) (flow.Headers, error) {
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
		for i := 0; i < len(name) && names != anyHeadNames; i++ {
			if !isTokenChar(name[i]) {
				if names == trailerNames {
					return nil, protoErr("invalid header name %q", truncate(name))
				}
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
	head := new(RequestHead)
	if err := ReadRequestHeadInto(br, maxBytes, head, opts...); err != nil {
		return nil, err
	}
	return head, nil
}

// ReadRequestHeadInto is ReadRequestHead into a head of the caller's,
// which a proxy reading one request after another on a connection keeps
// on its stack rather than allocate. head is left as it was on an error.
func ReadRequestHeadInto(br *bufio.Reader, maxBytes int, head *RequestHead, opts ...HeadOption) error {
	// Tolerate empty lines before a request (RFC 9112 §2.2).
	s, err := readHead(br, maxBytes, 5)
	if err != nil {
		return err
	}
	line, rest := cutLine(s)
	sp1 := strings.IndexByte(line, ' ')
	sp2 := strings.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return protoErr("invalid request line %q", truncate(line))
	}
	method, target, proto := line[:sp1], trimSpaces(line[sp1+1:sp2]), line[sp2+1:]
	for i := 0; i < len(method); i++ {
		if !isTokenChar(method[i]) {
			return protoErr("invalid request method %q", truncate(method))
		}
	}
	if len(target) == 0 || hasSpaceOrControl(target) {
		// No whitespace or control characters: mitmproxy splits the
		// line on whitespace, and a CR or NUL here is a smuggling vector.
		return protoErr("invalid request target %q", truncate(target))
	}
	if !validProto(proto) {
		return protoErr("invalid HTTP version %q", truncate(proto))
	}
	h, err := parseFields(rest, nameRule(opts))
	if err != nil {
		return err
	}
	*head = RequestHead{Method: method, Target: target, Proto: proto, Headers: h}
	return nil
}

// trimSpaces is strings.Trim(s, " "), which builds its set of bytes on
// every call: this runs for every request line.
func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// hasSpaceOrControl reports a byte up to SP, or DEL. Byte by byte: a
// multi-byte UTF-8 sequence (or an invalid one) has no such byte, so this
// answers as a check of its runes would, without decoding them (250 of a
// proxied request's instructions, callgrind).
func hasSpaceOrControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func validProto(p string) bool {
	return len(p) == 8 && strings.HasPrefix(p, "HTTP/") && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9'
}

// ReadResponseHead reads a status line and headers.
func ReadResponseHead(br *bufio.Reader, maxBytes int, opts ...HeadOption) (*ResponseHead, error) {
	head := new(ResponseHead)
	if err := ReadResponseHeadInto(br, maxBytes, head, opts...); err != nil {
		return nil, err
	}
	return head, nil
}

// ReadResponseHeadInto is ReadResponseHead into a head of the caller's
// (see ReadRequestHeadInto). head is left as it was on an error.
func ReadResponseHeadInto(br *bufio.Reader, maxBytes int, head *ResponseHead, opts ...HeadOption) error {
	// A server that answers with something else than HTTP is told as soon
	// as its first bytes show it, not when it closes the connection (or
	// fills maxBytes) without ever ending a head.
	b, err := br.Peek(5)
	switch {
	case len(b) == 5 && string(b) != "HTTP/":
		buffered, _ := br.Peek(br.Buffered())
		line, _, _ := strings.Cut(string(buffered), "\n")
		return protoErr("invalid status line %q", truncate(strings.TrimSuffix(line, "\r")))
	case err != nil:
		// bufio hands a read error out once: it is this one's to
		// return (a reset must not turn into a clean end).
		if len(b) == 0 {
			return err
		}
		return unexpectedEOF(err)
	}
	s, err := readHead(br, maxBytes, 0)
	if err != nil {
		return err
	}
	line, rest := cutLine(s)
	// "HTTP/1.1 200 OK"; the reason may be empty or absent.
	if len(line) < 12 || !validProto(line[:8]) || line[8] != ' ' {
		return protoErr("invalid status line %q", truncate(line))
	}
	status := 0
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return protoErr("invalid status code in %q", truncate(line))
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return protoErr("invalid status code in %q", truncate(line))
	}
	reason := ""
	if len(line) > 12 {
		if line[12] != ' ' || hasCRorNUL(line) {
			return protoErr("invalid status line %q", truncate(line))
		}
		reason = line[13:]
	}
	h, err := parseFields(rest, nameRule(opts))
	if err != nil {
		return err
	}
	*head = ResponseHead{Proto: line[:8], Status: status, Reason: reason, Headers: h}
	return nil
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

// transferCoding is what a message's Transfer-Encoding fields say.
type transferCoding struct {
	present bool
	chunked bool   // the codings end in chunked
	value   string // the fields' values joined as one list
}

// transferEncoding reads the Transfer-Encoding fields, joined as one list.
// As mitmproxy, only the codings it knows are accepted (chunked, possibly
// after one of gzip, deflate and compress; or one of those or identity
// alone), compared without ASCII case and with optional whitespace around
// the commas: anything else ("xchunked", "chunked, identity", "chunked,",
// two chunked) is an error, whatever validate_inbound_headers says, since a
// front end that reads it one way and a back end that reads it another is
// how requests are smuggled (RFC 9112 §6.1, §11.2).
func transferEncoding(h flow.Headers) (transferCoding, error) {
	var te transferCoding
	for _, f := range h {
		if IsFieldName(f.Name, "transfer-encoding") {
			if te.present {
				te.value += ", "
			}
			te.value += f.Value
			te.present = true
		}
	}
	if !te.present {
		return te, nil
	}
	switch normalizeCodings(te.value) {
	case "chunked", "gzip,chunked", "deflate,chunked", "compress,chunked":
		te.chunked = true
	case "gzip", "deflate", "compress", "identity":
	default:
		return te, protoErr("unsupported Transfer-Encoding %q", truncate(te.value))
	}
	return te, nil
}

// IsChunked reports whether a message with these headers is to be written
// with the chunked coding: whether its Transfer-Encoding fields end in
// chunked as RequestFraming and ResponseFraming read them (field names in
// ASCII case only, codings mitmproxy knows). A writer that decided
// otherwise (flow.Headers.Get folds Unicode case) could chunk a body the
// next hop frames by its Content-Length.
func IsChunked(h flow.Headers) bool {
	te, err := transferEncoding(h)
	return err == nil && te.chunked
}

// normalizeCodings lowers ASCII letters and drops SP and HTAB around the
// commas of a coding list; "" when it has anything but printable ASCII.
func normalizeCodings(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t':
			continue // kept below only between two token characters
		case c < 0x21 || c > 0x7e:
			return ""
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		// Whitespace inside a coding ("chun ked") is not dropped.
		if i > 0 && (v[i-1] == ' ' || v[i-1] == '\t') && len(b) > 0 && b[len(b)-1] != ',' && c != ',' {
			b = append(b, ' ')
		}
		b = append(b, c)
	}
	return string(b)
}

func requestNotChunked(te transferCoding) error {
	return protoErr("request Transfer-Encoding %q does not end in chunked: its body length cannot be determined (RFC 9112 Section 6.3)", truncate(te.value))
}

// contentLength reads the Content-Length fields: -1 when there are none.
// A value is one decimal number without sign or leading zero, as mitmproxy
// reads it: "+5", "0x5", "05" and lists ("5, 5") are errors, since other
// parsers read them differently (or as another number). Several fields
// must agree; identical ones are accepted (RFC 9110 §8.6).
func contentLength(h flow.Headers) (int64, error) {
	var n int64 = -1
	for _, f := range h {
		if !IsFieldName(f.Name, "content-length") {
			continue
		}
		m, err := fieldLength(f.Value)
		switch {
		case err != nil:
			return 0, err
		case n != -1 && m != n:
			return 0, protoErr("conflicting Content-Length headers %q", truncate(joinFields(h, "content-length")))
		}
		n = m
	}
	return n, nil
}

// fieldLength reads one Content-Length value (see contentLength).
func fieldLength(v string) (int64, error) {
	v = trimOWS(v) // as read, already trimmed
	m, inRange := parseDecimal(v)
	switch {
	case !isDigits(v) || len(v) > 1 && v[0] == '0':
		return 0, protoErr("invalid Content-Length %q", truncate(v))
	case !inRange:
		return 0, protoErr("invalid Content-Length %q (too large)", truncate(v))
	}
	return m, nil
}

// parseDecimal reads s, which isDigits accepts, as an int64; false when it
// does not fit. (strconv.ParseInt checks signs, underscores and bases on
// every call, and every message with a body has a Content-Length.)
func parseDecimal(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
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
// Transfer-Encoding overrides Content-Length (ValidateHeaders refuses the
// two together), and must end in chunked; see transferEncoding and
// contentLength for the values accepted. Errors are *ProtocolError: 400.
func RequestFraming(h flow.Headers) (Framing, error) {
	te, err := transferEncoding(h)
	if err != nil {
		return Framing{}, err
	}
	if te.present {
		if !te.chunked {
			return Framing{}, requestNotChunked(te)
		}
		return Framing{Kind: Chunked}, nil
	}
	n, err := contentLength(h)
	if err != nil {
		return Framing{}, err
	}
	if n <= 0 {
		return Framing{Kind: NoBody}, nil
	}
	return Framing{Kind: Length, Length: n}, nil
}

// ResponseFraming determines a response's body delimitation, given the
// request method it answers (RFC 9112 §6.3). A Transfer-Encoding that does
// not end in chunked (but that transferEncoding knows) runs until the
// connection closes. Errors are *ProtocolError: 502.
func ResponseFraming(method string, status int, h flow.Headers) (Framing, error) {
	if noResponseBody(method, status) {
		return Framing{Kind: NoBody}, nil
	}
	te, err := transferEncoding(h)
	if err != nil {
		return Framing{}, err
	}
	n := int64(-1)
	if !te.present {
		if n, err = contentLength(h); err != nil {
			return Framing{}, err
		}
	}
	return responseFraming(method, status, te, n), nil
}

// noResponseBody reports a response that has no body whatever its header
// fields say.
func noResponseBody(method string, status int) bool {
	return method == "HEAD" || status/100 == 1 || status == 204 || status == 304 ||
		method == "CONNECT" && status/100 == 2
}

// responseFraming is ResponseFraming from what the fields say:
// Transfer-Encoding te, Content-Length n (-1 for none).
func responseFraming(method string, status int, te transferCoding, n int64) Framing {
	switch {
	case noResponseBody(method, status):
		return Framing{Kind: NoBody}
	case te.present && te.chunked:
		return Framing{Kind: Chunked}
	case te.present:
		return Framing{Kind: UntilClose}
	case n == 0:
		return Framing{Kind: NoBody}
	case n > 0:
		return Framing{Kind: Length, Length: n}
	}
	return Framing{Kind: UntilClose}
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

// ChunkedReader decodes the chunked transfer coding (RFC 9112 §7.1).
// Malformed input (a chunk size that is not 1*HEXDIG or does not fit an
// int64, chunk data longer than its size, a bad trailer section) is a
// *ProtocolError; input that ends early is io.ErrUnexpectedEOF. Either
// sticks: later reads return it again.
type ChunkedReader struct {
	br       *bufio.Reader
	left     int64
	size     int64 // of the current chunk, for messages
	started  bool
	done     bool
	err      error
	Trailers flow.Headers
}

// NewChunkedReader decodes chunked data from br.
func NewChunkedReader(br *bufio.Reader) *ChunkedReader { return &ChunkedReader{br: br} }

// Limits on the lines of the chunked coding besides the data: generous for
// chunk extensions, small enough that a sender cannot make the reader
// buffer without bound.
const (
	maxChunkLine    = 4096
	maxChunkDataEnd = 1024
)

func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.started {
			// CRLF after the previous chunk's data.
			budget := maxChunkDataEnd
			line, err := readLine(c.br, &budget)
			if err == ErrHeaderTooLarge || err == nil && len(line) != 0 {
				return 0, c.fail(protoErr("chunk data longer than its size (%d bytes): no CRLF after it", c.size))
			}
			if err != nil {
				return 0, c.fail(err)
			}
		}
		if err := c.readSize(); err != nil {
			return 0, c.fail(err)
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err != nil {
		return n, c.fail(err)
	}
	return n, nil
}

// readSize reads a chunk-size line, and after the last chunk the trailer
// section.
func (c *ChunkedReader) readSize() error {
	budget := maxChunkLine
	line, err := readLine(c.br, &budget)
	if err == ErrHeaderTooLarge {
		return protoErr("chunk size line longer than %d bytes", maxChunkLine)
	}
	if err != nil {
		return err
	}
	c.started = true
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		// As in a head (RFC 9112 §2.2): a bare CR ends the line for
		// some parsers and not for others.
		return protoErr("invalid character (CR or NUL) in chunk size line %q", truncate(line))
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions are dropped, not forwarded
	}
	line = bytes.Trim(line, " \t")
	// chunk-size = 1*HEXDIG: ParseInt alone would accept a sign or "0x".
	if !isHexDigits(line) {
		return protoErr("invalid chunk size %q", truncate(line))
	}
	size, err := strconv.ParseInt(string(line), 16, 64)
	if err != nil {
		return protoErr("chunk size %q too large", truncate(line))
	}
	if size > 0 {
		c.left, c.size = size, size
		return nil
	}
	ts, err := readHead(c.br, DefaultMaxHeaderBytes, 0)
	if err == ErrHeaderTooLarge {
		return protoErr("trailer section larger than %d bytes", DefaultMaxHeaderBytes)
	}
	if err != nil {
		return err
	}
	tr, err := parseFields(ts, trailerNames)
	if err != nil {
		return protoErr("invalid trailer section: %v", err)
	}
	if len(tr) > 0 {
		c.Trailers = tr
	}
	c.done = true
	c.err = io.EOF
	return nil
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
