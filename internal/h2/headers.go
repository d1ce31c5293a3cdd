package h2

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// headerDecoder decodes one header block at a time with the connection's
// HPACK decoder. Every block must be decoded to the end, even one we refuse,
// or the dynamic table gets out of step with the peer's encoder.
type headerDecoder struct {
	dec       *hpack.Decoder
	limit     uint32 // SETTINGS_MAX_HEADER_LIST_SIZE we advertised
	fields    []Field
	remain    uint32 // list size left before the limit
	truncated bool   // the list exceeded limit; fields is incomplete
	raw       int    // encoded bytes of the block so far
}

func newHeaderDecoder(limit uint32) *headerDecoder {
	d := &headerDecoder{limit: limit}
	d.dec = hpack.NewDecoder(4096, d.emit)
	// A single string can't be longer than the whole list may be; this
	// bounds what the decoder buffers for a string split across frames.
	d.dec.SetMaxStringLength(int(limit))
	return d
}

func (d *headerDecoder) emit(f hpack.HeaderField) {
	size := f.Size()
	if size > d.remain {
		// Keep decoding (the dynamic table must stay in sync) but stop
		// collecting fields.
		d.truncated = true
		d.remain = 0
		d.dec.SetEmitEnabled(false)
		return
	}
	d.remain -= size
	d.fields = append(d.fields, Field{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive})
}

func (d *headerDecoder) begin() {
	d.fields = nil
	d.remain = d.limit
	d.truncated = false
	d.raw = 0
	d.dec.SetEmitEnabled(true)
}

// write decodes the next fragment of the block (HEADERS, then CONTINUATION
// frames). Errors are connection errors: the HPACK context is lost.
func (d *headerDecoder) write(frag []byte) error {
	d.raw += len(frag)
	// An encoded field is never much larger than its counted size (name +
	// value + 32), so a block this large is a flood, not a header list we
	// could accept.
	if uint64(d.raw) > 2*uint64(d.limit)+1024 {
		return connErr(http2.ErrCodeEnhanceYourCalm, "header block of more than %d bytes", d.raw)
	}
	if _, err := d.dec.Write(frag); err != nil {
		return connErr(http2.ErrCodeCompression, "header block decoding failed: %v", err)
	}
	return nil
}

// end finishes the block. fields is nil if the list was truncated.
func (d *headerDecoder) end() (fields []Field, truncated bool, err error) {
	if err := d.dec.Close(); err != nil {
		return nil, false, connErr(http2.ErrCodeCompression, "header block decoding failed: %v", err)
	}
	fields, truncated = d.fields, d.truncated
	d.fields = nil
	if truncated {
		fields = nil
	}
	return fields, truncated, nil
}

// decodeBlock decodes a whole header block given as fragments; the fuzz
// target's entry point into the decoder.
func decodeBlock(d *headerDecoder, frags ...[]byte) ([]Field, bool, error) {
	d.begin()
	for _, f := range frags {
		if err := d.write(f); err != nil {
			return nil, false, err
		}
	}
	return d.end()
}

// encodeBlock HPACK-encodes fields into buf.
func encodeBlock(enc *hpack.Encoder, buf *bytes.Buffer, fields []Field) {
	buf.Reset()
	for _, f := range fields {
		// WriteField only fails when its io.Writer does; a bytes.Buffer
		// does not.
		_ = enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive})
	}
}

// listSize is the header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts
// it.
func listSize(fields []Field) uint64 {
	var n uint64
	for _, f := range fields {
		n += uint64(len(f.Name)) + uint64(len(f.Value)) + 32
	}
	return n
}

// blockKind says which rules a received header block must follow.
type blockKind uint8

const (
	kindRequest blockKind = iota
	kindResponse
	kindTrailers
)

// isConnectionHeader reports the connection-specific fields RFC 9113 §8.2.2
// forbids (the same set as h2's CONNECTION_HEADERS). name is lowercase.
func isConnectionHeader(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// errMalformed carries the reason a received header block is malformed
// (RFC 9113 §8.1.1); the wording follows h2's validation messages.
type errMalformed string

func (e errMalformed) Error() string { return string(e) }

func malformed(format string, args ...any) error {
	return errMalformed(fmt.Sprintf(format, args...))
}

// validateFields checks a received header block against RFC 9113 §8.2 and
// §8.3. Violations make the message malformed: a stream error, not a
// connection error.
func validateFields(fields []Field, kind blockKind) error {
	var (
		sawRegular bool
		seen       uint8 // pseudo-header fields seen, one bit each
	)
	const (
		pMethod = 1 << iota
		pScheme
		pAuthority
		pPath
		pProtocol
		pStatus
	)
	var method, status, path string
	for _, f := range fields {
		name := f.Name
		if name == "" {
			return malformed("Received header name with zero length.")
		}
		if name[0] == ':' {
			if kind == kindTrailers {
				return malformed("Received pseudo-header in trailer %s", name)
			}
			if sawRegular {
				return malformed("Received pseudo-header field out of sequence: %s", name)
			}
			var bit uint8
			switch name {
			case ":method":
				bit, method = pMethod, f.Value
			case ":scheme":
				bit = pScheme
			case ":authority":
				bit = pAuthority
			case ":path":
				bit, path = pPath, f.Value
			case ":protocol":
				bit = pProtocol
			case ":status":
				bit, status = pStatus, f.Value
			default:
				return malformed("Received custom pseudo-header field %s", name)
			}
			if seen&bit != 0 {
				return malformed("Received duplicate pseudo-header field %s", name)
			}
			seen |= bit
			if kind == kindRequest && bit == pStatus {
				return malformed("Received response-only pseudo-header %s in request", name)
			}
			if kind == kindResponse && bit != pStatus {
				return malformed("Received request-only pseudo-header %s in response", name)
			}
		} else {
			sawRegular = true
			for i := 0; i < len(name); i++ {
				c := name[i]
				if 'A' <= c && c <= 'Z' {
					return malformed("Received uppercase header name %s.", name)
				}
				if c <= ' ' || c >= 0x7f || c == ':' {
					return malformed("Received invalid header name %q.", name)
				}
			}
			if isConnectionHeader(name) {
				return malformed("Connection-specific header field present: %s.", name)
			}
			if name == "te" && !strings.EqualFold(f.Value, "trailers") {
				return malformed("Invalid value for TE header: %s", f.Value)
			}
		}
		if v := f.Value; v != "" {
			if v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
				return malformed("Received header value surrounded by whitespace %q", v)
			}
			if strings.ContainsAny(v, "\x00\r\n") {
				return malformed("Received header value with invalid characters in %s", name)
			}
		}
	}
	switch kind {
	case kindRequest:
		if seen&pMethod == 0 {
			return malformed("Header block missing mandatory :method header")
		}
		if seen&pProtocol != 0 {
			// Extended CONNECT (RFC 8441) needs
			// SETTINGS_ENABLE_CONNECT_PROTOCOL, which we do not send.
			return malformed("Received :protocol pseudo-header without SETTINGS_ENABLE_CONNECT_PROTOCOL")
		}
		if method == "CONNECT" {
			if seen&(pScheme|pPath) != 0 {
				return malformed("CONNECT request with :scheme or :path")
			}
			if seen&pAuthority == 0 {
				return malformed("Header block missing mandatory :authority header")
			}
			return nil
		}
		if seen&pScheme == 0 {
			return malformed("Header block missing mandatory :scheme header")
		}
		if seen&pPath == 0 {
			return malformed("Header block missing mandatory :path header")
		}
		if path == "" {
			return malformed("An empty :path header is forbidden")
		}
	case kindResponse:
		if seen&pStatus == 0 {
			return malformed("Header block missing mandatory :status header")
		}
		if len(status) != 3 || !isDigits(status) {
			return malformed("Invalid :status %q", status)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// contentLength returns the declared content-length, or -1 without one.
// Repeated identical values are one value (RFC 9110 §8.6).
func contentLength(fields []Field) (int64, error) {
	n := int64(-1)
	for _, f := range fields {
		if f.Name != "content-length" {
			continue
		}
		if !isDigits(f.Value) || len(f.Value) > 18 {
			return 0, malformed("Invalid content-length header: %s", f.Value)
		}
		v, _ := strconv.ParseInt(f.Value, 10, 64)
		if n >= 0 && v != n {
			return 0, malformed("Conflicting content-length headers")
		}
		n = v
	}
	return n, nil
}

// status returns the :status of a response header block (0 if absent).
func status(fields []Field) int {
	for _, f := range fields {
		if f.Name == ":status" {
			n, _ := strconv.Atoi(f.Value)
			return n
		}
		if !strings.HasPrefix(f.Name, ":") {
			break
		}
	}
	return 0
}

func pseudo(fields []Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
		if !strings.HasPrefix(f.Name, ":") {
			break
		}
	}
	return ""
}

// StripConnectionHeaders returns fields without what HTTP/2 forbids on the
// wire (RFC 9113 §8.2.2): the connection-specific fields connection,
// keep-alive, proxy-connection, transfer-encoding and upgrade, the fields
// a Connection header names, and te unless it is "trailers". Names compare
// case-insensitively. fields is not modified; when nothing is dropped it is
// returned as is.
func StripConnectionHeaders(fields []Field) []Field {
	var named []string // fields listed in Connection
	drop := func(f Field) bool {
		n := strings.ToLower(f.Name)
		if isConnectionHeader(n) {
			return true
		}
		if n == "te" && !strings.EqualFold(strings.TrimSpace(f.Value), "trailers") {
			return true
		}
		for _, c := range named {
			if n == c {
				return true
			}
		}
		return false
	}
	for _, f := range fields {
		if strings.EqualFold(f.Name, "connection") {
			for _, tok := range strings.Split(f.Value, ",") {
				if tok = strings.ToLower(strings.TrimSpace(tok)); tok != "" {
					named = append(named, tok)
				}
			}
		}
	}
	i := 0
	for i < len(fields) && !drop(fields[i]) {
		i++
	}
	if i == len(fields) {
		return fields
	}
	out := append(make([]Field, 0, len(fields)-1), fields[:i]...)
	for _, f := range fields[i+1:] {
		if !drop(f) {
			out = append(out, f)
		}
	}
	return out
}
