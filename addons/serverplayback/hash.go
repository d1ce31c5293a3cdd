package serverplayback

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"mime"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/flow"
)

// hashConfig holds the options that decide which requests are the same.
type hashConfig struct {
	ignoreContent       bool
	ignoreHost          bool
	ignorePort          bool
	ignoreParams        []string
	ignorePayloadParams []string
	useHeaders          []string
}

// key is a request's replay key.
type key [sha256.Size]byte

// keyBuilder writes typed, length-prefixed fields into a hash, so that no
// two different field lists produce the same byte stream.
type keyBuilder struct {
	buf []byte
}

func (k *keyBuilder) str(s string) {
	k.buf = append(k.buf, 's')
	k.buf = binary.AppendUvarint(k.buf, uint64(len(s)))
	k.buf = append(k.buf, s...)
}

func (k *keyBuilder) bytes(b []byte) {
	if b == nil {
		k.buf = append(k.buf, 'N')
		return
	}
	k.buf = append(k.buf, 'b')
	k.buf = binary.AppendUvarint(k.buf, uint64(len(b)))
	k.buf = append(k.buf, b...)
}

func (k *keyBuilder) optStr(s string, ok bool) {
	if !ok {
		k.buf = append(k.buf, 'N')
		return
	}
	k.str(s)
}

func (k *keyBuilder) int(n int) {
	k.buf = append(k.buf, 'i')
	k.buf = strconv.AppendInt(k.buf, int64(n), 10)
	k.buf = append(k.buf, ';')
}

func (k *keyBuilder) tag(c byte) { k.buf = append(k.buf, c) }

// hashRequest is mitmproxy's ServerPlayback._hash: the scheme, method and
// path; the body (or its form fields less ignored ones); the host and port
// unless ignored; the query parameters less ignored ones; and the values of
// server_replay_use_headers. Field semantics follow Python's urllib.parse
// (urlparse, parse_qsl with keep_blank_values) and mitmproxy's Request
// properties.
func hashRequest(r *flow.Request, c *hashConfig) key {
	var k keyBuilder
	path, query := splitURLPath(r.Path)
	k.str(r.Scheme)
	k.str(r.Method)
	k.str(path)
	if !c.ignoreContent {
		done := false
		if len(c.ignorePayloadParams) > 0 {
			if form := multipartForm(r); len(form) > 0 {
				k.tag('M')
				for _, p := range form {
					if !slices.Contains(c.ignorePayloadParams, decodeReplace(p.name)) {
						k.bytes(p.name)
						k.bytes(p.value)
					}
				}
				done = true
			} else if form := urlencodedForm(r); len(form) > 0 {
				k.tag('U')
				for _, p := range form {
					if !slices.Contains(c.ignorePayloadParams, p.key) {
						k.str(p.key)
						k.str(p.value)
					}
				}
				done = true
			}
		}
		if !done {
			k.tag('C')
			k.bytes(r.RawContent)
		}
	}
	if !c.ignoreHost {
		k.tag('H')
		k.str(r.PrettyHost())
	}
	if !c.ignorePort {
		k.tag('P')
		k.int(r.Port)
	}
	k.tag('Q')
	for _, p := range parseQSL(query) {
		if !slices.Contains(c.ignoreParams, p.key) {
			k.str(p.key)
			k.str(p.value)
		}
	}
	if len(c.useHeaders) > 0 {
		k.tag('V')
		for _, name := range c.useHeaders {
			k.str(name)
			v, ok := r.Headers.Lookup(name)
			k.optStr(v, ok)
		}
	}
	return sha256.Sum256(k.buf)
}

// splitURLPath splits a request path as urlparse splits the URL built from
// it: the fragment and the query go, and so do ";params" in the last path
// segment.
func splitURLPath(p string) (path, query string) {
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p = p[:i]
	}
	path, query, _ = strings.Cut(p, "?")
	last := strings.LastIndexByte(path, '/')
	if i := strings.IndexByte(path[last+1:], ';'); i >= 0 {
		path = path[:last+1+i]
	}
	return path, query
}

type pair struct{ key, value string }

// parseQSL is Python's urllib.parse.parse_qsl(qs, keep_blank_values=True):
// "&"-separated fields, "+" as space, %-escapes decoded as UTF-8 with
// invalid sequences replaced.
func parseQSL(qs string) []pair {
	if qs == "" {
		return nil
	}
	var out []pair
	for _, field := range strings.Split(qs, "&") {
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		out = append(out, pair{unquotePlus(k), unquotePlus(v)})
	}
	return out
}

// unquotePlus is Python's urllib.parse.unquote_plus with errors="replace":
// "+" becomes a space, and runs of ASCII text have their %-escapes decoded
// as UTF-8, invalid bytes replaced; other characters are kept as they are.
func unquotePlus(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var out strings.Builder
	var run []byte
	flush := func() {
		out.WriteString(decodeReplace(run))
		run = run[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			flush()
			out.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			run = append(run, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			run = append(run, c)
		}
	}
	flush()
	return out.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// decodeReplace decodes UTF-8, replacing each invalid byte with U+FFFD as
// Python's decode(errors="replace") does.
func decodeReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// urlencodedForm is mitmproxy's Request.urlencoded_form: the fields of an
// application/x-www-form-urlencoded body.
func urlencodedForm(r *flow.Request) []pair {
	if !strings.Contains(strings.ToLower(r.Headers.Get("content-type")), "application/x-www-form-urlencoded") {
		return nil
	}
	body := r.ContentOrRaw()
	if body == nil {
		return nil
	}
	return parseQSL(decodeReplace(body))
}

type formPart struct{ name, value []byte }

// multipartForm is mitmproxy's Request.multipart_form: the name and value
// of each part of a multipart/form-data body.
func multipartForm(r *flow.Request) []formPart {
	ct := r.Headers.Get("content-type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/form-data") {
		return nil
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil
	}
	body := r.ContentOrRaw()
	if body == nil {
		return nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []formPart
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		name := p.FormName()
		var value bytes.Buffer
		if _, err := value.ReadFrom(p); err != nil {
			break
		}
		if name != "" {
			out = append(out, formPart{[]byte(name), value.Bytes()})
		}
	}
	return out
}
