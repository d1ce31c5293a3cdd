package filter

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// Test flows shaped like mitmproxy's test.tflow helpers, so that the cases
// below can follow test_flowfilter.py.

func tclient() *flow.Client {
	return &flow.Client{ID: "c", Peername: flow.Address{Host: "127.0.0.1", Port: 22}, Sockname: flow.Address{Host: "127.0.0.1", Port: 8080}, TransportProtocol: "tcp"}
}

func tserver() *flow.Server {
	return &flow.Server{ID: "s", Address: flow.Address{Host: "address", Port: 22}, TransportProtocol: "tcp"}
}

type tflowOpts struct {
	resp bool
	err  bool
}

// tflow is mitmproxy's tflow(): GET http://address:22/path with a
// "header: qvalue" header and body "content"; with resp, a 200 response
// with "header-response: svalue" and body "message".
func tflow(o tflowOpts) *flow.HTTPFlow {
	f := flow.NewHTTPFlow(tclient(), tserver())
	req, err := flow.NewRequest("GET", "http://address:22/path", []byte("content"), flow.NewHeaders("header", "qvalue"))
	if err != nil {
		panic(err)
	}
	f.Request = req
	if o.resp {
		f.Response = flow.NewResponse(200, []byte("message"), flow.NewHeaders("header-response", "svalue"))
	}
	if o.err {
		f.Error = flow.NewError("error")
	}
	return f
}

// twebsocketflow: a WebSocket handshake to example.com/ws and three
// messages.
func twebsocketflow() *flow.HTTPFlow {
	f := flow.NewHTTPFlow(tclient(), tserver())
	req, err := flow.NewRequest("GET", "http://example.com/ws", nil, flow.NewHeaders(
		"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13"))
	if err != nil {
		panic(err)
	}
	f.Request = req
	f.Response = flow.NewResponse(101, nil, flow.NewHeaders("Connection", "Upgrade", "Upgrade", "websocket"))
	f.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{
		{Type: flow.WebSocketBinary, FromClient: true, Content: []byte("hello binary")},
		{Type: flow.WebSocketText, FromClient: true, Content: []byte("hello text")},
		{Type: flow.WebSocketText, FromClient: false, Content: []byte("it's me")},
	}}
	return f
}

// ttcpflow: "hello" from the client and "it's me" from the server.
func ttcpflow(withErr bool) *flow.TCPFlow {
	f := flow.NewTCPFlow(tclient(), tserver())
	f.Messages = []*flow.TCPMessage{
		{FromClient: true, Content: []byte("hello")},
		{FromClient: false, Content: []byte("it's me")},
	}
	if withErr {
		f.Error = flow.NewError("error")
	}
	return f
}

func q(t *testing.T, expr string, f any) bool {
	t.Helper()
	flt, err := ParseWith(expr, Options{})
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return flt.Match(f)
}

type check struct {
	expr string
	want bool
}

func yes(expr string) check { return check{expr, true} }
func no(expr string) check  { return check{expr, false} }

func checkAll(t *testing.T, f any, checks ...check) {
	t.Helper()
	for _, c := range checks {
		if got := q(t, c.expr, f); got != c.want {
			t.Errorf("%q on %T = %v, want %v", c.expr, f, got, c.want)
		}
	}
}

func TestMatchHTTP(t *testing.T) {
	req := func() *flow.HTTPFlow { return tflow(tflowOpts{}) }
	resp := func() *flow.HTTPFlow { return tflow(tflowOpts{resp: true}) }

	t.Run("type", func(t *testing.T) {
		checkAll(t, req(), yes("~http"), no("~tcp"), no("~udp"), no("~dns"), no("~websocket"), yes("~all"))
	})
	t.Run("asset", func(t *testing.T) {
		s := resp()
		checkAll(t, s, no("~a"))
		for ct, want := range map[string]bool{
			"text/javascript": true, "application/x-javascript": true, "application/javascript; charset=utf-8": true,
			"text/css": true, "image/png": true, "font/woff2": true, "application/font-woff": true,
			"text/html": false, "Text/CSS": false, "application/json": false,
		} {
			s.Response.Headers.Set("Content-Type", ct)
			checkAll(t, s, check{"~a", want})
		}
		r := req()
		r.Request.Headers.Set("content-type", "text/css")
		checkAll(t, r, no("~a")) // only the response counts
	})
	t.Run("content type", func(t *testing.T) {
		q, s := req(), resp()
		checkAll(t, q, no("~t content"))
		checkAll(t, s, no("~t content"))
		q.Request.Headers.Set("content-type", "text/json")
		checkAll(t, q, yes("~t json"), yes("~tq json"), no("~ts json"), yes("~t JSON"))
		s.Response.Headers.Set("content-type", "text/json")
		checkAll(t, s, yes("~t json"), yes("~ts json"), no("~tq json"))
		s.Response.Headers.Del("content-type")
		s.Request.Headers.Set("content-type", "text/json")
		checkAll(t, s, yes("~t json"), yes("~tq json"), no("~ts json"))
		// Each Content-Type field is searched on its own.
		s.Request.Headers.Add("Content-Type", "charset=x")
		checkAll(t, s, yes("~tq ^charset"), no("~tq json.*charset"))
	})
	t.Run("request and response", func(t *testing.T) {
		checkAll(t, req(), yes("~q"), no("~s"))
		checkAll(t, resp(), no("~q"), yes("~s"))
		e := tflow(tflowOpts{err: true})
		checkAll(t, e, yes("~q"), yes("~e"))
	})
	t.Run("error", func(t *testing.T) {
		checkAll(t, tflow(tflowOpts{err: true}), yes("~e"))
		checkAll(t, resp(), no("~e"), yes("!~e"))
	})
	t.Run("marked", func(t *testing.T) {
		f := req()
		checkAll(t, f, no("~marked"), no("~marker ."))
		f.SetMarked(":default:")
		checkAll(t, f, yes("~marked"), no("~marker X"), yes("~marker default"))
		f.SetMarked("X")
		checkAll(t, f, yes("~marker X"), yes("~marker x"))
	})
	t.Run("headers", func(t *testing.T) {
		q, s := req(), resp()
		checkAll(t, q, no("~h nonexistent"), yes("~h qvalue"), yes("~h header"), yes("~h 'header: qvalue'"))
		checkAll(t, s, yes("~h 'header: qvalue'"), yes("~h 'header-response: svalue'"))
		checkAll(t, s, yes("~hq 'header: qvalue'"), no("~hq 'header-response: svalue'"))
		checkAll(t, q, yes("~hq 'header: qvalue'"), no("~hq 'header-request: svalue'"))
		checkAll(t, s, no("~hs 'header: qvalue'"), yes("~hs 'header-response: svalue'"))
		checkAll(t, q, no("~hs 'header: qvalue'"))
		// The block is "name: value\r\n" lines, searched in MULTILINE mode.
		checkAll(t, q, yes(`~hq "^content-length: 7\r$"`), no(`~hq "^content-length: 7$"`), yes(`~hq "qvalue\r\ncontent-length"`), yes("~h HEADER"))
	})
	t.Run("body", func(t *testing.T) {
		q, s := req(), resp()
		matchBody(t, q, s)
		q, s = req(), resp()
		for _, m := range []*flow.Message{&q.Request.Message, &s.Request.Message, &s.Response.Message} {
			if err := m.Encode("gzip"); err != nil {
				t.Fatal(err)
			}
		}
		if s.Response.Headers.Get("content-encoding") != "gzip" || q.Request.Headers.Get("content-encoding") != "gzip" {
			t.Fatal("gzip did not encode")
		}
		matchBody(t, q, s)
	})
	t.Run("body edge cases", func(t *testing.T) {
		f := resp()
		f.Response.RawContent = []byte("not gzip at all")
		f.Response.Headers.Set("content-encoding", "gzip")
		checkAll(t, f, yes("~bs 'not gzip'")) // undecodable: searched raw
		f.Response.RawContent = nil           // missing (streamed)
		checkAll(t, f, no("~bs ^"), yes("~b ^"))
		f.Request.RawContent = []byte{}
		checkAll(t, f, yes("~bq ^$"), no("~bq ."))
		f.Request.SetContent([]byte("line1\nline2"))
		checkAll(t, f, yes("~bq line1.line2"), no("~b ^line2"), no("~b line1$")) // DOTALL, not MULTILINE
	})
	t.Run("method", func(t *testing.T) {
		f := req()
		checkAll(t, f, yes("~m get"), yes("~m GET"), no("~m post"))
		f.Request.Method = "oink"
		checkAll(t, f, no("~m get"))
	})
	t.Run("domain", func(t *testing.T) {
		f := req()
		checkAll(t, f, yes("~d address"), yes("~d ADDRESS"), no("~d none"))
		// pretty_host: the Host header wins in transparent mode.
		f.Request.Host = "10.0.0.1"
		f.Request.Headers.Set("Host", "Example.com:8080")
		checkAll(t, f, yes("~d example.com"), yes(`~d 10\.0\.0\.1`), no("~d 8080"))
		f.Request.Headers.Set("Host", "[::1]:8080")
		checkAll(t, f, yes("~d ^::1$"))
		f.Request.Headers.Set("Host", "plain.example")
		checkAll(t, f, yes(`~d ^plain\.example$`))
	})
	t.Run("url", func(t *testing.T) {
		q, s := req(), resp()
		checkAll(t, q, yes("~u address"), yes("~u ADDRESS"), yes("~u address:22/path"), no("~u moo/path"), yes("address:22"))
		checkAll(t, s, yes("~u address"), yes("~u address:22/path"), no("~u moo/path"))
		q.Request = nil
		checkAll(t, q, no("~u address"), no("~d address"), no("~m get"), no("~h x"), no("~bq x"), yes("~q"))
		// pretty_url uses the Host header.
		f := req()
		f.Request.Host = "10.0.0.1"
		f.Request.Port = 80
		f.Request.Headers.Set("Host", "example.com")
		checkAll(t, f, yes("~u ^http://example.com/path$"), no(`~u 10\.0\.0\.1`))
	})
	t.Run("code", func(t *testing.T) {
		checkAll(t, req(), no("~c 200"))
		checkAll(t, resp(), yes("~c 200"), yes("~c 0200"), no("~c 201"), no("~c 99999999999999999999999"))
	})
	t.Run("src", func(t *testing.T) {
		f := req()
		checkAll(t, f, yes("~src 127.0.0.1"), no("~src foobar"), yes("~src :22"), no("~src :99"), yes("~src 127.0.0.1:22"), yes(`~src ^127\.0\.0\.1:22$`))
		f.ClientConn.Peername = flow.Address{Host: "::1", Port: 22}
		checkAll(t, f, yes(`~src ^::1:22$`))
		f.ClientConn.Peername = flow.Address{}
		checkAll(t, f, no("~src ."), yes("!~src ."))
		f.ClientConn = nil
		checkAll(t, f, no("~src ."))
	})
	t.Run("dst", func(t *testing.T) {
		f := req()
		checkAll(t, f, yes("~dst address"), no("~dst foobar"), yes("~dst :22"), no("~dst :99"), yes("~dst address:22"))
		f.ServerConn.Address = flow.Address{}
		checkAll(t, f, no("~dst address:22"))
		f.ServerConn = nil
		checkAll(t, f, no("~dst address:22"))
	})
	t.Run("and", func(t *testing.T) {
		s := resp()
		checkAll(t, s, yes("~c 200 & ~h head"), no("~c 200 & ~h nohead"), yes("(~c 200 & ~h head) & ~b content"),
			no("(~c 200 & ~h head) & ~b nonexistent"), no("(~c 200 & ~h nohead) & ~b content"))
	})
	t.Run("or", func(t *testing.T) {
		s := resp()
		checkAll(t, s, yes("~c 200 | ~h nohead"), yes("~c 201 | ~h head"), no("~c 201 | ~h nohead"), yes("(~c 201 | ~h nohead) | ~s"))
	})
	t.Run("not", func(t *testing.T) {
		s := resp()
		checkAll(t, s, no("! ~c 200"), yes("! ~c 201"), yes("!~c 201 !~c 202"), no("!~c 201 !~c 200"))
	})
	t.Run("replay", func(t *testing.T) {
		f := req()
		checkAll(t, f, no("~replay"), no("~replayq"), no("~replays"))
		f.IsReplay = "request"
		checkAll(t, f, yes("~replay"), yes("~replayq"), no("~replays"))
		f.IsReplay = "response"
		checkAll(t, f, yes("~replay"), no("~replayq"), yes("~replays"))
	})
	t.Run("comment", func(t *testing.T) {
		f := req()
		checkAll(t, f, no("~comment ."))
		f.SetComment("first\nsecond")
		checkAll(t, f, yes("~comment ."), yes("~comment ^second$"), no("~comment first.second"))
	})
}

func matchBody(t *testing.T, q, s *flow.HTTPFlow) {
	t.Helper()
	checkAll(t, q, no("~b nonexistent"), yes("~b content"))
	checkAll(t, s, yes("~b message"))
	checkAll(t, s, no("~bq nomatch"), yes("~bq content"), no("~bq message"))
	checkAll(t, q, yes("~bq content"), no("~bq message"))
	for _, text := range []string{"яч", "测试", "ॐ", "لله", "θεός", "לוהים", "神", "하나님", "Äÿ"} {
		s.Response.SetText(text)
		checkAll(t, s, yes("~bs "+text))
	}
	checkAll(t, s, no("~bs nomatch"), no("~bs content"))
	checkAll(t, q, no("~bs content"), no("~bs message"))
	s.Response.SetText("message")
	checkAll(t, s, yes("~bs message"))
}

// metaDict is an insertion-ordered dict, like tnetstring.Dict.
type metaDict struct {
	keys []string
	vals map[string]any
}

func (d *metaDict) Keys() []string { return d.keys }
func (d *metaDict) Get(k string) (any, bool) {
	v, ok := d.vals[k]
	return v, ok
}

func TestMatchMetadata(t *testing.T) {
	f := tflow(tflowOpts{})
	f.Metadata.Set("a", int64(1))
	f.Metadata.Set("b", "string")
	f.Metadata.Set("c", &metaDict{keys: []string{"key", "n"}, vals: map[string]any{"key": "value", "n": nil}})
	f.Metadata.Set("d", []any{true, 1.5, []byte("by'tes"), "it's"})
	f.Metadata.Set("e", map[string]any{"z": 1e16, "y": 0.0001})
	checkAll(t, f,
		yes("~meta a"), no("~meta nope"), yes("~meta string"), yes("~meta key"), yes("~meta value"),
		yes(`~meta "b: string"`), yes(`~meta "^a: 1$"`),
		yes(`~meta "'key': 'value'"`), yes(`~meta "'n': None"`),
		// In quotes, a backslash escapes the next character, so regex
		// escapes need two.
		yes(`~meta "\\[True, 1\\.5, b\"by'tes\", \"it's\"\\]"`),
		yes(`~meta "\\{'y': 0\\.0001, 'z': 1e\\+16\\}"`),
		no(`~meta "'z': 1e\+16"`),
	)
	checkAll(t, tflow(tflowOpts{}), no("~meta ."), yes("~meta ^$"))
}

func TestPyRepr(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "True"}, {int64(-3), "-3"}, {1.0, "1.0"}, {0.1, "0.1"}, {1e16, "1e+16"},
		{1e15, "1000000000000000.0"}, {1.5e-5, "1.5e-05"}, {math.Copysign(0, -1), "-0.0"}, {123456789012345678.0, "1.2345678901234568e+17"},
		{"plain", "'plain'"}, {"it's", `"it's"`}, {`both'"`, `'both\'"'`}, {"tab\tnl\n\x00é\u200b", `'tab\tnl\n\x00é\u200b'`},
		{"bad\xffutf8", `'bad\udcffutf8'`}, {[]byte("a'b\x00\xff"), `b"a'b\x00\xff"`}, {[]any{}, "[]"},
		{map[string]any{"b": 1, "a": []string{"x"}}, "{'a': ['x'], 'b': 1}"},
	} {
		var sb strings.Builder
		writePyRepr(&sb, tc.v, 0)
		if sb.String() != tc.want {
			t.Errorf("repr(%#v) = %s, want %s", tc.v, sb.String(), tc.want)
		}
	}
}

func TestMatchWebSocket(t *testing.T) {
	f := twebsocketflow()
	checkAll(t, f, yes("~websocket"), no("~tcp"), yes("~http"))
	checkAll(t, tflow(tflowOpts{}), no("~websocket"))
	checkAll(t, tflow(tflowOpts{resp: true}), no("~websocket"))
	checkAll(t, f, yes("~d example.com"), no("~d none"))
	checkAll(t, f, yes("~u example.com"), yes("~u example.com/ws"), no("~u moo/path"))
	checkAll(t, f,
		yes("~b hello"), yes("~b me"), no("~b nonexistent"),
		yes("~bq hello"), no("~bq me"), no("~bq nonexistent"),
		yes("~bs me"), no("~bs hello"), no("~bs nonexistent"),
		yes("~bq binary"),
	)
	checkAll(t, f, yes("~src 127.0.0.1"), no("~src foobar"), yes("~src :22"), no("~src :99"), yes("~src 127.0.0.1:22"))
	checkAll(t, f, yes("~dst address"), yes("~dst :22"), no("~dst :99"))
	checkAll(t, f, yes("~b hello & ~b me"), no("~src wrongaddress & ~b hello"), yes("(~src :22 & ~dst :22) & ~b hello"))
	checkAll(t, f, yes("~b hello | ~b me"), no("~src :99 | ~dst :99"))
	checkAll(t, f, no("! ~src :22"), yes("! ~src :99"), yes("!~src :99 !~src :99"), no("!~src :99 !~src :22"))
	checkAll(t, f, yes("~c 101"), yes("~h upgrade"), yes("~hs websocket"))
}

func TestMatchTCP(t *testing.T) {
	f := ttcpflow(false)
	checkAll(t, f, yes("~tcp"), no("~udp"), no("~http"), no("~websocket"), yes("~all"))
	checkAll(t, ttcpflow(true), yes("~e"))
	checkAll(t, f, no("~e"))
	checkAll(t, f,
		yes("~b hello"), yes("~b me"), no("~b nonexistent"),
		yes("~bq hello"), no("~bq me"), no("~bq nonexistent"),
		yes("~bs me"), no("~bs hello"), no("~bs nonexistent"),
	)
	checkAll(t, f, yes("~src 127.0.0.1"), no("~src foobar"), yes("~src :22"), no("~src :99"), yes("~src 127.0.0.1:22"))
	checkAll(t, f, yes("~dst address"), no("~dst foobar"), yes("~dst :22"), no("~dst :99"), yes("~dst address:22"))
	checkAll(t, f, yes("~b hello & ~b me"), no("~src wrongaddress & ~b hello"), yes("(~src :22 & ~dst :22) & ~b hello"),
		no("(~src address:22 & ~dst :22) & ~b nonexistent"), no("(~src address:22 & ~dst :99) & ~b hello"))
	checkAll(t, f, yes("~b hello | ~b me"), yes("~src :22 | ~b me"), no("~src :99 | ~dst :99"), yes("(~src :22 | ~dst :22) | ~b me"))
	checkAll(t, f, no("! ~src :22"), yes("! ~src :99"), yes("!~src :99 !~src :99"), no("!~src :99 !~src :22"))
	// HTTP-only operators never match.
	checkAll(t, f, no("~q"), no("~s"), no("~h whatever"), no("~hq whatever"), no("~hs whatever"),
		no("~t whatever"), no("~tq whatever"), no("~ts whatever"), no("~c 200"), no("~d whatever"),
		no("~m whatever"), no("~u whatever"), no("whatever"), no("~a"))
	// Flow-level operators apply.
	f.SetMarked("x")
	f.SetComment("note")
	f.IsReplay = "request"
	f.Metadata.Set("k", "v")
	checkAll(t, f, yes("~marked"), yes("~marker x"), yes("~comment note"), yes("~replayq"), yes(`~meta "k: v"`))
}

func TestMatchOtherValues(t *testing.T) {
	var nilHTTP *flow.HTTPFlow
	var nilTCP *flow.TCPFlow
	for _, v := range []any{nil, "a string", 42, nilHTTP, nilTCP, markedFlow("x", flow.NewError("e"))} {
		checkAll(t, v, yes("~all"), no("~http"), no("~tcp"), no("~e"), no("~marked"), no("~q"), no("~s"),
			no("~src ."), no("~dst ."), no("~meta ^"), no("~comment ^"), no("~marker ^"), no("~replay"),
			no("~b ^"), no("~bq ^"), no("~bs ^"), no("~c 200"), no("~u ^"), no("~a"), no("~websocket"),
			yes("!~e"), yes("~all | ~e"))
	}
	if Match(nil, nil) != true || Match(All(), nil) != true || Match(MustParse("~q"), "x") {
		t.Error("Match with nil or non-flow values")
	}
	if All().String() != "all flows" {
		t.Errorf("All().String() = %q", All().String())
	}
}

func TestCaseSensitivity(t *testing.T) {
	f := tflow(tflowOpts{resp: true})
	f.SetComment("Note")
	exprs := []string{"~m get", "~u ADDRESS", "~d ADDRESS", "~h HEADER", "~b CONTENT", "~comment note", "~t X|^$", "~src 127"}
	insensitive := []bool{true, true, true, true, true, true, false, true}
	sensitive := []bool{false, false, false, false, false, false, false, true}
	for i, expr := range exprs {
		f.Request.Headers.Set("content-type", "x")
		for _, tc := range []struct {
			opts Options
			want bool
		}{{Options{}, insensitive[i]}, {Options{CaseSensitive: true}, sensitive[i]}} {
			flt, err := ParseWith(expr, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if expr == "~t X|^$" {
				tc.want = !tc.opts.CaseSensitive
			}
			if got := flt.Match(f); got != tc.want {
				t.Errorf("%q with %+v = %v, want %v", expr, tc.opts, got, tc.want)
			}
		}
	}
	// Parse reads the environment, once per call.
	t.Setenv(CaseSensitiveEnv, "1")
	if MustParse("~m get").Match(f) {
		t.Errorf("%s=1: ~m get matched GET", CaseSensitiveEnv)
	}
	t.Setenv(CaseSensitiveEnv, "0")
	if !MustParse("~m get").Match(f) {
		t.Errorf("%s=0: ~m get did not match GET", CaseSensitiveEnv)
	}
}

// TestBytesSemantics checks where bytes patterns (~b, ~h, ~t, ~m) differ
// from str patterns (~u, ~d, ...), as in Python.
func TestBytesSemantics(t *testing.T) {
	f := tflow(tflowOpts{resp: true})
	f.Response.SetContent([]byte("Kelvin \u212a ÉTÉ \xff\xfe end"))
	f.Request.Path = "/K%20\u212a/ÉTÉ"
	checkAll(t, f,
		// ASCII-only case folding for bytes; Unicode folding for str.
		yes("~bs kelvin"), no(`~bs "k\xe2\x84\xaa"`), yes("~bs ÉTÉ"), no("~bs été"),
		yes("~u été"), yes("~u k%20k"),
		// Single bytes.
		yes(`~bs \xff\xfe`), yes(`~bs [\xfe]`), no(`~bs [\xfd]`), no(`~bs "\\xc9T"`), yes(`~bs "\\xc3\\x89T"`), yes("~bs [É]T"),
		// \s in bytes mode includes \v; \w is ASCII.
		no(`~bs ÉT\w`), yes(`~u É\w`),
	)
	f.Response.SetContent([]byte("a\vb"))
	checkAll(t, f, yes(`~bs a\sb`))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		col  int
		msg  string
	}{
		{"", 0, "empty expression"},
		{"~b", 3, "~b expects a regex"},
		{"~h [", 4, "unterminated character set"},
		{"(~q)", 2, `"~q" must be followed by whitespace`},
		{`~u "(?=x)"`, 5, "lookahead"},
		{`~u "x\\1"`, 8, "invalid group reference"},
		{"a\n~x", 1, "unknown operator"},
	} {
		_, err := Parse(tc.expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tc.expr, err)
		}
		if !strings.HasPrefix(err.Error(), "Invalid filter expression: ") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", tc.expr, err, tc.msg)
		}
		if se.Column() != tc.col {
			t.Errorf("Parse(%q) column %d, want %d", tc.expr, se.Column(), tc.col)
		}
	}
	_, err := Parse(`~u "(?<=x)"`)
	var re *RegexError
	if !errors.As(err, &re) || re.Pattern != "(?<=x)" {
		t.Errorf("regex error does not unwrap to *RegexError: %v", err)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic")
		}
	}()
	MustParse("~nope")
}

func TestHelp(t *testing.T) {
	h := Help()
	if len(h) != int(numOps)+4 {
		t.Fatalf("%d help entries", len(h))
	}
	if h[0].Expr != "~a" || h[len(h)-1].Expr != "(...)" {
		t.Errorf("help order: first %q, last %q", h[0].Expr, h[len(h)-1].Expr)
	}
	for _, e := range h {
		if e.Help == "" {
			t.Errorf("%s has no help", e.Expr)
		}
		if strings.HasPrefix(e.Expr, "~") {
			code, _, _ := strings.Cut(e.Expr[1:], " ")
			if _, err := Parse(e.Expr[:1+len(code)] + map[bool]string{true: " x", false: ""}[strings.Contains(e.Expr, " regex")] + map[bool]string{true: " 1", false: ""}[strings.Contains(e.Expr, " int")]); err != nil {
				t.Errorf("help entry %q does not parse: %v", e.Expr, err)
			}
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	flt := MustParse(`~h "header: qvalue" & ~src 127 & ~b content & ~meta x`)
	f := tflow(tflowOpts{resp: true})
	f.Metadata.Set("x", 1)
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			ok := true
			for j := 0; j < 200; j++ {
				ok = ok && flt.Match(f)
			}
			done <- ok
		}()
	}
	for i := 0; i < 8; i++ {
		if !<-done {
			t.Error("concurrent match failed")
		}
	}
}

// TestAppendPrettyURL checks the allocation-free pretty_url against
// flow.Request.PrettyURL.
func TestAppendPrettyURL(t *testing.T) {
	hosts := []string{"", "example.com", "example.com:8080", "example.com:80", "example.com:443", "example.com:",
		"[::1]", "[::1]:8080", "::1", "a:b:c", "example.com:x", "example.com:123456", "[bad", "bad]:1", "h:00080", "ex ample"}
	for _, scheme := range []string{"http", "https"} {
		for _, target := range []string{"example.com", "10.0.0.1", "::1", "example.com:81"} {
			for _, port := range []int{80, 443, 8443} {
				for _, hh := range hosts {
					for _, version := range []string{"HTTP/1.1", "HTTP/2.0"} {
						r := &flow.Request{Method: "GET", Scheme: scheme, Host: target, Port: port, Path: "/p?q=1",
							Message: flow.Message{HTTPVersion: version}}
						if version == "HTTP/2.0" {
							r.Authority = hh
						} else if hh != "" {
							r.Headers.Set("Host", hh)
						}
						want := r.PrettyURL()
						got, ok := appendPrettyURL(nil, r)
						if ok && string(got) != want {
							t.Errorf("%s %s:%d Host %q: got %q, PrettyURL %q", scheme, target, port, hh, got, want)
						}
						rx, err := compilePy("^"+regexpQuote(want)+"$", false, 0)
						if err != nil {
							t.Fatal(err)
						}
						if !matchURL(rx, r) {
							t.Errorf("matchURL %q did not match itself", want)
						}
					}
				}
			}
		}
	}
	connect := &flow.Request{Method: "CONNECT", Authority: "example.com:443", Host: "example.com", Port: 443}
	checkAll(t, &flow.HTTPFlow{Request: connect}, yes("~u ^example.com:443$"))
}

func regexpQuote(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// markedFlow is a bare *flow.Flow (not a flow type the filters know) with a
// marker and an error.
func markedFlow(marker string, err *flow.Error) *flow.Flow {
	f := &flow.Flow{Error: err}
	f.SetMarked(marker)
	return f
}
