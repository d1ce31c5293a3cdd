package script

import (
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

func dict(kv ...any) *tnetstring.Dict {
	d := tnetstring.NewDict()
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i].(string), kv[i+1])
	}
	return d
}

func TestApplyHTTP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ch    *tnetstring.Dict
		check func(t *testing.T, f *flow.HTTPFlow)
	}{
		{"request fields", dict("request", dict("path", []byte("/new"), "method", []byte("POST"), "port", int64(81),
			"headers", []any{[]any{[]byte("A"), []byte("1")}}, "content", []byte("body"))),
			func(t *testing.T, f *flow.HTTPFlow) {
				r := f.Request
				if r.Path != "/new" || r.Method != "POST" || r.Port != 81 || r.Headers.Get("a") != "1" || len(r.Headers) != 1 || string(r.RawContent) != "body" {
					t.Errorf("request: %+v", r)
				}
				if r.Host != "example.com" {
					t.Errorf("untouched field changed: host %q", r.Host)
				}
			}},
		{"empty body", dict("request", dict("content", []byte{})), func(t *testing.T, f *flow.HTTPFlow) {
			if f.Request.RawContent == nil || len(f.Request.RawContent) != 0 {
				t.Errorf("content = %#v", f.Request.RawContent)
			}
		}},
		{"missing body", dict("request", dict("content", nil)), func(t *testing.T, f *flow.HTTPFlow) {
			if f.Request.RawContent != nil {
				t.Errorf("content = %#v", f.Request.RawContent)
			}
		}},
		{"new response", dict("response", dict("status_code", int64(204), "reason", []byte("No Content"),
			"http_version", []byte("HTTP/1.1"), "headers", []any{}, "content", []byte{})),
			func(t *testing.T, f *flow.HTTPFlow) {
				if f.Response == nil || f.Response.StatusCode != 204 || f.Response.Reason != "No Content" {
					t.Errorf("response: %+v", f.Response)
				}
			}},
		{"stream", dict("request", dict("stream", true)), func(t *testing.T, f *flow.HTTPFlow) {
			if !f.Request.Stream {
				t.Error("stream not set")
			}
		}},
		{"flow fields", dict("marked", ":x:", "comment", "c", "metadata", dict("k", int64(1)),
			"error", dict("msg", "bad", "timestamp", 1.5)),
			func(t *testing.T, f *flow.HTTPFlow) {
				v, _ := f.Metadata.Get("k")
				if f.Marked() != ":x:" || f.Comment() != "c" || v != int64(1) || f.Error == nil || f.Error.Msg != "bad" {
					t.Errorf("flow: marked %q comment %q metadata %v error %v", f.Marked(), f.Comment(), f.Metadata, f.Error)
				}
			}},
		{"kill", dict("actions", []any{"kill"}, "error", dict("msg", flow.KilledMessage, "timestamp", 2.0)),
			func(t *testing.T, f *flow.HTTPFlow) {
				if !f.Killed() || f.IsLive() {
					t.Errorf("killed %v live %v", f.Killed(), f.IsLive())
				}
			}},
		{"intercept", dict("actions", []any{"intercept"}), func(t *testing.T, f *flow.HTTPFlow) {
			if !f.IsIntercepted() {
				t.Error("not intercepted")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(t, "GET", "http://example.com/", 0, "")
			if err := applyHTTP(f, tc.ch); err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}

func TestApplyHTTPErrors(t *testing.T) {
	for _, ch := range []*tnetstring.Dict{
		dict("request", nil),
		dict("request", dict("headers", "not a list")),
		dict("response", dict("headers", []any{[]any{[]byte("only name")}})),
		dict("metadata", "x"),
		dict("error", int64(1)),
	} {
		f := newFlow(t, "GET", "http://example.com/", 200, "")
		if err := applyHTTP(f, ch); err == nil {
			t.Errorf("%v: no error", ch)
		}
	}
}

// FuzzApplyChanges feeds arbitrary replies to the code that applies them:
// a confused or malicious child must not crash the proxy.
func FuzzApplyChanges(f *testing.F) {
	for _, ch := range []*tnetstring.Dict{
		dict("request", dict("path", []byte("/x"))),
		dict("response", dict("status_code", int64(1), "headers", []any{[]any{[]byte("a"), []byte("b")}})),
		dict("actions", []any{"kill", "intercept", "resume"}),
		dict("websocket", dict("messages", []any{[]any{int64(0), []any{int64(1), true, []byte("x"), 1.0, false, false}}})),
		dict("messages", []any{[]any{int64(0), []any{true, []byte("x"), 1.0}}}),
	} {
		b, _ := tnetstring.Marshal(ch)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _, err := tnetstring.Unmarshal(data)
		if err != nil {
			return
		}
		ch, ok := v.(*tnetstring.Dict)
		if !ok {
			return
		}
		hf := newFlow(t, "GET", "http://example.com/", 200, "x")
		hf.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{{Type: 1, Content: []byte("m")}}}
		_ = applyHTTP(hf, ch)
		tf := flow.NewTCPFlow(hf.ClientConn, hf.ServerConn)
		tf.Messages = []*flow.TCPMessage{{FromClient: true, Content: []byte("x")}}
		_ = applyTCP(tf, ch)
		applyClient(hf.ClientConn, ch)
		applyServer(hf.ServerConn, ch)
	})
}
