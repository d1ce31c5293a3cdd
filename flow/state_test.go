package flow

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sharedFlows is mitmproxy's own test data (see
// /work/shared/testdata/README.md).
const sharedFlows = "../../shared/testdata/mitmproxy-flows"

// typicalFlow is a complete HTTPS flow with fixed ids and times, as the
// proxy would record it.
func typicalFlow() *HTTPFlow {
	client := &Client{
		ID:                "5c5f2e0a-6c1e-4d1a-9b8e-0a1b2c3d4e5f",
		Peername:          Address{"127.0.0.1", 50312},
		Sockname:          Address{"127.0.0.1", 8080},
		TransportProtocol: "tcp",
		TLSInfo: TLSInfo{
			TLS: true, ALPN: "http/1.1", ALPNOffers: []string{"h2", "http/1.1"},
			Cipher: "TLS_AES_128_GCM_SHA256", TLSVersion: "TLSv1.3", SNI: "example.com",
			TimestampTLSSetup: 1700000000.125,
		},
		TimestampStart: 1700000000.0,
		MitmCert:       []byte{0x30, 0x03, 0x02, 0x01, 0x01},
		ProxyMode:      "regular",
	}
	server := &Server{
		ID:                "0f1e2d3c-4b5a-4697-8877-665544332211",
		Address:           Address{"example.com", 443},
		Peername:          Address{"93.184.215.14", 443},
		Sockname:          Address{"192.168.1.10", 40000},
		TransportProtocol: "tcp",
		TLSInfo: TLSInfo{
			TLS: true, CertificateList: [][]byte{{0x30, 0x03, 0x02, 0x01, 0x02}}, ALPN: "http/1.1",
			ALPNOffers: []string{"http/1.1"}, Cipher: "TLS_AES_256_GCM_SHA384", TLSVersion: "TLSv1.3",
			SNI: "example.com", TimestampTLSSetup: 1700000000.0625,
		},
		TimestampStart:    1700000000.03125,
		TimestampTCPSetup: 1700000000.046875,
	}
	f := NewHTTPFlow(client, server)
	f.ID = "d2b0c6b4-3c9a-4e0f-8f4e-1a2b3c4d5e6f"
	f.TimestampCreated = 1700000000.0078125
	f.SetLive(false)
	f.Metadata.Set("note", "from a test")
	f.Request = &Request{
		Message: Message{
			HTTPVersion: "HTTP/1.1",
			Headers: NewHeaders(
				"Host", "example.com",
				"User-Agent", "curl/8.5.0",
				"Accept", "*/*",
				"Content-Type", "application/x-www-form-urlencoded",
				"Content-Length", "7",
			),
			RawContent:     []byte("a=1&b=2"),
			TimestampStart: 1700000000.25,
			TimestampEnd:   1700000000.3125,
		},
		Method: "POST", Scheme: "https", Host: "example.com", Port: 443, Path: "/form?x=1",
	}
	f.Response = &Response{
		Message: Message{
			HTTPVersion: "HTTP/1.1",
			Headers: NewHeaders(
				"Content-Type", "text/html; charset=utf-8",
				"Content-Encoding", "gzip",
				"Set-Cookie", "a=1; Path=/",
				"set-cookie", "b=2",
				"Content-Length", "3",
			),
			RawContent:     []byte{0x1f, 0x8b, 0x08},
			TimestampStart: 1700000000.375,
			TimestampEnd:   1700000000.5,
		},
		StatusCode: 200, Reason: "OK",
	}
	return f
}

// kind names the type of a decoded tnetstring value, with Python's names.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case []any:
		return "list"
	case *tnetstring.Dict:
		return "dict"
	}
	return fmt.Sprintf("Go %T", v)
}

type keySpec struct {
	key   string
	types string // alternatives separated by "|"
}

// The v21 state dict, key by key and in insertion order
// (/work/shared/reference/mitmproxy-notes.md §5.3; mitmproxy's
// Flow.get_state, RequestData/ResponseData, Client/Server dataclasses).
var (
	flowSpec = []keySpec{
		{"version", "int"}, {"type", "str"}, {"id", "str"}, {"error", "dict|None"},
		{"client_conn", "dict"}, {"server_conn", "dict"}, {"intercepted", "bool"},
		{"is_replay", "str|None"}, {"marked", "str"}, {"metadata", "dict"}, {"comment", "str"},
		{"timestamp_created", "float"}, {"backup", "dict|None"},
	}
	httpSpec  = append(append([]keySpec(nil), flowSpec...), keySpec{"request", "dict"}, keySpec{"response", "dict|None"}, keySpec{"websocket", "dict|None"})
	tcpSpec   = append(append([]keySpec(nil), flowSpec...), keySpec{"messages", "list"})
	errorSpec = []keySpec{{"msg", "str"}, {"timestamp", "float"}}
	msgSpec   = []keySpec{
		{"http_version", "bytes"}, {"headers", "list"}, {"content", "bytes|None"}, {"trailers", "list|None"},
		{"timestamp_start", "float"}, {"timestamp_end", "float|None"},
	}
	requestSpec = append(append([]keySpec(nil), msgSpec...),
		keySpec{"host", "str"}, keySpec{"port", "int"}, keySpec{"method", "bytes"}, keySpec{"scheme", "bytes"},
		keySpec{"authority", "bytes"}, keySpec{"path", "bytes"})
	responseSpec = append(append([]keySpec(nil), msgSpec...), keySpec{"status_code", "int"}, keySpec{"reason", "bytes"})
	connSpec     = []keySpec{
		{"peername", "list"}, {"sockname", "list"}, {"id", "str"}, {"transport_protocol", "str"},
		{"error", "str|None"}, {"tls", "bool"}, {"certificate_list", "list"}, {"alpn", "bytes|None"},
		{"alpn_offers", "list"}, {"cipher", "str|None"}, {"cipher_list", "list"},
		{"tls_version", "str|None"}, {"sni", "str|None"}, {"timestamp_start", "float"},
		{"timestamp_end", "float|None"}, {"timestamp_tls_setup", "float|None"},
	}
	clientSpec = append(append([]keySpec(nil), connSpec...), keySpec{"mitmcert", "bytes|None"}, keySpec{"proxy_mode", "str"})
	serverSpec = func() []keySpec {
		s := append([]keySpec(nil), connSpec...)
		s[0].types, s[1].types, s[13].types = "list|None", "list|None", "float|None"
		return append(s, keySpec{"address", "list|None"}, keySpec{"timestamp_tcp_setup", "float|None"}, keySpec{"via", "list|None"})
	}()
	webSocketSpec = []keySpec{
		{"messages", "list"}, {"closed_by_client", "bool|None"}, {"close_code", "int|None"},
		{"close_reason", "str|None"}, {"timestamp_end", "float|None"},
	}
)

type checker struct {
	t testing.TB
	// intFloats accepts an int where a float is expected, as mitmproxy's
	// reader does (files written by old versions have integer timestamps).
	intFloats bool
}

func (c checker) typeOK(path string, v any, types string) {
	c.t.Helper()
	k := kind(v)
	for _, want := range strings.Split(types, "|") {
		if k == want || (c.intFloats && k == "int" && want == "float") {
			return
		}
	}
	c.t.Errorf("%s: %s, want %s", path, k, types)
}

func (c checker) dict(path string, v any, spec []keySpec) *tnetstring.Dict {
	c.t.Helper()
	d, ok := v.(*tnetstring.Dict)
	if !ok {
		c.t.Errorf("%s: %s, want dict", path, kind(v))
		return nil
	}
	var want []string
	for _, s := range spec {
		want = append(want, s.key)
	}
	if got := d.Keys(); strings.Join(got, " ") != strings.Join(want, " ") {
		c.t.Errorf("%s: keys\n got %v\nwant %v", path, got, want)
	}
	for _, s := range spec {
		if val, ok := d.Get(s.key); ok {
			c.typeOK(path+"."+s.key, val, s.types)
		}
	}
	for _, e := range d.Entries {
		if e.BytesKey {
			c.t.Errorf("%s: key %q is bytes, want str", path, e.Key)
		}
	}
	return d
}

// list checks a list whose items are all lists of the given item types
// (or, with a single type not starting with "[", plain items).
func (c checker) list(path string, v any, itemTypes ...string) {
	c.t.Helper()
	l, ok := v.([]any)
	if !ok {
		if v != nil {
			c.t.Errorf("%s: %s, want list", path, kind(v))
		}
		return
	}
	for i, item := range l {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(itemTypes) == 1 {
			c.typeOK(p, item, itemTypes[0])
			continue
		}
		tuple, ok := item.([]any)
		if !ok || len(tuple) != len(itemTypes) {
			c.t.Errorf("%s: %s of %d items, want a list of %d", p, kind(item), len(tuple), len(itemTypes))
			continue
		}
		for j, typ := range itemTypes {
			c.typeOK(fmt.Sprintf("%s[%d]", p, j), tuple[j], typ)
		}
	}
}

func (c checker) address(path string, v any) {
	c.t.Helper()
	if v == nil {
		return
	}
	l, ok := v.([]any)
	if !ok || (len(l) != 2 && len(l) != 4) {
		c.t.Errorf("%s: %s, want [str, int]", path, renderPy(v))
		return
	}
	c.typeOK(path+"[0]", l[0], "str")
	c.typeOK(path+"[1]", l[1], "int")
}

func (c checker) conn(path string, v any, spec []keySpec) {
	c.t.Helper()
	d := c.dict(path, v, spec)
	if d == nil {
		return
	}
	for _, k := range []string{"peername", "sockname", "address"} {
		if val, ok := d.Get(k); ok {
			c.address(path+"."+k, val)
		}
	}
	c.list(path+".certificate_list", d.List("certificate_list"), "bytes")
	for i, pemCert := range d.List("certificate_list") {
		if b, _ := pemCert.([]byte); !bytes.HasPrefix(b, []byte("-----BEGIN CERTIFICATE-----")) {
			c.t.Errorf("%s.certificate_list[%d] is not PEM", path, i)
		}
	}
	c.list(path+".alpn_offers", d.List("alpn_offers"), "bytes")
	c.list(path+".cipher_list", d.List("cipher_list"), "str")
	if via, _ := d.Get("via"); via != nil {
		l, ok := via.([]any)
		if !ok || len(l) != 2 {
			c.t.Errorf("%s.via: %s", path, renderPy(via))
		} else {
			c.typeOK(path+".via[0]", l[0], "str")
			c.address(path+".via[1]", l[1])
		}
	}
}

func (c checker) message(path string, v any, spec []keySpec) {
	c.t.Helper()
	d := c.dict(path, v, spec)
	if d == nil {
		return
	}
	c.list(path+".headers", d.List("headers"), "bytes", "bytes")
	c.list(path+".trailers", d.List("trailers"), "bytes", "bytes")
}

// checkState verifies the key sets, key order and value types of a state
// dict against mitmproxy's v21 format.
func checkState(t testing.TB, d *tnetstring.Dict, intFloats bool) {
	t.Helper()
	c := checker{t: t, intFloats: intFloats}
	typ := d.Str("type")
	spec := httpSpec
	if typ == "tcp" {
		spec = tcpSpec
	}
	id := d.Str("id")
	c.dict(id, d, spec)
	if d.Int("version") != 21 {
		t.Errorf("%s: version %d", id, d.Int("version"))
	}
	if e := d.Dict("error"); e != nil {
		c.dict(id+".error", e, errorSpec)
	}
	c.conn(id+".client_conn", d.Dict("client_conn"), clientSpec)
	c.conn(id+".server_conn", d.Dict("server_conn"), serverSpec)
	switch typ {
	case "http":
		c.message(id+".request", d.Dict("request"), requestSpec)
		if r := d.Dict("response"); r != nil {
			c.message(id+".response", r, responseSpec)
		}
		if ws := d.Dict("websocket"); ws != nil {
			c.dict(id+".websocket", ws, webSocketSpec)
			c.list(id+".websocket.messages", ws.List("messages"), "int", "bool", "bytes", "float", "bool", "bool")
		}
	case "tcp":
		c.list(id+".messages", d.List("messages"), "bool", "bytes", "float")
	default:
		t.Errorf("%s: type %q", id, typ)
	}
}

func TestStateKeysAndTypes(t *testing.T) {
	closed := false
	ws := typicalFlow()
	ws.WebSocket = &WebSocketData{
		Messages: []*WebSocketMessage{
			{Type: WebSocketText, FromClient: true, Content: []byte("hello"), Timestamp: 1.5},
			{Type: WebSocketBinary, Content: nil, Timestamp: 2, Dropped: true, Injected: true},
		},
		ClosedByClient: &closed, CloseCode: 1000, CloseReason: "bye", TimestampEnd: 3,
	}
	ws.ServerConn.Via = &ServerSpec{"http", Address{"proxy.local", 3128}}
	ws.Error = &Error{Msg: "Connection killed.", Timestamp: 4}
	ws.Request.Trailers = NewHeaders("grpc-status", "0")
	ws.IsReplay = "response"

	bare := &HTTPFlow{Request: &Request{}} // everything unset
	tcp := NewTCPFlow(&Client{Peername: Address{"::1", 1}}, nil)
	tcp.Messages = []*TCPMessage{{FromClient: true, Content: []byte("x"), Timestamp: 1}, {Content: nil, Timestamp: 2}}

	for name, d := range map[string]*tnetstring.Dict{
		"typical": typicalFlow().State(), "websocket": ws.State(), "bare": bare.State(), "tcp": tcp.State(),
	} {
		t.Run(name, func(t *testing.T) {
			checkState(t, d, false)
			// And it survives encoding.
			raw, err := tnetstring.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := tnetstring.Unmarshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			checkState(t, back.(*tnetstring.Dict), false)
		})
	}
}

func TestStateValues(t *testing.T) {
	d := typicalFlow().State()
	rq := d.Dict("request")
	if got := rq.Bytes("method"); string(got) != "POST" {
		t.Errorf("method %q", got)
	}
	if v, _ := rq.Get("host"); v != "example.com" {
		t.Errorf("host %#v, want the str example.com", v)
	}
	if v, _ := rq.Get("content"); !bytes.Equal(v.([]byte), []byte("a=1&b=2")) {
		t.Errorf("content %q", v)
	}
	if v, _ := d.Dict("response").Get("content"); !bytes.Equal(v.([]byte), []byte{0x1f, 0x8b, 0x08}) {
		t.Errorf("response content is not the raw (encoded) body: %q", v)
	}
	cc := d.Dict("client_conn")
	if v, _ := cc.Get("mitmcert"); !bytes.HasPrefix(v.([]byte), []byte("-----BEGIN CERTIFICATE-----\n")) {
		t.Errorf("mitmcert %q", v)
	}
	if v, _ := d.Get("backup"); v != nil {
		t.Errorf("backup %v", v)
	}
	// Missing content is null, empty content is b"".
	f := typicalFlow()
	f.Request.RawContent = nil
	f.Response.RawContent = []byte{}
	d = f.State()
	if !d.Dict("request").IsNull("content") {
		t.Error("missing content not null")
	}
	if v, _ := d.Dict("response").Get("content"); v == nil || len(v.([]byte)) != 0 {
		t.Errorf("empty content = %#v", v)
	}
}

// renderPy renders a state value the way Python's repr shows mitmproxy's
// get_state(), indented: str 'x', bytes b'x', None, True, int, float repr.
func renderPy(v any) string {
	var sb strings.Builder
	writePy(&sb, v, 0)
	return sb.String()
}

func writePy(sb *strings.Builder, v any, depth int) {
	indent := strings.Repeat("    ", depth)
	switch v := v.(type) {
	case nil:
		sb.WriteString("None")
	case bool:
		if v {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		sb.WriteString(v.String())
	case float64:
		sb.Write(tnetstring.AppendFloat(nil, v))
	case string:
		sb.WriteString(pyQuote(v, false))
	case []byte:
		sb.WriteString(pyQuote(string(v), true))
	case []any:
		flat := true
		for _, x := range v {
			switch x.(type) {
			case []any, *tnetstring.Dict:
				flat = false
			}
		}
		if flat {
			sb.WriteByte('[')
			for i, x := range v {
				if i > 0 {
					sb.WriteString(", ")
				}
				writePy(sb, x, depth)
			}
			sb.WriteByte(']')
			return
		}
		sb.WriteString("[\n")
		for _, x := range v {
			sb.WriteString(indent + "    ")
			writePy(sb, x, depth+1)
			sb.WriteString(",\n")
		}
		sb.WriteString(indent + "]")
	case *tnetstring.Dict:
		if v.Len() == 0 {
			sb.WriteString("{}")
			return
		}
		sb.WriteString("{\n")
		for _, e := range v.Entries {
			sb.WriteString(indent + "    ")
			sb.WriteString(pyQuote(e.Key, e.BytesKey))
			sb.WriteString(": ")
			writePy(sb, e.Value, depth+1)
			sb.WriteString(",\n")
		}
		sb.WriteString(indent + "}")
	default:
		fmt.Fprintf(sb, "<Go %T %v>", v, v)
	}
}

func pyQuote(s string, isBytes bool) string {
	var sb strings.Builder
	if isBytes {
		sb.WriteByte('b')
	}
	sb.WriteByte('\'')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isBytes {
			r, size = rune(s[i]), 1
		}
		switch {
		case r == '\\' || r == '\'':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (isBytes && r >= 0x80) || (r == utf8.RuneError && size == 1):
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		default:
			sb.WriteRune(r)
		}
		i += size
	}
	sb.WriteByte('\'')
	return sb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

func TestStateGolden(t *testing.T) {
	golden(t, "state_http.golden", renderPy(typicalFlow().State())+"\n")

	tcp := NewTCPFlow(
		&Client{ID: "11111111-1111-4111-8111-111111111111", Peername: Address{"::1", 40000}, Sockname: Address{"::1", 8080}, TimestampStart: 1, ProxyMode: "transparent"},
		&Server{ID: "22222222-2222-4222-8222-222222222222", Address: Address{"10.0.0.1", 22}, TimestampStart: 1.5},
	)
	tcp.ID = "33333333-3333-4333-8333-333333333333"
	tcp.TimestampCreated = 1
	tcp.Messages = []*TCPMessage{
		{FromClient: true, Content: []byte("SSH-2.0-OpenSSH_9.6\r\n"), Timestamp: 2},
		{FromClient: false, Content: []byte{0, 0xff}, Timestamp: 2.5},
	}
	tcp.Error = &Error{Msg: "Connection killed.", Timestamp: 3}
	golden(t, "state_tcp.golden", renderPy(tcp.State())+"\n")
}

// roundTrip encodes a state dict as a flow file would and decodes it.
func roundTrip(t testing.TB, d *tnetstring.Dict) *tnetstring.Dict {
	t.Helper()
	raw, err := tnetstring.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	v, rest, err := tnetstring.Unmarshal(raw)
	if err != nil || len(rest) != 0 {
		t.Fatalf("Unmarshal: %v (%d bytes left)", err, len(rest))
	}
	return v.(*tnetstring.Dict)
}

func TestStateRoundTrip(t *testing.T) {
	closed := true
	full := typicalFlow()
	full.Error = &Error{Msg: "boom", Timestamp: 9}
	full.Intercept()
	full.SetMarked(":grapes:")
	full.SetComment("a comment")
	full.IsReplay = "request"
	md := tnetstring.NewDict()
	md.Set("nested", []any{int64(1), 2.5, []byte{0}, "s", nil, true})
	full.Metadata.Set("d", md)
	full.Request.Trailers = NewHeaders("X-Trailer", "1")
	full.Response.Trailers = Headers{}
	full.ServerConn.Via = &ServerSpec{"https", Address{"upstream", 8443}}
	full.ClientConn.Error = "client error"
	full.ClientConn.CipherList = []string{"A", "B"}
	full.WebSocket = &WebSocketData{
		Messages:       []*WebSocketMessage{{Type: WebSocketBinary, FromClient: false, Content: []byte{1, 2}, Timestamp: 7, Dropped: true, Injected: true}},
		ClosedByClient: &closed, CloseCode: 1001, CloseReason: "going away", TimestampEnd: 8,
	}

	tcp := NewTCPFlow(&Client{ID: "c", Peername: Address{"127.0.0.1", 1}}, &Server{ID: "s"})
	tcp.Messages = []*TCPMessage{{FromClient: true, Content: []byte("x"), Timestamp: 1}}

	for name, f := range map[string]interface{ State() *tnetstring.Dict }{
		"typical": typicalFlow(), "full": full, "bare": &HTTPFlow{Request: &Request{}}, "tcp": tcp,
	} {
		t.Run(name, func(t *testing.T) {
			want := roundTrip(t, f.State())
			got, err := FromState(want)
			if err != nil {
				t.Fatal(err)
			}
			var state *tnetstring.Dict
			switch g := got.(type) {
			case *HTTPFlow:
				if g.IsLive() {
					t.Error("a flow from state is live")
				}
				state = g.State()
			case *TCPFlow:
				if g.IsLive() {
					t.Error("a flow from state is live")
				}
				state = g.State()
			default:
				t.Fatalf("FromState returned %T", got)
			}
			if diffs := stateDiff("", roundTrip(t, state), want); len(diffs) > 0 {
				t.Errorf("round trip changed the state:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

func TestFromStateErrors(t *testing.T) {
	good := func() *tnetstring.Dict { return roundTrip(t, typicalFlow().State()) }
	tests := []struct {
		name   string
		modify func(d *tnetstring.Dict)
	}{
		{"old version", func(d *tnetstring.Dict) { d.Set("version", int64(20)) }},
		{"no version", func(d *tnetstring.Dict) { d.Delete("version") }},
		{"dns flow", func(d *tnetstring.Dict) { d.Set("type", "dns") }},
		{"no request", func(d *tnetstring.Dict) { d.Set("request", nil) }},
		{"bad tcp message", func(d *tnetstring.Dict) { d.Set("type", "tcp"); d.Set("messages", []any{[]any{true}}) }},
	}
	for _, tt := range tests {
		d := good()
		tt.modify(d)
		if f, err := FromState(d); err == nil {
			t.Errorf("%s: FromState succeeded: %#v", tt.name, f)
		}
	}
}

// mitmproxy's own flow files: a state dict read from them converts to a
// flow and back to the same dict. The version 21 file is compared exactly;
// older ones (migrated to 21 by flowfile) must at least keep their shape.
func TestStateOfMitmproxyFiles(t *testing.T) {
	files := []string{"testdata/corrupted_gzip_body-v21.mitm"}
	if _, err := os.Stat(sharedFlows); err == nil {
		for _, name := range []string{"websocket.mitm", "dumpfile-19.mitm", "successful_log.mitm", "flows/error_log.mitm", "flows/event_stream.mitm", "flows/incomplete_log.mitm", "dumpfile-7.mitm"} {
			files = append(files, filepath.Join(sharedFlows, name))
		}
	} else {
		t.Logf("shared test data not found at %s; only testdata/ is used", sharedFlows)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			r := flowfile.NewReader(fh)
			n := 0
			for {
				d, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				// The file itself has the shape checkState expects (this
				// validates the spec above against mitmproxy's output).
				checkState(t, d, true)
				f, err := FromState(d)
				if err != nil {
					t.Fatal(err)
				}
				var got *tnetstring.Dict
				switch f := f.(type) {
				case *HTTPFlow:
					got = f.State()
				case *TCPFlow:
					got = f.State()
				}
				checkState(t, got, false)
				want := d.Clone()
				// A backup is not kept by FromState.
				want.Set("backup", nil)
				normaliseNumbers(want)
				if diffs := stateDiff("", roundTrip(t, got), roundTrip(t, want)); len(diffs) > 0 {
					t.Errorf("flow %s: state differs from the file:\n%s", d.Str("id"), strings.Join(diffs, "\n"))
				}
			}
			if n == 0 {
				t.Fatal("no flows read")
			}
		})
	}
}

// stateDiff lists where two state values differ, by path.
func stateDiff(path string, got, want any) []string {
	gd, gok := got.(*tnetstring.Dict)
	wd, wok := want.(*tnetstring.Dict)
	if gok && wok {
		var out []string
		if strings.Join(gd.Keys(), " ") != strings.Join(wd.Keys(), " ") {
			out = append(out, fmt.Sprintf("%s: keys %v, want %v", path, gd.Keys(), wd.Keys()))
		}
		for _, e := range wd.Entries {
			g, _ := gd.Get(e.Key)
			out = append(out, stateDiff(path+"."+e.Key, g, e.Value)...)
		}
		return out
	}
	gl, gok := got.([]any)
	wl, wok := want.([]any)
	if gok && wok && len(gl) == len(wl) {
		var out []string
		for i := range wl {
			out = append(out, stateDiff(fmt.Sprintf("%s[%d]", path, i), gl[i], wl[i])...)
		}
		return out
	}
	if !tnetstring.Equal(got, want) {
		return []string{fmt.Sprintf("%s: got %s, want %s", path, renderPy(got), renderPy(want))}
	}
	return nil
}

// normaliseNumbers turns the integers mitmproxy's reader accepts for floats
// (timestamp 0 written as "1:0#") into floats, as FromState does.
func normaliseNumbers(v any) {
	switch v := v.(type) {
	case *tnetstring.Dict:
		for i, e := range v.Entries {
			if n, ok := e.Value.(int64); ok && (strings.HasPrefix(e.Key, "timestamp") || e.Key == "timestamp") {
				v.Entries[i].Value = float64(n)
			}
			normaliseNumbers(e.Value)
		}
	case []any:
		for _, x := range v {
			normaliseNumbers(x)
		}
	}
}

func BenchmarkState(b *testing.B) {
	f := typicalFlow()
	b.ReportAllocs()
	for b.Loop() {
		_ = f.State()
	}
}
