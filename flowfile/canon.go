package flowfile

import (
	"fmt"
	"strings"

	"golang.org/x/net/idna"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// canonicalize rebuilds a migrated v21 state dict the way mitmproxy 12's
// Flow.from_state(...).get_state() would: keys in get_state's order, and
// the type conversions mitmproxy applies on load (ints to floats in
// connection timestamps, bytes hosts decoded, str request fields encoded,
// ...). Where mitmproxy would refuse the flow because a key is missing, a
// default is used; keys mitmproxy does not know are kept after the known
// ones, so nothing in a file is lost.
func canonicalize(d *tnetstring.Dict) (*tnetstring.Dict, error) {
	typ, _ := asStr(get(d, "type")).(string)
	switch typ {
	case "http", "tcp", "udp", "dns":
	default:
		return nil, fmt.Errorf("unknown flow type: %s", pyRepr(get(d, "type")))
	}
	var keys []string
	switch typ {
	case "http":
		keys = httpFlowKeys
	case "tcp", "udp":
		keys = tcpFlowKeys
	default:
		keys = dnsFlowKeys
	}
	c := startCanon(d, keys)
	c.set("version", func(any) any { return int64(FormatVersion) })
	c.set("type", func(any) any { return typ })
	c.set("id", asStr)
	c.set("error", canonError)
	c.setDefault("client_conn", canonClient)
	c.setDefault("server_conn", canonServer)
	c.setOr("intercepted", false, nil)
	c.set("is_replay", asStr)
	c.setOr("marked", "", asStr)
	c.setOr("metadata", newDict, nil)
	c.setOr("comment", "", asStr)
	c.set("timestamp_created", nil)
	c.set("backup", nil)
	switch typ {
	case "http":
		c.set("request", canonRequest)
		c.set("response", canonResponse)
		c.set("websocket", canonWebSocket)
	case "tcp", "udp":
		c.setOr("messages", newList, canonMessages)
	case "dns":
		c.set("request", canonDNSMessage)
		c.set("response", canonDNSMessage)
	}
	c.rest()
	return c.dst, nil
}

// canon copies the entries of src to dst in a chosen order, converting
// values on the way. When src already has exactly the wanted keys in the
// wanted order (the usual case for files written by mitmproxy 10 and
// later), it works in place: dst is src and only values are replaced.
type canon struct {
	src, dst *tnetstring.Dict
	keys     []string // the wanted keys, in order
	inPlace  bool
	pos      int
}

func startCanon(src *tnetstring.Dict, keys []string) canon {
	c := canon{src: src, keys: keys}
	if src.Len() == len(keys) {
		c.inPlace = true
		for i, e := range src.Entries {
			if e.Key != keys[i] || e.BytesKey {
				c.inPlace = false
				break
			}
		}
	}
	if c.inPlace {
		c.dst = src
	} else {
		c.dst = &tnetstring.Dict{Entries: make([]tnetstring.Entry, 0, len(keys))}
	}
	return c
}

func (c *canon) lookup(key string) any {
	if c.inPlace {
		return c.src.Entries[c.pos].Value
	}
	v, _ := c.src.Get(key)
	return v
}

func (c *canon) put(key string, v any) {
	if c.inPlace {
		c.dst.Entries[c.pos].Value = v
	} else {
		c.dst.Entries = append(c.dst.Entries, tnetstring.Entry{Key: key, Value: v})
	}
	c.pos++
}

// set copies key (nil when absent), applying conv to non-nil values.
func (c *canon) set(key string, conv func(any) any) {
	v := c.lookup(key)
	if v != nil && conv != nil {
		v = conv(v)
	}
	c.put(key, v)
}

// lazy names a default value that is made only when needed (a fresh one
// each time, as callers may modify it).
type lazy int

const (
	newList lazy = iota
	newBytes
	newDict
	newHTTP11
)

func (l lazy) make() any {
	switch l {
	case newList:
		return []any{}
	case newBytes:
		return []byte{}
	case newDict:
		return tnetstring.NewDict()
	}
	return []byte("HTTP/1.1")
}

// setOr is set with a default for absent or null values.
func (c *canon) setOr(key string, def any, conv func(any) any) {
	v := c.lookup(key)
	if v == nil {
		if l, ok := def.(lazy); ok {
			def = l.make()
		}
		v = def
	} else if conv != nil {
		v = conv(v)
	}
	c.put(key, v)
}

// setDefault calls conv even for absent values.
func (c *canon) setDefault(key string, conv func(any) any) {
	c.put(key, conv(c.lookup(key)))
}

// rest appends the keys of src that are not among the wanted ones.
func (c *canon) rest() {
	if c.inPlace || c.src == nil {
		return
	}
outer:
	for _, e := range c.src.Entries {
		for _, k := range c.keys {
			if k == e.Key {
				continue outer
			}
		}
		c.dst.Entries = append(c.dst.Entries, e)
	}
}

func newCanon(v any, keys []string) (canon, bool) {
	src, ok := v.(*tnetstring.Dict)
	if !ok || src == nil {
		return canon{}, false
	}
	return startCanon(src, keys), true
}

var (
	flowKeys = []string{"version", "type", "id", "error", "client_conn", "server_conn", "intercepted",
		"is_replay", "marked", "metadata", "comment", "timestamp_created", "backup"}
	httpFlowKeys = append(append([]string{}, flowKeys...), "request", "response", "websocket")
	tcpFlowKeys  = append(append([]string{}, flowKeys...), "messages")
	dnsFlowKeys  = append(append([]string{}, flowKeys...), "request", "response")
	errorKeys    = []string{"msg", "timestamp"}
	connKeys     = []string{"peername", "sockname", "id", "transport_protocol", "error", "tls",
		"certificate_list", "alpn", "alpn_offers", "cipher", "cipher_list", "tls_version", "sni",
		"timestamp_start", "timestamp_end", "timestamp_tls_setup"}
	clientKeys   = append(append([]string{}, connKeys...), "mitmcert", "proxy_mode")
	serverKeys   = append(append([]string{}, connKeys...), "address", "timestamp_tcp_setup", "via")
	messageKeys  = []string{"http_version", "headers", "content", "trailers", "timestamp_start", "timestamp_end"}
	requestKeys  = append(append([]string{}, messageKeys...), "host", "port", "method", "scheme", "authority", "path")
	responseKeys = append(append([]string{}, messageKeys...), "status_code", "reason")
	wsKeys       = []string{"messages", "closed_by_client", "close_code", "close_reason", "timestamp_end"}
	dnsKeys      = []string{"id", "query", "op_code", "authoritative_answer", "truncation", "recursion_desired",
		"recursion_available", "reserved", "response_code", "questions", "answers", "authorities",
		"additionals", "timestamp"}
	questionKeys = []string{"name", "type", "class_"}
	recordKeys   = []string{"name", "type", "class_", "ttl", "data"}
)

func canonError(v any) any {
	c, ok := newCanon(v, errorKeys)
	if !ok {
		return v
	}
	c.setOr("msg", "", asStr)
	c.set("timestamp", asFloat)
	c.rest()
	return c.dst
}

// canonAddr converts a (host, port[, flowinfo, scope_id]) address: the host
// must be str, the rest ints; Python's zip cuts it to four items.
func canonAddr(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	if len(l) <= 4 {
		clean := true
		for i, x := range l {
			if i == 0 {
				_, clean = x.(string)
			} else {
				_, isInt := x.(int64)
				clean = clean && isInt
			}
		}
		if clean {
			return v
		}
	} else {
		l = l[:4]
	}
	out := make([]any, len(l))
	for i, x := range l {
		if i == 0 {
			out[i] = asStr(x)
		} else {
			out[i] = asInt(x)
		}
	}
	return out
}

// listOf applies conv to each item; the list is copied only if an item
// changes.
func listOf(conv func(any) any) func(any) any {
	return func(v any) any {
		l, ok := v.([]any)
		if !ok {
			return v
		}
		var out []any
		for i, x := range l {
			y := conv(x)
			if out == nil && !same(x, y) {
				out = make([]any, len(l))
				copy(out, l[:i])
			}
			if out != nil {
				out[i] = y
			}
		}
		if out == nil {
			return v
		}
		return out
	}
}

var (
	bytesList = listOf(asBytes)
	strList   = listOf(asStr)
)

// same reports whether a conversion returned its input unchanged.
func same(x, y any) bool {
	switch x := x.(type) {
	case nil:
		return y == nil
	case string:
		ys, ok := y.(string)
		return ok && x == ys
	case []byte:
		yb, ok := y.([]byte)
		return ok && len(x) == len(yb) && (len(x) == 0 || &x[0] == &yb[0])
	case int64:
		yi, ok := y.(int64)
		return ok && x == yi
	case float64:
		yf, ok := y.(float64)
		return ok && (x == yf || x != x)
	case bool:
		yb, ok := y.(bool)
		return ok && x == yb
	case []any:
		yl, ok := y.([]any)
		return ok && len(x) == len(yl) && (len(x) == 0 || &x[0] == &yl[0])
	case *tnetstring.Dict:
		yd, ok := y.(*tnetstring.Dict)
		return ok && x == yd
	}
	return false
}

func canonVia(v any) any {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return v
	}
	return []any{asStr(l[0]), canonAddr(l[1])}
}

func canonClient(v any) any { return canonConn(v, false) }
func canonServer(v any) any { return canonConn(v, true) }

// canonConn follows the field order of mitmproxy's connection.Client and
// connection.Server dataclasses.
func canonConn(v any, server bool) any {
	keys := clientKeys
	if server {
		keys = serverKeys
	}
	c, ok := newCanon(v, keys)
	if !ok {
		if v != nil || server {
			return v
		}
		c = startCanon(tnetstring.NewDict(), keys)
	}
	c.set("peername", canonAddr)
	c.set("sockname", canonAddr)
	c.set("id", asStr)
	c.setOr("transport_protocol", "tcp", asStr)
	c.set("error", asStr)
	c.setOr("tls", false, nil)
	c.setOr("certificate_list", newList, bytesList)
	c.set("alpn", asBytes)
	c.setOr("alpn_offers", newList, bytesList)
	c.set("cipher", asStr)
	c.setOr("cipher_list", newList, strList)
	c.set("tls_version", asStr)
	c.set("sni", asStr)
	c.set("timestamp_start", asFloat)
	c.set("timestamp_end", asFloat)
	c.set("timestamp_tls_setup", asFloat)
	if server {
		c.set("address", canonAddr)
		c.set("timestamp_tcp_setup", asFloat)
		c.set("via", canonVia)
	} else {
		c.set("mitmcert", asBytes)
		c.setOr("proxy_mode", "regular", asStr)
	}
	c.rest()
	return c.dst
}

func canonHeaders(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	clean := true
	for _, x := range l {
		pair, ok := x.([]any)
		if !ok || len(pair) != 2 {
			continue
		}
		_, ok1 := pair[0].([]byte)
		_, ok2 := pair[1].([]byte)
		if !ok1 || !ok2 {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	out := make([]any, len(l))
	for i, x := range l {
		if pair, ok := x.([]any); ok {
			p := make([]any, len(pair))
			for j, y := range pair {
				p[j] = asBytes(y)
			}
			out[i] = p
		} else {
			out[i] = x
		}
	}
	return out
}

func canonMessageData(c *canon) {
	c.setOr("http_version", newHTTP11, asBytes)
	c.setOr("headers", newList, canonHeaders)
	c.set("content", asBytes)
	c.set("trailers", canonHeaders)
	c.set("timestamp_start", nil)
	c.set("timestamp_end", nil)
}

// idnaHost decodes a bytes host the way Python's bytes.decode("idna") does
// (ASCII hosts pass through; xn-- labels are decoded).
func idnaHost(v any) any {
	b, ok := v.([]byte)
	if !ok {
		return v
	}
	s := backslashReplace(b)
	if !strings.Contains(strings.ToLower(s), "xn--") {
		return s
	}
	if u, err := idna.ToUnicode(s); err == nil {
		return u
	}
	return s
}

func canonRequest(v any) any {
	c, ok := newCanon(v, requestKeys)
	if !ok {
		return v
	}
	canonMessageData(&c)
	c.setOr("host", "", idnaHost)
	c.setOr("port", int64(0), nil)
	c.setOr("method", newBytes, asBytes)
	c.setOr("scheme", newBytes, asBytes)
	c.setOr("authority", newBytes, asBytes)
	c.setOr("path", newBytes, asBytes)
	c.rest()
	return c.dst
}

func canonResponse(v any) any {
	c, ok := newCanon(v, responseKeys)
	if !ok {
		return v
	}
	canonMessageData(&c)
	c.setOr("status_code", int64(0), nil)
	c.setOr("reason", newBytes, asBytes)
	c.rest()
	return c.dst
}

func canonWebSocket(v any) any {
	c, ok := newCanon(v, wsKeys)
	if !ok {
		return v
	}
	c.setOr("messages", newList, wsMessages)
	c.set("closed_by_client", nil)
	c.set("close_code", asInt)
	c.set("close_reason", asStr)
	c.set("timestamp_end", asFloat)
	c.rest()
	return c.dst
}

// wsMessages converts [type, from_client, content, timestamp, dropped,
// injected] items.
var wsMessages = listOf(func(m any) any {
	l, ok := m.([]any)
	if !ok || len(l) < 3 {
		return m
	}
	_, intType := l[0].(int64)
	_, strContent := l[2].(string)
	if intType && !strContent {
		return m
	}
	out := append([]any{}, l...)
	out[0] = asInt(out[0])
	// mitmproxy 6 stored text messages as str; the content is bytes.
	out[2] = asBytes(out[2])
	return out
})

// canonMessages converts TCP and UDP [from_client, content, timestamp]
// items.
var canonMessages = listOf(func(m any) any {
	l, ok := m.([]any)
	if !ok || len(l) < 2 {
		return m
	}
	if _, isStr := l[1].(string); !isStr {
		return m
	}
	out := append([]any{}, l...)
	out[1] = asBytes(out[1])
	return out
})

func canonDNSMessage(v any) any {
	c, ok := newCanon(v, dnsKeys)
	if !ok {
		return v
	}
	question := func(q any) any {
		qc, ok := newCanon(q, questionKeys)
		if !ok {
			return q
		}
		qc.set("name", asStr)
		qc.set("type", asInt)
		qc.set("class_", asInt)
		qc.rest()
		return qc.dst
	}
	record := func(r any) any {
		rc, ok := newCanon(r, recordKeys)
		if !ok {
			return r
		}
		rc.set("name", asStr)
		rc.set("type", asInt)
		rc.set("class_", asInt)
		rc.set("ttl", asInt)
		rc.set("data", asBytes)
		rc.rest()
		return rc.dst
	}
	c.set("id", asInt)
	c.set("query", nil)
	c.set("op_code", asInt)
	c.set("authoritative_answer", nil)
	c.set("truncation", nil)
	c.set("recursion_desired", nil)
	c.set("recursion_available", nil)
	c.set("reserved", asInt)
	c.set("response_code", asInt)
	c.setOr("questions", newList, listOf(question))
	c.setOr("answers", newList, listOf(record))
	c.setOr("authorities", newList, listOf(record))
	c.setOr("additionals", newList, listOf(record))
	c.set("timestamp", asFloat)
	c.rest()
	return c.dst
}
