package flowfile

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// This file holds the parts of mitmproxy's HTTP message behaviour that the
// HAR import and export need: header access on state-dict header lists,
// content-encoding, charset inference and text codecs, and query strings
// (cookies are internal/cookies). Text is handled as Python's str would be: a Go string holding
// UTF-8, where invalid bytes stand for surrogate-escaped bytes (Python's
// "surrogateescape" error handler), which the JSON writer emits as \udcXX.

// headerList is a header list of a state dict: [[name, value], ...].
type headerList [][2][]byte

func headersFromState(v any) headerList {
	l, _ := v.([]any)
	h := make(headerList, 0, len(l))
	for _, x := range l {
		pair, ok := x.([]any)
		if !ok || len(pair) != 2 {
			continue
		}
		k, _ := asBytes(pair[0]).([]byte)
		val, _ := asBytes(pair[1]).([]byte)
		h = append(h, [2][]byte{k, val})
	}
	return h
}

func (h headerList) state() []any {
	l := make([]any, len(h))
	for i, f := range h {
		l[i] = []any{f[0], f[1]}
	}
	return l
}

// getAll returns the values of name, compared case-insensitively.
func (h headerList) getAll(name string) []string {
	var vals []string
	for _, f := range h {
		if strings.EqualFold(string(f[0]), name) {
			vals = append(vals, string(f[1]))
		}
	}
	return vals
}

// get folds multiple values with ", " as mitmproxy's Headers do.
func (h headerList) get(name string) (string, bool) {
	vals := h.getAll(name)
	if vals == nil {
		return "", false
	}
	return strings.Join(vals, ", "), true
}

func (h headerList) has(name string) bool {
	_, ok := h.get(name)
	return ok
}

// set replaces all values of name: the first occurrence keeps its place
// and spelling, later ones are removed; absent names are appended.
func (h headerList) set(name, value string) headerList {
	out := h[:0:0]
	done := false
	for _, f := range h {
		if strings.EqualFold(string(f[0]), name) {
			if !done {
				out = append(out, [2][]byte{f[0], []byte(value)})
				done = true
			}
			continue
		}
		out = append(out, f)
	}
	if !done {
		out = append(out, [2][]byte{[]byte(name), []byte(value)})
	}
	return out
}

func (h headerList) del(name string) headerList {
	out := h[:0:0]
	for _, f := range h {
		if !strings.EqualFold(string(f[0]), name) {
			out = append(out, f)
		}
	}
	return out
}

// knownEncoding reports whether mitmproxy implements a content-encoding.
func knownEncoding(ce string) bool {
	switch strings.ToLower(ce) {
	case "none", "identity", "gzip", "deflate", "deflateraw", "br", "zstd":
		return true
	}
	return false
}

const maxDecoded = 1 << 30

// decodeContent undoes a content-encoding as mitmproxy's encoding.decode.
func decodeContent(b []byte, ce string) ([]byte, bool) {
	ce = strings.ToLower(ce)
	if !knownEncoding(ce) {
		return nil, false
	}
	if len(b) == 0 || ce == "none" || ce == "identity" {
		return b, true
	}
	var r io.Reader
	switch ce {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, false
		}
		r = zr
	case "deflate":
		if out, err := readAllLimited(func() (io.Reader, error) { return zlib.NewReader(bytes.NewReader(b)) }); err == nil {
			return out, true
		}
		r = flate.NewReader(bytes.NewReader(b))
	case "deflateraw":
		r = flate.NewReader(bytes.NewReader(b))
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, false
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecoded))
	if err != nil {
		return nil, false
	}
	return out, true
}

func readAllLimited(open func() (io.Reader, error)) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, maxDecoded))
}

// parseContentType is mitmproxy's parse_content_type.
func parseContentType(c string) (typ, sub string, params [][2]string, ok bool) {
	main, rest, hasParams := strings.Cut(c, ";")
	t, s, found := strings.Cut(main, "/")
	if !found {
		return "", "", nil, false
	}
	if hasParams {
		for _, clause := range strings.Split(rest, ";") {
			k, v, ok := strings.Cut(clause, "=")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			replaced := false
			for i := range params {
				if params[i][0] == k {
					params[i][1] = v
					replaced = true
				}
			}
			if !replaced {
				params = append(params, [2]string{k, v})
			}
		}
	}
	return strings.ToLower(t), strings.ToLower(s), params, true
}

func assembleContentType(typ, sub string, params [][2]string) string {
	if len(params) == 0 {
		return typ + "/" + sub
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p[0] + "=" + p[1]
	}
	return typ + "/" + sub + "; " + strings.Join(parts, "; ")
}

var (
	metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]+charset=['"]?([^'">]+)`)
	xmlEncodingRe = regexp.MustCompile(`(?i)<\?xml[^\?>]+encoding=['"]([^'"\?>]+)`)
	cssCharsetRe  = regexp.MustCompile(`(?i)^@charset "([^"]+)";`)
)

// inferContentEncoding is mitmproxy's infer_content_encoding: the charset
// to decode a body with, from a BOM, the Content-Type header and the body.
func inferContentEncoding(contentType string, content []byte) string {
	switch {
	case bytes.HasPrefix(content, []byte{0xff, 0xfe, 0, 0}), bytes.HasPrefix(content, []byte{0, 0, 0xfe, 0xff}):
		return "utf-32"
	case bytes.HasPrefix(content, []byte{0xef, 0xbb, 0xbf}):
		return "utf-8-sig"
	case bytes.HasPrefix(content, []byte{0xff, 0xfe}), bytes.HasPrefix(content, []byte{0xfe, 0xff}):
		return "utf-16"
	}
	enc := ""
	if _, _, params, ok := parseContentType(contentType); ok {
		for _, p := range params {
			if p[0] == "charset" {
				enc = p[1]
			}
		}
	}
	if enc == "" && strings.Contains(contentType, "json") {
		enc = "utf8"
	}
	if enc == "" && strings.Contains(contentType, "html") {
		if m := metaCharsetRe.FindSubmatch(content); m != nil {
			enc = asciiIgnore(m[1])
		} else {
			enc = "utf8"
		}
	}
	if enc == "" && strings.Contains(contentType, "xml") {
		if m := xmlEncodingRe.FindSubmatch(content); m != nil {
			enc = asciiIgnore(m[1])
		} else {
			enc = "utf8"
		}
	}
	if enc == "" && (strings.Contains(contentType, "javascript") || strings.Contains(contentType, "ecmascript")) {
		enc = "utf8"
	}
	if enc == "" && strings.Contains(contentType, "text/css") {
		if m := cssCharsetRe.FindSubmatch(content); m != nil {
			enc = asciiIgnore(m[1])
		} else {
			enc = "utf8"
		}
	}
	if enc == "" {
		enc = "latin-1"
	}
	if l := strings.ToLower(enc); l == "gb2312" || l == "gbk" {
		enc = "gb18030"
	}
	return enc
}

func asciiIgnore(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
		}
	}
	return string(out)
}

// codec names, normalized as Python's codec registry does.
func normCodec(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("-", "_", " ", "_").Replace(n)
	switch n {
	case "utf8", "utf_8", "u8", "utf", "cp65001":
		return "utf_8"
	case "utf_8_sig", "utf8_sig":
		return "utf_8_sig"
	case "latin_1", "latin1", "iso_8859_1", "iso8859_1", "8859", "cp819", "l1", "latin", "iso_ir_100", "csisolatin1", "iso_8859_1:1987":
		return "latin_1"
	case "ascii", "us_ascii", "646", "us", "ansi_x3.4_1968", "cp367", "csascii", "ibm367", "iso646_us", "iso_ir_6":
		return "ascii"
	case "utf_16", "utf16", "u16":
		return "utf_16"
	case "utf_16_le", "utf_16le":
		return "utf_16_le"
	case "utf_16_be", "utf_16be":
		return "utf_16_be"
	case "utf_32", "utf32", "u32":
		return "utf_32"
	case "utf_32_le", "utf_32le":
		return "utf_32_le"
	case "utf_32_be", "utf_32be":
		return "utf_32_be"
	}
	return n
}

func otherCodec(name string) encoding.Encoding {
	if e, err := ianaindex.IANA.Encoding(name); err == nil && e != nil {
		return e
	}
	if e, err := htmlindex.Get(name); err == nil && e != nil {
		return e
	}
	return nil
}

// decodeText decodes b with a Python codec name; ok is false where Python
// would raise (unknown codec or invalid data).
func decodeText(b []byte, enc string) (string, bool) {
	switch normCodec(enc) {
	case "utf_8":
		return string(b), utf8.Valid(b)
	case "utf_8_sig":
		b = bytes.TrimPrefix(b, []byte{0xef, 0xbb, 0xbf})
		return string(b), utf8.Valid(b)
	case "latin_1":
		return latin1(b), true
	case "ascii":
		for _, c := range b {
			if c >= 0x80 {
				return "", false
			}
		}
		return string(b), true
	case "utf_16":
		switch {
		case bytes.HasPrefix(b, []byte{0xff, 0xfe}):
			return decodeUTF16(b[2:], false)
		case bytes.HasPrefix(b, []byte{0xfe, 0xff}):
			return decodeUTF16(b[2:], true)
		}
		return decodeUTF16(b, false)
	case "utf_16_le":
		return decodeUTF16(b, false)
	case "utf_16_be":
		return decodeUTF16(b, true)
	case "utf_32":
		switch {
		case bytes.HasPrefix(b, []byte{0xff, 0xfe, 0, 0}):
			return decodeUTF32(b[4:], false)
		case bytes.HasPrefix(b, []byte{0, 0, 0xfe, 0xff}):
			return decodeUTF32(b[4:], true)
		}
		return decodeUTF32(b, false)
	case "utf_32_le":
		return decodeUTF32(b, false)
	case "utf_32_be":
		return decodeUTF32(b, true)
	}
	e := otherCodec(enc)
	if e == nil {
		return "", false
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

func decodeUTF16(b []byte, be bool) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if be {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	// Reject lone surrogates, as Python's strict decoder does.
	for i := 0; i < len(u); i++ {
		if utf16.IsSurrogate(rune(u[i])) {
			if u[i] >= 0xdc00 || i+1 >= len(u) || u[i+1] < 0xdc00 || u[i+1] > 0xdfff {
				return "", false
			}
			i++
		}
	}
	return string(utf16.Decode(u)), true
}

func decodeUTF32(b []byte, be bool) (string, bool) {
	if len(b)%4 != 0 {
		return "", false
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		var r uint32
		if be {
			r = uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		} else {
			r = uint32(b[i+3])<<24 | uint32(b[i+2])<<16 | uint32(b[i+1])<<8 | uint32(b[i])
		}
		if r > utf8.MaxRune || (r >= 0xd800 && r <= 0xdfff) {
			return "", false
		}
		sb.WriteRune(rune(r))
	}
	return sb.String(), true
}

// encodeText encodes UTF-8 text with a Python codec name; ok is false
// where Python would raise.
func encodeText(s string, enc string) ([]byte, bool) {
	switch normCodec(enc) {
	case "utf_8":
		return []byte(s), true
	case "utf_8_sig":
		return append([]byte{0xef, 0xbb, 0xbf}, s...), true
	case "latin_1", "ascii":
		limit := rune(0x100)
		if normCodec(enc) == "ascii" {
			limit = 0x80
		}
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r >= limit {
				return nil, false
			}
			out = append(out, byte(r))
		}
		return out, true
	case "utf_16", "utf_16_le", "utf_16_be":
		be := normCodec(enc) == "utf_16_be"
		var out []byte
		if normCodec(enc) == "utf_16" {
			out = []byte{0xff, 0xfe}
		}
		for _, u := range utf16.Encode([]rune(s)) {
			if be {
				out = append(out, byte(u>>8), byte(u))
			} else {
				out = append(out, byte(u), byte(u>>8))
			}
		}
		return out, true
	case "utf_32", "utf_32_le", "utf_32_be":
		be := normCodec(enc) == "utf_32_be"
		var out []byte
		if normCodec(enc) == "utf_32" {
			out = []byte{0xff, 0xfe, 0, 0}
		}
		for _, r := range s {
			if be {
				out = append(out, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
			} else {
				out = append(out, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
			}
		}
		return out, true
	}
	e := otherCodec(enc)
	if e == nil {
		return nil, false
	}
	out, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, false
	}
	return out, true
}

// getContent is Message.get_content(strict=False): the body with its
// content-encoding removed, or the raw body if that fails.
func getContent(raw []byte, h headerList) []byte {
	ce, _ := h.get("content-encoding")
	if ce == "" {
		return raw
	}
	if out, ok := decodeContent(raw, ce); ok {
		return out
	}
	return raw
}

// getText is Message.get_text(strict=False).
func getText(raw []byte, h headerList) string {
	content := getContent(raw, h)
	ct, _ := h.get("content-type")
	enc := inferContentEncoding(ct, content)
	if s, ok := decodeText(content, enc); ok {
		return s
	}
	return string(content) // surrogate-escaped UTF-8
}

// isMostlyBin is mitmproxy's strutils.is_mostly_bin.
func isMostlyBin(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if len(s) > 100 {
		s = s[:100]
	}
	n := 0
	for _, c := range s {
		if c < 9 || (c > 13 && c < 32) || c > 126 {
			n++
		}
	}
	return float64(n)/float64(len(s)) > 0.3
}

// parseQS is urllib.parse.parse_qsl(s, keep_blank_values=True,
// errors="surrogateescape").
func parseQS(s string) [][2]string {
	var out [][2]string
	for _, field := range strings.Split(s, "&") {
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		out = append(out, [2]string{unquotePlus(k), unquotePlus(v)})
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unquotePlus decodes %XX escapes and '+'. Decoded bytes that are not
// valid UTF-8 stay raw (surrogate escapes).
func unquotePlus(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

// headersReprLen is len(str(headers)) for mitmproxy's Headers:
// "Headers[(b'name', b'value'), ...]".
func headersReprLen(h headerList) int {
	n := len("Headers[]")
	for i, f := range h {
		if i > 0 {
			n += 2
		}
		n += len("(, )") + len(pyrepr.Bytes(f[0])) + len(pyrepr.Bytes(f[1]))
	}
	return n
}

func bytesOf(v any) []byte {
	b, _ := asBytes(v).([]byte)
	return b
}

func strOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}
