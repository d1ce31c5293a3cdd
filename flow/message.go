package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// ErrContentMissing is returned when a body was streamed or not yet read.
var ErrContentMissing = errors.New("content missing")

// Message holds what requests and responses share.
type Message struct {
	// HTTPVersion is the version as sent, e.g. "HTTP/1.1" or "HTTP/2.0".
	HTTPVersion string
	Headers     Headers
	// RawContent is the body as sent on the wire, possibly compressed. nil
	// means missing (streamed, or not read yet); an empty, non-nil slice is an
	// empty body.
	RawContent []byte
	// Trailers are the HTTP trailers; nil when there were none.
	Trailers Headers
	// TimestampStart is when the headers were received (Unix seconds).
	TimestampStart float64
	// TimestampEnd is when the last byte was received; 0 if not yet.
	TimestampEnd float64
	// Stream asks the proxy to forward the body without buffering it. Set it
	// in the requestheaders/responseheaders hook. The flow then records no
	// content (unless store_streamed_bodies, or an event stream's
	// event_stream_store, asks for it). The proxy sets it before those hooks
	// when it will stream the body anyway (stream_large_bodies, event
	// streams), so that a hook sees it and may set it back to false.
	Stream bool
	// StreamFunc, when set, transforms a streamed body as it passes
	// (mitmproxy's callable request.stream / response.stream): it is called
	// with every chunk that arrives, in order, and what it returns is sent
	// in the chunk's place (nothing when empty). After the last chunk it is
	// called once more with an empty chunk, so that it may flush what it held
	// back (not for an empty body, which it never sees). An error ends the exchange, as a broken connection does. The
	// chunk is only valid during the call. The headers go out before the
	// body: a function that changes the body's length must remove a
	// Content-Length header (the body is then chunked over HTTP/1).
	//
	// It applies only to a body that is streamed: set Stream as well. What
	// the flow records of a streamed body (see Stream) is what StreamFunc
	// returned, which is what was sent on. Calls come from the goroutine
	// that forwards the body, at most one at a time.
	StreamFunc func(chunk []byte) ([]byte, error)
}

// IsHTTP10 and the like report the message's protocol version.
func (m *Message) IsHTTP10() bool { return m.HTTPVersion == "HTTP/1.0" }

// IsHTTP11 reports HTTP/1.1.
func (m *Message) IsHTTP11() bool { return m.HTTPVersion == "HTTP/1.1" }

// IsHTTP2 reports HTTP/2.
func (m *Message) IsHTTP2() bool { return m.HTTPVersion == "HTTP/2.0" || m.HTTPVersion == "HTTP/2" }

// contentEncoding is the Content-Encoding header value.
func (m *Message) contentEncoding() string { return m.Headers.Get("content-encoding") }

// Content returns the body with its Content-Encoding removed. A body that does
// not decode gives an error; ErrContentMissing when the body is missing.
func (m *Message) Content() ([]byte, error) {
	if m.RawContent == nil {
		return nil, ErrContentMissing
	}
	enc := m.contentEncoding()
	if enc == "" || len(m.RawContent) == 0 {
		return m.RawContent, nil
	}
	return DecodeContent(enc, m.RawContent)
}

// ContentOrRaw is Content in mitmproxy's non-strict mode: the raw bytes when
// decoding fails, nil when missing.
func (m *Message) ContentOrRaw() []byte {
	c, err := m.Content()
	if err != nil {
		return m.RawContent
	}
	return c
}

// SetContent replaces the body, re-encoding it with the message's current
// Content-Encoding (dropped if that encoding is unusable), and keeps
// Content-Length right unless the message uses Transfer-Encoding. nil marks
// the content as missing.
func (m *Message) SetContent(content []byte) {
	if content == nil {
		m.RawContent = nil
		return
	}
	if enc := m.contentEncoding(); enc != "" && normEncoding(enc) != "identity" {
		encoded, err := EncodeContent(enc, content)
		if err != nil {
			m.Headers.Del("content-encoding")
		} else {
			content = encoded
		}
	}
	m.SetRawContent(content)
}

// SetRawContent sets the body bytes as they go on the wire and updates
// Content-Length, unless the message uses Transfer-Encoding.
func (m *Message) SetRawContent(raw []byte) {
	m.RawContent = raw
	if raw == nil {
		return
	}
	if !m.Headers.Has("transfer-encoding") {
		m.Headers.Set("content-length", strconv.Itoa(len(raw)))
	}
}

// Decode removes the Content-Encoding in place, as mitmproxy's decode().
// An empty body is left alone with its headers, as mitmproxy does: it is
// typically a HEAD response whose Content-Length describes a body that was
// not sent, and rewriting it to 0 would corrupt the response.
func (m *Message) Decode() error {
	if m.RawContent == nil {
		return ErrContentMissing
	}
	if len(m.RawContent) == 0 {
		return nil
	}
	c, err := m.Content()
	if err != nil {
		return err
	}
	m.Headers.Del("content-encoding")
	m.SetRawContent(c)
	return nil
}

// Encode applies encoding enc in place (replacing any current one). An
// encoding mitmgo cannot produce is an error, as mitmproxy's ValueError, and
// leaves the message unchanged (SetContent alone would silently drop it).
func (m *Message) Encode(enc string) error {
	if !IsSupportedEncoding(enc) {
		return fmt.Errorf("invalid content encoding %q", enc)
	}
	c, err := m.Content()
	if err != nil {
		return err
	}
	m.Headers.Set("content-encoding", enc)
	m.SetContent(c)
	return nil
}

var (
	charsetParam    = regexp.MustCompile(`(?i);\s*charset\s*=\s*"?([^";\s]+)`)
	htmlMetaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset=['"]?([^'">]+)`)
	xmlEncoding     = regexp.MustCompile(`(?i)<\?xml[^?>]+encoding=['"]([^'"?>]+)`)
	cssCharset      = regexp.MustCompile(`(?i)^@charset "([^"]+)";`)
)

// inferCharset follows mitmproxy's infer_content_encoding
// (mitmproxy/net/http/headers.py): a BOM, the Content-Type charset, then
// type-specific hints, else latin-1. The charset names are Python codec
// names; lookupEncoding understands them.
func inferCharset(contentType string, content []byte) string {
	// The BOM wins, with the explicit-endian codecs mitmproxy picks (they
	// keep the BOM as U+FEFF in the text; utf-8-sig strips it).
	switch {
	case bytes.HasPrefix(content, []byte{0x00, 0x00, 0xFE, 0xFF}):
		return "utf-32be"
	case bytes.HasPrefix(content, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return "utf-32le"
	case bytes.HasPrefix(content, []byte{0xFE, 0xFF}):
		return "utf-16be"
	case bytes.HasPrefix(content, []byte{0xFF, 0xFE}):
		return "utf-16le"
	case bytes.HasPrefix(content, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-sig"
	}
	enc := ""
	if m := charsetParam.FindStringSubmatch(contentType); m != nil {
		enc = m[1]
	} else {
		ct := strings.ToLower(contentType)
		// mitmproxy searches the whole body for these hints, not a prefix.
		switch {
		case strings.Contains(ct, "json"):
			enc = "utf-8"
		case strings.Contains(ct, "html"):
			enc = "utf-8"
			if m := htmlMetaCharset.FindSubmatch(content); m != nil {
				enc = string(m[1])
			}
		case strings.Contains(ct, "xml"):
			enc = "utf-8"
			if m := xmlEncoding.FindSubmatch(content); m != nil {
				enc = string(m[1])
			}
		case strings.Contains(ct, "javascript") || strings.Contains(ct, "ecmascript"):
			enc = "utf-8"
		case strings.Contains(ct, "css"):
			enc = "utf-8"
			if m := cssCharset.FindSubmatch(content); m != nil {
				enc = string(m[1])
			}
		default:
			enc = "latin-1"
		}
	}
	enc = strings.ToLower(enc)
	// mitmproxy upgrades the narrower Chinese charsets to their superset.
	if enc == "gb2312" || enc == "gbk" {
		enc = "gb18030"
	}
	return enc
}

// Charset is the charset mitmproxy would use to decode this message's text.
func (m *Message) Charset() string {
	c := m.ContentOrRaw()
	return inferCharset(m.Headers.Get("content-type"), c)
}

// lookupEncoding maps a charset name to an encoder/decoder. nil with ok means
// UTF-8. Python's codec names come first: they differ from the WHATWG labels
// of htmlindex for latin-1 (WHATWG means windows-1252) and for the UTF-16/32
// family (WHATWG has no UTF-32, and maps "utf-16" to little-endian without
// BOM detection).
func lookupEncoding(name string) (encoding.Encoding, bool) {
	switch strings.ReplaceAll(name, "_", "-") {
	case "utf-8", "utf8", "u8":
		return nil, true
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1":
		return latin1{}, true
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), true
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), true
	case "utf-16", "utf16":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), true
	case "utf-32be":
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), true
	case "utf-32le":
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), true
	case "utf-32", "utf32":
		return utf32.UTF32(utf32.LittleEndian, utf32.UseBOM), true
	}
	e, err := htmlindex.Get(name)
	if err != nil {
		return nil, false
	}
	return e, true
}

// utf8BOM starts bodies that mitmproxy decodes as utf-8-sig.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Text returns the decoded body as text, using the inferred charset.
func (m *Message) Text() (string, error) {
	c, err := m.Content()
	if err != nil {
		return "", err
	}
	cs := inferCharset(m.Headers.Get("content-type"), c)
	if cs == "utf-8-sig" {
		cs, c = "utf-8", bytes.TrimPrefix(c, utf8BOM)
	}
	enc, ok := lookupEncoding(cs)
	if !ok {
		return "", fmt.Errorf("unknown charset %q", cs)
	}
	if enc == nil {
		if !utf8.Valid(c) {
			return "", fmt.Errorf("body is not valid %s", cs)
		}
		return string(c), nil
	}
	if _, isLatin1 := enc.(latin1); isLatin1 {
		return latin1Decode(c), nil
	}
	out, err := enc.NewDecoder().Bytes(c)
	if err != nil {
		return "", fmt.Errorf("body is not valid %s: %w", cs, err)
	}
	return string(out), nil
}

// SetText encodes text with the inferred charset; when it cannot be encoded
// that way, UTF-8 is used and "charset=utf-8" is put in the Content-Type, as
// mitmproxy does.
func (m *Message) SetText(text string) {
	cs := inferCharset(m.Headers.Get("content-type"), nil)
	if enc, ok := lookupEncoding(cs); ok {
		if enc == nil {
			m.SetContent([]byte(text))
			return
		}
		if _, isLatin1 := enc.(latin1); isLatin1 {
			if b, ok := latin1Encode(text); ok {
				m.SetContent(b)
				return
			}
		} else if b, err := enc.NewEncoder().Bytes([]byte(text)); err == nil {
			m.SetContent(b)
			return
		}
	}
	m.Headers.Set("content-type", withUTF8Charset(m.Headers.Get("content-type")))
	m.SetContent([]byte(text))
}

// withUTF8Charset sets the charset parameter of a Content-Type to utf-8 as
// mitmproxy's parse_content_type/assemble_content_type do: type and subtype
// lower-cased, other parameters kept in order, an existing charset replaced
// in place, and text/plain when the value is not a type/subtype.
func withUTF8Charset(ct string) string {
	typ, params, _ := strings.Cut(ct, ";")
	major, minor, ok := strings.Cut(typ, "/")
	if !ok {
		return "text/plain; charset=utf-8"
	}
	var out []string
	replaced := false
	if params != "" {
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				continue // mitmproxy drops parameters without a value
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if strings.EqualFold(k, "charset") {
				if replaced {
					continue
				}
				k, v, replaced = "charset", "utf-8", true
			}
			out = append(out, k+"="+v)
		}
	}
	if !replaced {
		out = append(out, "charset=utf-8")
	}
	return strings.ToLower(major) + "/" + strings.ToLower(minor) + "; " + strings.Join(out, "; ")
}

// JSON decodes the body (non-strictly) as JSON into v.
func (m *Message) JSON(v any) error {
	c := m.ContentOrRaw()
	if c == nil {
		return ErrContentMissing
	}
	return json.Unmarshal(c, v)
}

// latin1 marks the ISO-8859-1 charset, which maps bytes to the first 256 code
// points one to one (Python's "latin-1", unlike the WHATWG windows-1252 alias).
type latin1 struct{ encoding.Encoding }

func latin1Decode(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

func latin1Encode(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}
