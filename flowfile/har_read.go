package flowfile

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/internal/statuscodes"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// harReader streams the entries of a HAR file and converts each to a flow
// state dict as mitmproxy's HAR importer (mitmproxy/io/har.py) does.
type harReader struct {
	dec   *json.Decoder
	newID func() string
	now   func() time.Time
	state int // 0: before entries, 1: in entries, 2: done
	entry int
}

func newHARReader(r io.Reader, newID func() string, now func() time.Time) *harReader {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &harReader{dec: dec, newID: newID, now: now}
}

func (h *harReader) fail(err error) error {
	e := -1
	if h.state == 1 {
		e = h.entry
	}
	return &HARError{Offset: h.dec.InputOffset(), Entry: e, Err: err}
}

// expectDelim reads the next token and checks it is the delimiter d.
func (h *harReader) expectDelim(d json.Delim) error {
	t, err := h.dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("expected %q, found %v", d, t)
	}
	return nil
}

// seekKey advances inside the current object to the value of key,
// skipping other members.
func (h *harReader) seekKey(key string) error {
	for h.dec.More() {
		t, err := h.dec.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		if k == key {
			return nil
		}
		var skip json.RawMessage
		if err := h.dec.Decode(&skip); err != nil {
			return err
		}
	}
	return fmt.Errorf("no %q member", key)
}

func (h *harReader) next() (*tnetstring.Dict, error) {
	switch h.state {
	case 0:
		err := h.expectDelim('{')
		if err == nil {
			err = h.seekKey("log")
		}
		if err == nil {
			err = h.expectDelim('{')
		}
		if err == nil {
			err = h.seekKey("entries")
		}
		if err == nil {
			err = h.expectDelim('[')
		}
		if err != nil {
			h.state = 2
			return nil, h.fail(harSyntax(err))
		}
		h.state = 1
	case 2:
		return nil, io.EOF
	}
	if !h.dec.More() {
		h.state = 2
		// The rest of the document is not needed; like mitmproxy (which
		// parses the whole file first) we do insist it is well-formed.
		if err := h.finish(); err != nil {
			return nil, h.fail(harSyntax(err))
		}
		return nil, io.EOF
	}
	var entry map[string]any
	if err := h.dec.Decode(&entry); err != nil {
		h.state = 2
		return nil, h.fail(harSyntax(err))
	}
	f, err := harEntryToFlow(entry, h.newID, h.now)
	if err != nil {
		h.state = 2
		return nil, h.fail(err)
	}
	h.entry++
	return f, nil
}

// finish consumes the rest of the document after the entries array.
func (h *harReader) finish() error {
	depth := 2 // inside the "log" object and the top-level object
	if err := h.expectDelim(']'); err != nil {
		return err
	}
	for depth > 0 {
		t, err := h.dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	if _, err := h.dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the end of the HAR document")
		}
		return err
	}
	return nil
}

func harSyntax(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// JSON access helpers that report what is missing, as Python's KeyError
// would.
func jget(m map[string]any, path ...string) (any, error) {
	var cur any = m
	for _, k := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", strings.Join(path, "."))
		}
		cur, ok = obj[k]
		if !ok {
			return nil, fmt.Errorf("missing %q", strings.Join(path, "."))
		}
	}
	return cur, nil
}

func jstr(m map[string]any, path ...string) (string, error) {
	v, err := jget(m, path...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string", strings.Join(path, "."))
	}
	return s, nil
}

func jnum(m map[string]any, path ...string) (json.Number, error) {
	v, err := jget(m, path...)
	if err != nil {
		return "", err
	}
	n, ok := v.(json.Number)
	if !ok {
		return "", fmt.Errorf("%s is not a number", strings.Join(path, "."))
	}
	return n, nil
}

// harHeaderList converts HAR headers: [{"name": n, "value": v}] or, as
// Slack writes them, [[n, v]].
func harHeaderList(v any) (headerList, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, errors.New("headers are not a list")
	}
	h := make(headerList, 0, len(l))
	for _, x := range l {
		var k, val any
		switch x := x.(type) {
		case map[string]any:
			var ok1, ok2 bool
			k, ok1 = x["name"]
			val, ok2 = x["value"]
			if !ok1 || !ok2 {
				return nil, errors.New("header without name or value")
			}
		case []any:
			if len(x) < 2 {
				return nil, errors.New("header list item with fewer than two items")
			}
			k, val = x[0], x[1]
		default:
			return nil, errors.New("invalid header")
		}
		ks, ok1 := k.(string)
		vs, ok2 := val.(string)
		if !ok1 || !ok2 {
			return nil, errors.New("header name or value is not a string")
		}
		h = append(h, [2][]byte{[]byte(ks), []byte(vs)})
	}
	return h, nil
}

// parseISOTime is datetime.fromisoformat(s.replace("Z", "+00:00"))
// .timestamp(); times without a zone are local, as in Python.
func parseISOTime(s string) (float64, error) {
	s = strings.ReplaceAll(s, "Z", "+00:00")
	layouts := []string{
		"2006-01-02T15:04:05.999999999-07:00",
		"2006-01-02T15:04:05-07:00",
		"2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02 15:04:05-07:00",
		"2006-01-02T15:04-07:00",
		"2006-01-02T15-07:00",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return float64(t.UnixMicro()) / 1e6, nil
		}
	}
	local := []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05",
		"2006-01-02T15:04",
		"2006-01-02",
	}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return float64(t.UnixMicro()) / 1e6, nil
		}
	}
	return 0, fmt.Errorf("invalid isoformat string: %q", s)
}

// httpVersionFromHAR maps a HAR httpVersion as mitmproxy does (note that
// "HTTP/2.0" is not among the recognised spellings there).
func httpVersionFromHAR(v string) []byte {
	switch v {
	case "http/2.0", "HTTP/2":
		return []byte("HTTP/2")
	case "HTTP/3":
		return []byte("HTTP/3")
	}
	return []byte("HTTP/1.1")
}

// parseRequestURL is mitmproxy's url.parse (on top of Python's
// urllib.parse.urlparse): scheme, host, port and path (with query and
// fragment).
func parseRequestURL(raw string) (scheme, host string, port int64, path string, err error) {
	u := cleanURL(raw)
	if i := strings.IndexByte(u, ':'); i > 0 && isSchemeStart(u[0]) && allSchemeChars(u[:i]) {
		scheme = strings.ToLower(u[:i])
		u = u[i+1:]
	}
	netloc := ""
	if strings.HasPrefix(u, "//") {
		rest := u[2:]
		end := len(rest)
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			end = i
		}
		netloc, u = rest[:end], rest[end:]
	}
	fragment, query := "", ""
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u, fragment = u[:i], u[i+1:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, query = u[:i], u[i+1:]
	}
	path = u
	if query != "" {
		path += "?" + query
	}
	if fragment != "" {
		path += "#" + fragment
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	// hostname and port, as ParseResult does.
	hostinfo := netloc
	if i := strings.LastIndexByte(hostinfo, '@'); i >= 0 {
		hostinfo = hostinfo[i+1:]
	}
	var portStr string
	if _, bracketed, ok := strings.Cut(hostinfo, "["); ok {
		var after string
		host, after, _ = strings.Cut(bracketed, "]")
		_, portStr, _ = strings.Cut(after, ":")
	} else {
		host, portStr, _ = strings.Cut(hostinfo, ":")
	}
	host = strings.ToLower(host)
	if host == "" {
		return "", "", 0, "", errors.New("no hostname given")
	}
	if portStr != "" {
		n, err := strconv.ParseInt(portStr, 10, 64)
		if err != nil || n < 0 || n > 65535 || strings.TrimLeft(portStr, "0123456789") != "" {
			return "", "", 0, "", fmt.Errorf("port could not be cast to integer value as %q", portStr)
		}
		port = n
	}
	if port == 0 {
		port = 80
		if scheme == "https" {
			port = 443
		}
	}
	return scheme, host, port, path, nil
}

func isSchemeStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allSchemeChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isSchemeStart(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// cleanURL applies urlsplit's input cleaning: strip leading C0 controls and
// spaces, drop tabs and newlines.
func cleanURL(s string) string {
	s = strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	return strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
}

// setText is Message.set_text followed by the Content-Length update of
// set_content: it encodes text with the charset the headers imply,
// falling back to UTF-8 (and saying so in Content-Type).
func setText(text string, h headerList) ([]byte, headerList) {
	ct, _ := h.get("content-type")
	enc := inferContentEncoding(ct, nil)
	b, ok := encodeText(text, enc)
	if !ok {
		typ, sub, params, ok := parseContentType(ct)
		if !ok {
			typ, sub, params = "text", "plain", nil
		}
		replaced := false
		for i := range params {
			if params[i][0] == "charset" {
				params[i][1] = "utf-8"
				replaced = true
			}
		}
		if !replaced {
			params = append(params, [2]string{"charset", "utf-8"})
		}
		h = h.set("content-type", assembleContentType(typ, sub, params))
		b = []byte(text)
	}
	return b, h
}

// fixContentLength sets Content-Length as set_content does.
func fixContentLength(content []byte, h headerList) headerList {
	if h.has("transfer-encoding") {
		return h
	}
	return h.set("content-length", fmt.Sprint(len(content)))
}

// harEntryToFlow is har.request_to_flow, producing the flow's state dict.
func harEntryToFlow(e map[string]any, newID func() string, now func() time.Time) (*tnetstring.Dict, error) {
	started, err := jstr(e, "startedDateTime")
	if err != nil {
		return nil, err
	}
	tsStart, err := parseISOTime(started)
	if err != nil {
		return nil, err
	}
	dur, err := jnum(e, "time")
	if err != nil {
		return nil, err
	}
	durF, err := dur.Float64()
	if err != nil {
		return nil, err
	}
	tsEnd := tsStart + durF/1000.0
	method, err := jstr(e, "request", "method")
	if err != nil {
		return nil, err
	}
	rawURL, err := jstr(e, "request", "url")
	if err != nil {
		return nil, err
	}
	reqHeadersJSON, err := jget(e, "request", "headers")
	if err != nil {
		return nil, err
	}
	reqHeaders, err := harHeaderList(reqHeadersJSON)
	if err != nil {
		return nil, err
	}
	reqVersion, err := jstr(e, "request", "httpVersion")
	if err != nil {
		return nil, err
	}
	respVersion, err := jstr(e, "response", "httpVersion")
	if err != nil {
		return nil, err
	}
	port := int64(443)
	if strings.HasPrefix(rawURL, "http://") {
		port = 80
	}
	serverIP, _ := e["serverIPAddress"].(string)

	requestText := ""
	if req, _ := e["request"].(map[string]any); req != nil {
		if pd, ok := req["postData"].(map[string]any); ok {
			requestText, _ = pd["text"].(string)
		}
	}

	// Request.make(method, url, text, headers), then request.decode().
	scheme, host, urlPort, path, err := parseRequestURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("request url: %w", err)
	}
	reqContent, reqHeaders := setText(requestText, reqHeaders)
	// set_content with a Content-Encoding either encodes (and decode()
	// later undoes it) or, for an unknown encoding, drops the header; the
	// body ends up as the text bytes without Content-Encoding.
	if reqHeaders.has("content-encoding") {
		reqHeaders = reqHeaders.del("content-encoding")
	}
	reqHeaders = fixContentLength(reqContent, reqHeaders)

	statusN, err := jnum(e, "response", "status")
	if err != nil {
		return nil, err
	}
	status, err := statusN.Int64()
	if err != nil {
		f, ferr := statusN.Float64()
		if ferr != nil {
			return nil, err
		}
		status = int64(f)
	}
	contentJSON, err := jget(e, "response", "content")
	if err != nil {
		return nil, err
	}
	contentObj, _ := contentJSON.(map[string]any)
	respHeadersJSON, err := jget(e, "response", "headers")
	if err != nil {
		return nil, err
	}
	respHeaders, err := harHeaderList(respHeadersJSON)
	if err != nil {
		return nil, err
	}
	var respContent []byte
	textEnc, _ := contentObj["encoding"].(string)
	switch text := contentObj["text"].(type) {
	case nil:
		respContent = []byte{}
		if textEnc == "base64" {
			respContent = []byte{}
		}
	case string:
		if textEnc == "base64" {
			respContent, err = decodeBase64(text)
			if err != nil {
				return nil, fmt.Errorf("response content: %w", err)
			}
		} else {
			enc := textEnc
			if enc == "" {
				ct, _ := respHeaders.get("content-type")
				enc = inferContentEncoding(ct, nil)
			}
			b, ok := encodeText(text, enc)
			if !ok {
				b = []byte(text)
			}
			respContent = b
		}
	default:
		return nil, errors.New("response content text is not a string")
	}
	// The content is encoded with the response's Content-Encoding and
	// decoded again by response.decode(), which drops the header and
	// updates Content-Length. mitmproxy keeps the header as it is when the
	// encoding is one it does not know.
	if ce, ok := respHeaders.get("content-encoding"); ok && knownEncoding(ce) {
		respHeaders = respHeaders.del("content-encoding")
		respHeaders = fixContentLength(respContent, respHeaders)
	}

	// Assemble the state dict.
	client := tnetstring.NewDict()
	client.Set("peername", []any{"127.0.0.1", int64(0)})
	client.Set("sockname", []any{"127.0.0.1", int64(0)})
	client.Set("id", newID())
	client.Set("transport_protocol", "tcp")
	client.Set("error", nil)
	client.Set("tls", false)
	client.Set("certificate_list", []any{})
	client.Set("alpn", nil)
	client.Set("alpn_offers", []any{})
	client.Set("cipher", nil)
	client.Set("cipher_list", []any{})
	client.Set("tls_version", nil)
	client.Set("sni", nil)
	client.Set("timestamp_start", tsStart)
	client.Set("timestamp_end", tsEnd)
	client.Set("timestamp_tls_setup", nil)
	client.Set("mitmcert", nil)
	client.Set("proxy_mode", "regular")

	server := tnetstring.NewDict()
	server.Set("peername", nil)
	server.Set("sockname", nil)
	server.Set("id", newID())
	server.Set("transport_protocol", "tcp")
	server.Set("error", nil)
	server.Set("tls", false)
	server.Set("certificate_list", []any{})
	server.Set("alpn", nil)
	server.Set("alpn_offers", []any{})
	server.Set("cipher", nil)
	server.Set("cipher_list", []any{})
	server.Set("tls_version", nil)
	server.Set("sni", nil)
	server.Set("timestamp_start", nil)
	server.Set("timestamp_end", nil)
	server.Set("timestamp_tls_setup", nil)
	if serverIP != "" {
		server.Set("address", []any{serverIP, port})
	} else {
		server.Set("address", nil)
	}
	server.Set("timestamp_tcp_setup", nil)
	server.Set("via", nil)

	req := tnetstring.NewDict()
	req.Set("http_version", httpVersionFromHAR(reqVersion))
	req.Set("headers", reqHeaders.state())
	req.Set("content", reqContent)
	req.Set("trailers", nil)
	req.Set("timestamp_start", tsStart)
	req.Set("timestamp_end", tsEnd)
	req.Set("host", host)
	req.Set("port", urlPort)
	req.Set("method", []byte(method))
	req.Set("scheme", []byte(scheme))
	req.Set("authority", []byte{})
	req.Set("path", []byte(path))

	resp := tnetstring.NewDict()
	resp.Set("http_version", httpVersionFromHAR(respVersion))
	resp.Set("headers", respHeaders.state())
	resp.Set("content", respContent)
	resp.Set("trailers", nil)
	resp.Set("timestamp_start", tsStart)
	resp.Set("timestamp_end", tsEnd)
	resp.Set("status_code", status)
	resp.Set("reason", []byte(harReason(status)))

	f := tnetstring.NewDict()
	f.Set("version", int64(FormatVersion))
	f.Set("type", "http")
	f.Set("id", newID())
	f.Set("error", nil)
	f.Set("client_conn", client)
	f.Set("server_conn", server)
	f.Set("intercepted", false)
	f.Set("is_replay", nil)
	f.Set("marked", "")
	f.Set("metadata", tnetstring.NewDict())
	f.Set("comment", "")
	f.Set("timestamp_created", float64(now().UnixMicro())/1e6)
	f.Set("backup", nil)
	f.Set("request", req)
	f.Set("response", resp)
	f.Set("websocket", nil)
	return f, nil
}

// decodeBase64 is Python's base64.b64decode: characters outside the
// alphabet are discarded; the padding must be right.
func decodeBase64(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			clean = append(clean, c)
		}
	}
	if i := strings.IndexByte(string(clean), '='); i >= 0 {
		// Data after padding is ignored by Python's binascii.
		end := i
		for end < len(clean) && clean[end] == '=' {
			end++
		}
		clean = clean[:end]
	}
	b, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil {
		// Missing padding: Python fails; be lenient and try without.
		if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(string(clean), "=")); err2 == nil {
			return b2, nil
		}
		return nil, err
	}
	return b, nil
}

// harReason is mitmproxy's status_codes.RESPONSES.get(status, "") (the
// table behind flow.ReasonPhrase), which its HAR importer uses as the
// reason: HAR files carry a statusText, but mitmproxy ignores it.
func harReason(status int64) string {
	if status < 0 || status > 999 {
		return "" // no code of the table, and int(status) could wrap
	}
	return statuscodes.Reason(int(status))
}
