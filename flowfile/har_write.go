package flowfile

import (
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/mitmgo/mitmgo/internal/cookies"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// HARCreator is the "creator" object of an exported HAR file.
type HARCreator struct {
	Name    string
	Version string
	Comment string
}

// DefaultHARCreator names this program in exported HAR files.
var DefaultHARCreator = HARCreator{Name: Product, Version: "dev"}

// HARWriter writes flows as a HAR 1.2 file the way mitmproxy's savehar
// addon does, one entry at a time: the output is mitmproxy's
// json.dumps(har, indent=4), byte for byte. Only HTTP flows become entries;
// others are skipped. Close must be called to finish the file.
type HARWriter struct {
	// Creator is written into the file; set it before the first Write.
	Creator HARCreator
	// Written counts the entries written; Skipped the non-HTTP flows
	// that were left out.
	Written, Skipped int

	w       io.Writer
	started bool
	seen    map[string]bool // server connections seen, by id
	err     error
	closed  bool
	jw      jsonWriter
}

// NewHARWriter returns a HARWriter writing to w.
func NewHARWriter(w io.Writer) *HARWriter {
	return &HARWriter{Creator: DefaultHARCreator, w: w, seen: map[string]bool{}, jw: jsonWriter{indent: 4}}
}

// WriteHAR writes flows to w as one HAR file.
func WriteHAR(w io.Writer, flows []*tnetstring.Dict) error {
	hw := NewHARWriter(w)
	for _, f := range flows {
		if err := hw.Write(f); err != nil {
			return err
		}
	}
	return hw.Close()
}

func (h *HARWriter) header() []byte {
	creator := jobj{{"name", h.Creator.Name}, {"version", h.Creator.Version}, {"comment", h.Creator.Comment}}
	jw := jsonWriter{indent: 4}
	jw.buf = append(jw.buf, "{\n    \"log\": {\n        \"version\": \"1.2\",\n        \"creator\": "...)
	jw.value(creator, 2)
	jw.buf = append(jw.buf, ",\n        \"pages\": [],\n        \"entries\": "...)
	return jw.buf
}

func (h *HARWriter) write(b []byte) error {
	if h.err != nil {
		return h.err
	}
	if _, err := h.w.Write(b); err != nil {
		h.err = err
	}
	return h.err
}

// Write adds one flow (a version 21 state dict) to the file.
func (h *HARWriter) Write(f *tnetstring.Dict) error {
	if h.closed {
		return errors.New("flowfile: write to a closed HARWriter")
	}
	if h.err != nil {
		return h.err
	}
	if f.Str("type") != "http" || f.Dict("request") == nil {
		h.Skipped++
		return nil
	}
	entry := harEntry(f, h.seen)
	h.jw.buf = h.jw.buf[:0]
	if !h.started {
		h.started = true
		h.jw.buf = append(h.jw.buf, h.header()...)
		h.jw.buf = append(h.jw.buf, '[')
	} else {
		h.jw.buf = append(h.jw.buf, ',')
	}
	h.jw.newline(3)
	h.jw.value(entry, 3)
	h.Written++
	return h.write(h.jw.buf)
}

// Close finishes the file. It does not close the underlying writer.
func (h *HARWriter) Close() error {
	if h.closed {
		return h.err
	}
	h.closed = true
	var b []byte
	if !h.started {
		b = append(h.header(), "[]"...)
	} else {
		b = []byte("\n        ]")
	}
	b = append(b, "\n    }\n}"...)
	return h.write(b)
}

func numField(d *tnetstring.Dict, key string) (pyNum, bool) {
	v, _ := d.Get(key)
	return numOf(v)
}

// harEntry is savehar.flow_entry.
func harEntry(f *tnetstring.Dict, seen map[string]bool) jobj {
	req, resp, sc := f.Dict("request"), f.Dict("response"), f.Dict("server_conn")
	minus1 := pyFloat(-1)
	connect, ssl := minus1, minus1
	sid := sc.Str("id")
	tcp, hasTCP := numField(sc, "timestamp_tcp_setup")
	switch {
	case seen[sid]:
	case hasTCP && tcp.truthy():
		if start, ok := numField(sc, "timestamp_start"); ok {
			connect = tcp.sub(start).mul(1000)
		}
		if tls, ok := numField(sc, "timestamp_tls_setup"); ok && tls.truthy() {
			ssl = tls.sub(tcp).mul(1000)
		}
		seen[sid] = true
	}
	reqStart, _ := numField(req, "timestamp_start")
	reqEnd, hasReqEnd := numField(req, "timestamp_end")
	hasReqEnd = hasReqEnd && reqEnd.truthy()
	send, wait, receive := pyInt(0), pyInt(0), pyInt(0)
	if hasReqEnd {
		send = reqEnd.sub(reqStart).mul(1000)
	}
	if resp != nil {
		respStart, _ := numField(resp, "timestamp_start")
		if hasReqEnd {
			wait = respStart.sub(reqEnd).mul(1000)
		}
		if respEnd, ok := numField(resp, "timestamp_end"); ok && respEnd.truthy() {
			receive = respEnd.sub(respStart).mul(1000)
		}
	}
	timings := jobj{{"connect", connect}, {"ssl", ssl}, {"send", send}, {"receive", receive}, {"wait", wait}}
	total := pyInt(0)
	for _, kv := range timings {
		if n := kv.v.(pyNum); !n.less(pyInt(0)) {
			total = total.add(n)
		}
	}

	var response jobj
	if resp != nil {
		rh := headersFromState(resp.List("headers"))
		raw := resp.Bytes("content")
		hasRaw := !resp.IsNull("content") && resp.Has("content")
		content := getContent(raw, rh)
		mime, _ := rh.get("Content-Type")
		location, _ := rh.get("Location")
		cobj := jobj{{"size", len(raw)}, {"compression", len(content) - len(raw)}, {"mimeType", mime}}
		if len(content) > 0 && isMostlyBin(content) {
			cobj.add("text", base64.StdEncoding.EncodeToString(content))
			cobj.add("encoding", "base64")
		} else if hasRaw {
			cobj.add("text", getText(raw, rh))
		} else {
			cobj.add("text", "")
		}
		status, _ := numField(resp, "status_code")
		response = jobj{
			{"status", status},
			{"statusText", latin1(resp.Bytes("reason"))},
			{"httpVersion", resp.Str("http_version")},
			{"cookies", responseCookies(rh)},
			{"headers", harHeaders(rh)},
			{"content", cobj},
			{"redirectURL", location},
			{"headersSize", headersReprLen(rh)},
			{"bodySize", len(raw)},
		}
	} else {
		var errMsg any
		if e := f.Dict("error"); e != nil {
			errMsg = e.Str("msg")
		}
		response = jobj{
			{"status", 0}, {"statusText", ""}, {"httpVersion", ""}, {"headers", []any{}},
			{"cookies", []any{}}, {"content", jobj{}}, {"redirectURL", ""}, {"headersSize", -1},
			{"bodySize", -1}, {"_transferSize", 0}, {"_error", errMsg},
		}
	}

	qh := headersFromState(req.List("headers"))
	method := strings.ToUpper(req.Str("method"))
	u := prettyURL(req, qh)
	if method == "CONNECT" {
		u = "https://" + u + "/"
	}
	var reqCookies []any
	for _, hv := range qh.getAll("Cookie") {
		for _, p := range cookies.ParseCookieHeader(hv) {
			reqCookies = append(reqCookies, jobj{{"name", p.Name}, {"value", p.Value}})
		}
	}
	var query []any
	for _, p := range parseQS(urlQuery(requestURL(req))) {
		query = append(query, jobj{{"name", p[0]}, {"value", p[1]}})
	}
	rawReq := req.Bytes("content")
	reqObj := jobj{
		{"method", method},
		{"url", u},
		{"httpVersion", req.Str("http_version")},
		{"cookies", orEmpty(reqCookies)},
		{"headers", harHeaders(qh)},
		{"queryString", orEmpty(query)},
		{"headersSize", headersReprLen(qh)},
		{"bodySize", len(rawReq)},
	}
	if method == "POST" || method == "PUT" || method == "PATCH" {
		ct, _ := qh.get("Content-Type")
		var text any
		var params []any
		if !req.IsNull("content") && req.Has("content") {
			t := getText(rawReq, qh)
			text = t
			if strings.Contains(strings.ToLower(ct), "application/x-www-form-urlencoded") {
				for _, p := range parseQS(t) {
					params = append(params, jobj{{"name", p[0]}, {"value", p[1]}})
				}
			}
		}
		reqObj.add("postData", jobj{{"mimeType", ct}, {"text", text}, {"params", orEmpty(params)}})
	}
	entry := jobj{
		{"startedDateTime", isoTime(reqStart.float())},
		{"time", total},
		{"request", reqObj},
		{"response", response},
		{"cache", jobj{}},
		{"timings", timings},
	}
	if peer, ok := get(sc, "peername").([]any); ok && len(peer) > 0 {
		entry.add("serverIPAddress", strOf(peer[0]))
	}
	if ws := f.Dict("websocket"); ws != nil {
		msgs := []any{}
		for _, m := range ws.List("messages") {
			l, ok := m.([]any)
			if !ok || len(l) < 4 {
				continue
			}
			typ, _ := tnetstring.AsInt(l[0])
			fromClient, _ := l[1].(bool)
			content := bytesOf(l[2])
			var data string
			if typ == 1 {
				data = string(content)
			} else {
				data = base64.StdEncoding.EncodeToString(content)
			}
			dir := "receive"
			if fromClient {
				dir = "send"
			}
			ts, _ := numOf(l[3])
			msgs = append(msgs, jobj{{"type", dir}, {"time", ts}, {"opcode", typ}, {"data", data}})
		}
		entry.add("_resourceType", "websocket")
		entry.add("_webSocketMessages", msgs)
	}
	return entry
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func harHeaders(h headerList) []any {
	out := make([]any, len(h))
	for i, f := range h {
		out[i] = jobj{{"name", string(f[0])}, {"value", string(f[1])}}
	}
	return out
}

func responseCookies(h headerList) []any {
	out := []any{}
	for _, hv := range h.getAll("set-cookie") {
		for _, c := range cookies.ParseSetCookieHeader(hv) {
			// attrs.get(name, default) returns the last value, which is
			// None for a flag-style attribute.
			attrOr := func(name string, def any) any {
				a, ok := c.Attr(name)
				switch {
				case !ok:
					return def
				case a.Flag:
					return nil
				}
				return a.Value
			}
			var value any
			if !c.Flag {
				value = c.Value
			}
			pathV, domainV := attrOr("path", "/"), attrOr("domain", "")
			_, httpOnly := c.Attr("httpOnly")
			_, secure := c.Attr("secure")
			cookie := jobj{{"name", c.Name}, {"value", value}, {"path", pathV}, {"domain", domainV}, {"httpOnly", httpOnly}, {"secure", secure}}
			if _, ok := c.Attr("sameSite"); ok {
				cookie.add("sameSite", attrOr("sameSite", nil))
			}
			out = append(out, cookie)
		}
	}
	return out
}

// isoTime is datetime.fromtimestamp(ts, timezone.utc).isoformat().
func isoTime(ts float64) string {
	sec, frac := splitTimestamp(ts)
	t := time.Unix(sec, 0).UTC()
	s := t.Format("2006-01-02T15:04:05")
	if frac != 0 {
		s += "." + leftPad(strconv.FormatInt(frac, 10), 6)
	}
	return s + "+00:00"
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// splitTimestamp rounds a timestamp to microseconds, half to even, as
// CPython's datetime does.
func splitTimestamp(ts float64) (sec, usec int64) {
	ip, fp := math.Modf(ts)
	us := math.RoundToEven(fp * 1e6)
	if us >= 1e6 {
		us -= 1e6
		ip++
	} else if us < 0 {
		us += 1e6
		ip--
	}
	return int64(ip), int64(us)
}

// Request URL helpers, as mitmproxy's Request properties.

func defaultPort(scheme string) int64 {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

func hostport(scheme, host string, port int64) string {
	if defaultPort(scheme) == port {
		return host
	}
	return host + ":" + strconv.FormatInt(port, 10)
}

func unparseURL(scheme, host string, port int64, path string) string {
	if path == "*" {
		path = ""
	}
	return scheme + "://" + hostport(scheme, host, port) + path
}

func requestURL(req *tnetstring.Dict) string {
	if strings.ToUpper(req.Str("method")) == "CONNECT" {
		return req.Str("host") + ":" + strconv.FormatInt(req.Int("port"), 10)
	}
	return unparseURL(req.Str("scheme"), req.Str("host"), req.Int("port"), req.Str("path"))
}

func authorityStr(req *tnetstring.Dict) string {
	a := req.Bytes("authority")
	if u, err := idna.ToUnicode(string(a)); err == nil && strings.Contains(strings.ToLower(string(a)), "xn--") {
		return u
	}
	return string(a)
}

func prettyURL(req *tnetstring.Dict, h headerList) string {
	if strings.ToUpper(req.Str("method")) == "CONNECT" {
		return authorityStr(req)
	}
	var hostHeader string
	hv := req.Str("http_version")
	if hv == "HTTP/2.0" || hv == "HTTP/3" {
		hostHeader = authorityStr(req)
		if hostHeader == "" {
			hostHeader, _ = h.get("Host")
		}
	} else {
		hostHeader, _ = h.get("Host")
	}
	if hostHeader == "" {
		return requestURL(req)
	}
	host, port := parseAuthority(hostHeader)
	scheme := req.Str("scheme")
	if port < 0 {
		port = defaultPort(scheme)
		if port == 0 {
			port = 443
		}
	}
	return unparseURL(scheme, host, port, req.Str("path"))
}

var authorityRe = regexp.MustCompile(`^([^:]+|\[.+\])(?::(\d+))?$`)

// parseAuthority is url.parse_authority(authority, check=False); port is
// -1 when absent.
func parseAuthority(a string) (string, int64) {
	m := authorityRe.FindStringSubmatch(a)
	if m == nil {
		return a, -1
	}
	host := m[1]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if !validHost(host) {
		return a, -1
	}
	if m[2] == "" {
		return host, -1
	}
	port, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || port < 0 || port > 65535 {
		return a, -1
	}
	return host, port
}

var labelRe = regexp.MustCompile(`(?i)^[a-z\d\-_]{1,63}$`)

func validHost(host string) bool {
	h, err := idna.ToASCII(host)
	if err != nil {
		return false
	}
	if len(h) > 255 {
		return false
	}
	h = strings.TrimSuffix(h, ".")
	ok := true
	for _, l := range strings.Split(h, ".") {
		if !labelRe.MatchString(l) {
			ok = false
			break
		}
	}
	if ok {
		return true
	}
	_, err = netip.ParseAddr(h)
	return err == nil
}

// urlQuery is urllib.parse.urlparse(url).query.
func urlQuery(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[i+1:]
	}
	return ""
}
