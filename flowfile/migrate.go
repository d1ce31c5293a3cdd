package flowfile

import (
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// The migration chain follows mitmproxy's mitmproxy/io/compat.py: each step
// turns a state dict of one flow format version into the next, until
// FormatVersion is reached. Steps that Python would crash on (a missing key,
// a None where a dict was expected) are lenient here and use defaults; the
// final canonicalization (canon.go) fills in whatever is still missing.

// migrator holds the state that mitmproxy keeps across the flows of one
// read: connection ids invented by the 4->5 step, and WebSocket handshake
// flows waiting for their separate WebSocket flow (11->12).
type migrator struct {
	newID      func() string
	clientIDs  map[string]string
	serverIDs  map[string]string
	handshakes map[string]*tnetstring.Dict
}

func newMigrator(newID func() string) *migrator {
	return &migrator{newID: newID}
}

// version is a parsed flow format version: an int (since 4) or the first
// two items of a tuple (before).
type version struct {
	tuple        bool
	major, minor int64
	n            int64
	raw          any
}

func (v version) String() string {
	if v.tuple {
		return fmt.Sprintf("(%d, %d)", v.major, v.minor)
	}
	return fmt.Sprint(v.n)
}

func parseVersion(raw any) (version, error) {
	switch x := raw.(type) {
	case int64:
		return version{n: x, raw: raw}, nil
	case []any:
		v := version{tuple: true, raw: raw}
		if len(x) < 2 {
			return v, &VersionError{Version: pyRepr(x)}
		}
		a, ok1 := x[0].(int64)
		b, ok2 := x[1].(int64)
		if !ok1 || !ok2 {
			return v, &VersionError{Version: pyRepr(x[:2])}
		}
		v.major, v.minor = a, b
		return v, nil
	case *big.Int:
		return version{raw: raw}, &VersionError{Version: x.String(), Newer: x.Sign() > 0}
	case nil:
		return version{}, errMissingVersion
	}
	return version{}, fmt.Errorf("invalid flow format version %s", pyRepr(raw))
}

var errMissingVersion = fmt.Errorf("the flow has no version")

func tupleVersion(major, minor int64) []any { return []any{major, minor} }

// migrate upgrades d to FormatVersion. It may return a different dict than
// it was given (the 11->12 WebSocket merge does).
func (m *migrator) migrate(d *tnetstring.Dict) (*tnetstring.Dict, error) {
	for step := 0; ; step++ {
		if step > 100 {
			return nil, fmt.Errorf("flow format migration does not terminate")
		}
		v, err := parseVersion(get(d, "version"))
		if err != nil {
			return nil, err
		}
		if !v.tuple && v.n == FormatVersion {
			return d, nil
		}
		if v.tuple {
			switch {
			case v.major == 0 && v.minor >= 11 && v.minor <= 19:
				d = m.tupleStep(d, v.minor)
			case v.major == 1 && v.minor == 0:
				convert100to200(d)
			case v.major == 2 && v.minor == 0:
				convert200to300(d)
			case v.major == 3 && v.minor == 0:
				d.Set("version", int64(4))
			default:
				return nil, &VersionError{Version: v.String()}
			}
			continue
		}
		if v.n < 4 || v.n > FormatVersion {
			return nil, &VersionError{Version: v.String(), Newer: v.n > FormatVersion}
		}
		d = m.intStep(d, v.n)
	}
}

func (m *migrator) tupleStep(d *tnetstring.Dict, minor int64) *tnetstring.Dict {
	req, resp := dict(d, "request"), dict(d, "response")
	sc := dict(d, "server_conn")
	switch minor {
	case 11, 12, 14:
		// version bumps only
	case 13:
		if req != nil {
			rename(req, "form_in", "first_line_format")
			req.Set("http_version", httpVersionFromTuple(get(req, "httpversion")))
			req.Delete("httpversion")
		}
		if resp != nil {
			resp.Set("http_version", httpVersionFromTuple(get(resp, "httpversion")))
			resp.Delete("httpversion")
			rename(resp, "code", "status_code")
			rename(resp, "content", "body")
		}
		sc.Delete("state")
		sc.Set("via", nil)
	case 15:
		for _, msg := range []*tnetstring.Dict{req, resp} {
			if msg.Has("body") {
				rename(msg, "body", "content")
			}
		}
		if resp.Has("msg") {
			rename(resp, "msg", "reason")
		}
		req.Delete("form_out")
	case 16:
		sc.Set("peer_address", nil)
	case 17:
		convertUnicode(d)
		v, _ := sc.Pop("peer_address")
		sc.Set("ip_address", v)
		d.Set("marked", false)
	case 18:
		convertUnicode(d)
		req.Delete("stickyauth")
		req.Delete("stickycookie")
		cc := dict(d, "client_conn")
		cc.Set("sni", nil)
		cc.Set("alpn_proto_negotiated", nil)
		cc.Set("cipher_name", nil)
		cc.Set("tls_version", nil)
		sc.Set("alpn_proto_negotiated", nil)
		if via := dict(sc, "via"); truthy(via) {
			via.Set("alpn_proto_negotiated", nil)
		}
		d.Set("mode", "regular")
		d.Set("metadata", tnetstring.NewDict())
	case 19:
		convertUnicode(d)
		d.Set("version", []any{int64(1), int64(0), int64(0)})
		return d
	}
	d.Set("version", tupleVersion(0, minor+1))
	return d
}

func httpVersionFromTuple(v any) []byte {
	parts := []string{}
	if l, ok := v.([]any); ok {
		for _, x := range l {
			parts = append(parts, pyRepr(x))
		}
	}
	return []byte("HTTP/" + strings.Join(parts, "."))
}

// convertUnicode is compat.convert_unicode: dict keys become str throughout
// (recursing into dict values, not into lists), and a few values too.
func convertUnicode(d *tnetstring.Dict) {
	convertKeys(d)
	if v, ok := d.Get("type"); ok {
		d.Set("type", asStr(v))
	}
	if v, ok := d.Get("id"); ok {
		d.Set("id", asStr(v))
	}
	if req := dict(d, "request"); truthy(req) && req.Has("first_line_format") {
		req.Set("first_line_format", asStr(get(req, "first_line_format")))
	}
	if e := dict(d, "error"); truthy(e) && e.Has("msg") {
		e.Set("msg", asStr(get(e, "msg")))
	}
}

func convertKeys(d *tnetstring.Dict) {
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.BytesKey {
			e.BytesKey = false
			if !utf8.ValidString(e.Key) {
				e.Key = backslashReplace([]byte(e.Key))
			}
		}
		if sub, ok := e.Value.(*tnetstring.Dict); ok && sub != nil {
			convertKeys(sub)
		}
	}
}

func flattenAddress(conn *tnetstring.Dict, key string) {
	if a := dict(conn, key); a != nil {
		conn.Set(key, get(a, "address"))
	}
}

func convert100to200(d *tnetstring.Dict) {
	d.Set("version", []any{int64(2), int64(0), int64(0)})
	cc, sc := dict(d, "client_conn"), dict(d, "server_conn")
	flattenAddress(cc, "address")
	flattenAddress(sc, "address")
	flattenAddress(sc, "source_address")
	if truthy(get(sc, "ip_address")) {
		flattenAddress(sc, "ip_address")
	}
	if via := dict(sc, "via"); truthy(via) {
		flattenAddress(via, "address")
		flattenAddress(via, "source_address")
		if truthy(get(via, "ip_address")) {
			flattenAddress(via, "ip_address")
		}
	}
}

func convert200to300(d *tnetstring.Dict) {
	d.Set("version", []any{int64(3), int64(0), int64(0)})
	dict(d, "client_conn").Set("mitmcert", nil)
	sc := dict(d, "server_conn")
	sc.Set("tls_version", nil)
	if via := dict(sc, "via"); truthy(via) {
		via.Set("tls_version", nil)
	}
}

// connKey is the (timestamp_start, *address) key of compat.convert_4_5.
func connKey(conn *tnetstring.Dict, addrKey string) string {
	var sb strings.Builder
	sb.WriteString(pyRepr(get(conn, "timestamp_start")))
	if l, ok := get(conn, addrKey).([]any); ok {
		for _, x := range l {
			sb.WriteString("\x00")
			sb.WriteString(pyRepr(x))
		}
	}
	return sb.String()
}

func (m *migrator) intStep(d *tnetstring.Dict, v int64) *tnetstring.Dict {
	cc, sc := dict(d, "client_conn"), dict(d, "server_conn")
	req, resp := dict(d, "request"), dict(d, "response")
	switch v {
	case 4:
		if m.clientIDs == nil {
			m.clientIDs, m.serverIDs = map[string]string{}, map[string]string{}
		}
		setdefault := func(ids map[string]string, key string) string {
			if id, ok := ids[key]; ok {
				return id
			}
			id := m.newID()
			ids[key] = id
			return id
		}
		cc.Set("id", setdefault(m.clientIDs, connKey(cc, "address")))
		sc.Set("id", setdefault(m.serverIDs, connKey(sc, "source_address")))
		if via := dict(sc, "via"); truthy(via) {
			via.Set("id", setdefault(m.serverIDs, connKey(via, "source_address")))
		}
	case 5:
		for _, c := range []*tnetstring.Dict{cc, sc, dict(sc, "via")} {
			if c == nil || (c != cc && c != sc && !truthy(c)) {
				continue
			}
			rename(c, "ssl_established", "tls_established")
			rename(c, "timestamp_ssl_setup", "timestamp_tls_setup")
		}
	case 6:
		cc.Set("tls_extensions", nil)
	case 7:
		if req != nil {
			req.Set("trailers", nil)
		}
		if resp != nil {
			resp.Set("trailers", nil)
		}
	case 8:
		isRequestReplay, isResponseReplay := false, false
		if d.Has("request") {
			req.Delete("first_line_format")
			req.Set("authority", []byte{})
			r, _ := req.Pop("is_replay")
			isRequestReplay = truthy(r)
		}
		if resp != nil {
			r, _ := resp.Pop("is_replay")
			isResponseReplay = truthy(r)
		}
		switch {
		case isRequestReplay:
			d.Set("is_replay", "request")
		case isResponseReplay:
			d.Set("is_replay", "response")
		default:
			d.Set("is_replay", nil)
		}
	case 9:
		conv := func(c *tnetstring.Dict) {
			c.Set("state", int64(0))
			c.Set("error", nil)
			c.Set("tls", get(c, "tls_established"))
			if alpn := get(c, "alpn_proto_negotiated"); truthy(alpn) {
				c.Set("alpn_offers", []any{alpn})
			} else {
				c.Set("alpn_offers", nil)
			}
			if cipher := get(c, "cipher_name"); truthy(cipher) {
				c.Set("cipher_list", []any{cipher})
			} else {
				c.Set("cipher_list", nil)
			}
		}
		certList := func(c *tnetstring.Dict, key string) {
			crt, _ := c.Pop(key)
			if truthy(crt) {
				c.Set("certificate_list", []any{crt})
			} else {
				c.Set("certificate_list", []any{})
			}
		}
		convServer := func(c *tnetstring.Dict) {
			certList(c, "cert")
			c.Set("cipher_name", nil)
			c.Set("via2", nil)
			conv(c)
		}
		if cc != nil {
			cc.Set("sockname", []any{"", int64(0)})
			certList(cc, "clientcert")
			conv(cc)
		}
		if sc != nil {
			convServer(sc)
			if via := dict(sc, "via"); truthy(via) {
				convServer(via)
			}
		}
	case 10:
		conv := func(c *tnetstring.Dict) {
			if c == nil {
				return
			}
			if b, ok := get(c, "sni").([]byte); ok {
				c.Set("sni", backslashReplaceASCII(b))
			}
			alpn, _ := c.Pop("alpn_proto_negotiated")
			c.Set("alpn", alpn)
			if !truthy(get(c, "alpn_offers")) {
				c.Set("alpn_offers", []any{})
			}
			if !truthy(get(c, "cipher_list")) {
				c.Set("cipher_list", []any{})
			}
		}
		conv(cc)
		conv(sc)
		if via := dict(sc, "via"); truthy(via) {
			conv(via)
		}
	case 11:
		return m.convert11to12(d)
	case 12:
		if truthy(get(d, "marked")) {
			d.Set("marked", ":default:")
		} else {
			d.Set("marked", "")
		}
	case 13:
		d.Set("comment", "")
		// mitmproxy issue #4576: responses without a start timestamp.
		if truthy(resp) && get(resp, "timestamp_start") == nil {
			end := get(req, "timestamp_end")
			resp.Set("timestamp_start", end)
			switch e := end.(type) {
			case int64:
				resp.Set("timestamp_end", e+1)
			case float64:
				resp.Set("timestamp_end", e+1)
			default:
				resp.Set("timestamp_end", end)
			}
		}
	case 14:
		if ws := dict(d, "websocket"); truthy(ws) {
			msgs, _ := get(ws, "messages").([]any)
			out := make([]any, len(msgs))
			for i, msg := range msgs {
				if l, ok := msg.([]any); ok {
					out[i] = append(append([]any{}, l...), false)
				} else {
					out[i] = msg
				}
			}
			ws.Set("messages", out)
		}
	case 15:
		src := cc
		if d.Has("request") {
			src = req
		}
		d.Set("timestamp_created", get(src, "timestamp_start"))
	case 16:
		d.Delete("mode")
	case 17:
		cc.Set("proxy_mode", "regular")
	case 18:
		if cc != nil {
			addr, _ := cc.Pop("address")
			cc.Set("peername", addr)
			if get(cc, "timestamp_start") == nil {
				cc.Set("timestamp_start", 0.0)
			}
			cc.Delete("tls_extensions")
		}
		if sc != nil {
			rename(sc, "ip_address", "peername")
			rename(sc, "source_address", "sockname")
			rename(sc, "via2", "via")
		}
		for _, c := range []*tnetstring.Dict{cc, sc} {
			if c == nil {
				continue
			}
			c.Delete("tls_established")
			rename(c, "cipher_name", "cipher")
			if !c.Has("transport_protocol") {
				c.Set("transport_protocol", "tcp")
			}
			for _, name := range []string{"peername", "sockname", "address"} {
				if l, ok := get(c, name).([]any); ok && len(l) > 0 {
					if b, ok := l[0].([]byte); ok {
						l[0] = backslashReplace(b)
					}
				}
			}
		}
		if sni, ok := get(sc, "sni").(bool); ok && sni {
			if l, ok := get(sc, "address").([]any); ok && len(l) > 0 {
				sc.Set("sni", l[0])
			}
		}
	case 19:
		cc.Delete("state")
		sc.Delete("state")
	case 20:
		for _, c := range []*tnetstring.Dict{cc, sc} {
			if s, ok := get(c, "tls_version").(string); ok && s == "QUIC" {
				c.Set("tls_version", "QUICv1")
			}
		}
	}
	d.Set("version", v+1)
	return d
}

// backslashReplaceASCII is Python's b.decode("ascii", "backslashreplace").
func backslashReplaceASCII(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

const duplicatedNote = "This WebSocket flow has been migrated from an old file format version and may appear duplicated."

// convert11to12 merges the separate "websocket" flows of mitmproxy <= 6
// into a copy of their handshake HTTP flow, as compat.convert_11_12 does:
// the handshake flow itself passes through unchanged (with websocket=None),
// and each WebSocket flow is replaced by a copy of its handshake flow that
// carries the messages. A WebSocket flow whose handshake was not seen (or
// was already used) gets a made-up handshake.
func (m *migrator) convert11to12(d *tnetstring.Dict) *tnetstring.Dict {
	d.Set("version", int64(12))
	md := dict(d, "metadata")
	if md.Has("websocket") {
		if m.handshakes == nil {
			m.handshakes = map[string]*tnetstring.Dict{}
		}
		m.handshakes[fmt.Sprint(get(d, "id"))] = d.Clone()
	}
	if !md.Has("websocket_handshake") {
		d.Set("websocket", nil)
		return d
	}
	ws := d
	key := fmt.Sprint(get(md, "websocket_handshake"))
	hs, ok := m.handshakes[key]
	if ok {
		delete(m.handshakes, key)
		d = hs
	} else {
		req := tnetstring.NewDict()
		req.Set("authority", []byte{})
		req.Set("content", nil)
		req.Set("headers", []any{})
		req.Set("host", []byte("unknown"))
		req.Set("http_version", []byte("HTTP/1.1"))
		req.Set("method", []byte("GET"))
		req.Set("path", []byte("/"))
		req.Set("port", int64(80))
		req.Set("scheme", []byte("http"))
		req.Set("timestamp_end", int64(0))
		req.Set("timestamp_start", int64(0))
		req.Set("trailers", nil)
		d = tnetstring.NewDict()
		d.Set("client_conn", get(ws, "client_conn"))
		d.Set("error", get(ws, "error"))
		d.Set("id", get(ws, "id"))
		d.Set("intercepted", get(ws, "intercepted"))
		d.Set("is_replay", get(ws, "is_replay"))
		d.Set("marked", get(ws, "marked"))
		d.Set("metadata", tnetstring.NewDict())
		d.Set("mode", "transparent")
		d.Set("request", req)
		d.Set("response", nil)
		d.Set("server_conn", get(ws, "server_conn"))
		d.Set("type", "http")
		d.Set("version", int64(12))
	}
	hmd := dict(d, "metadata")
	if hmd == nil {
		hmd = tnetstring.NewDict()
		d.Set("metadata", hmd)
	}
	hmd.Set("duplicated", duplicatedNote)
	w := tnetstring.NewDict()
	w.Set("messages", get(ws, "messages"))
	w.Set("closed_by_client", get(ws, "close_sender") == "client")
	w.Set("close_code", get(ws, "close_code"))
	w.Set("close_reason", get(ws, "close_reason"))
	w.Set("timestamp_end", get(dict(d, "server_conn"), "timestamp_end"))
	d.Set("websocket", w)
	return d
}
