package script

import (
	"math"
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// TestPyStateMatchesState: the parts written straight from a flow
// (pystate.go) decode to what the state dict's way gives, key order
// included, for flows with every field set and with none.
func TestPyStateMatchesState(t *testing.T) {
	yes := true
	tls := func(f *flow.HTTPFlow) {
		c := f.ClientConn
		c.TLS, c.CertificateList, c.ALPN, c.ALPNOffers = true, [][]byte{[]byte("leaf"), []byte("ca")}, "h2", []string{"h2", "http/1.1"}
		c.Cipher, c.CipherList, c.TLSVersion, c.SNI = "TLS_AES_128_GCM_SHA256", []string{"a", "b"}, "TLSv1.3", "example.com"
		c.TimestampTLSSetup, c.MitmCert, c.Error = 4.25, []byte("mitm"), "client gone"
		c.SetTimestampEnd(5.5)
		c.ProxyMode = ""
		s := f.ServerConn
		s.TLS, s.CertificateList, s.SNI, s.Peername, s.Sockname = true, [][]byte{[]byte("srv")}, "example.com",
			flow.Address{Host: "93.184.216.34", Port: 443}, flow.Address{Host: "10.0.0.1", Port: 5555}
		s.TimestampStart, s.TimestampTCPSetup, s.TransportProtocol = 1.5, 1.75, "udp"
		s.SetTimestampEnd(9)
		s.Via = &flow.ServerSpec{Scheme: "http", Address: flow.Address{Host: "proxy", Port: 3128}}
	}
	cases := []struct {
		name  string
		make  func() *flow.HTTPFlow
		base  int
		limit int64
	}{
		{"plain", func() *flow.HTTPFlow {
			return newFlow(t, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
		}, 0, 1 << 20},
		{"no response", func() *flow.HTTPFlow { return newFlow(t, "GET", "http://example.com/x?y=1", 0, "") }, 0, 1 << 20},
		{"everything", func() *flow.HTTPFlow {
			f := newFlow(t, "POST", "https://example.com:8443/p", 404, "nope", "A", "1", "A", "2")
			tls(f)
			f.Request.RawContent = []byte("body")
			f.Request.Trailers = flow.NewHeaders("T", "v")
			f.Request.Stream = true
			f.Response.Stream = true
			f.Response.TimestampEnd = 0
			f.Error = &flow.Error{Msg: "boom", Timestamp: 7}
			f.IsReplay = "request"
			f.SetMarked(":star:")
			f.SetComment("a comment")
			f.Metadata.Set("n", int64(3))
			f.Metadata.Set("big", int64(math.MaxInt64))
			d := tnetstring.NewDict()
			d.Set("k", []any{"v", 1.5, nil, true, []byte{0xff}})
			f.Metadata.Set("d", d)
			f.Intercept()
			f.WebSocket = &flow.WebSocketData{
				Messages: []*flow.WebSocketMessage{
					{Type: 1, FromClient: true, Content: []byte("hi"), Timestamp: 1},
					{Type: 2, Content: nil, Timestamp: 2, Dropped: true, Injected: true},
				},
				ClosedByClient: &yes, CloseCode: 1000, CloseReason: "", TimestampEnd: 3,
			}
			return f
		}, 1, 1 << 20},
		{"ws open, all messages", func() *flow.HTTPFlow {
			f := newFlow(t, "GET", "http://example.com/ws", 101, "")
			f.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{{Type: 1, Content: []byte("x")}}, CloseReason: "r"}
			return f
		}, 0, 1 << 20},
		{"lazy bodies", func() *flow.HTTPFlow {
			f := newFlow(t, "PUT", "http://example.com/", 200, "a long response body")
			f.Request.RawContent = []byte("a long request body")
			return f
		}, 0, 4},
		{"no bodies at all", func() *flow.HTTPFlow { return newFlow(t, "GET", "http://example.com/", 200, "x") }, 0, -1},
		{"nil connections", func() *flow.HTTPFlow {
			f := newFlow(t, "GET", "http://example.com/", 200, "")
			f.ClientConn, f.ServerConn = nil, nil
			f.Response.RawContent = nil
			return f
		}, 0, 1 << 20},
	}
	a := NewWithConfig(Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.make()
			fast, err := a.httpEnvelopeFast("response", f, tc.base, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := a.httpEnvelopeState("response", f, tc.base, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast.Keys(), slow.Keys()) {
				t.Fatalf("keys %v, want %v", fast.Keys(), slow.Keys())
			}
			for _, e := range slow.Entries {
				got, _ := fast.Get(e.Key)
				want := e.Value
				if b, ok := want.([]byte); ok {
					if want, err = decodePart(b); err != nil {
						t.Fatal(err)
					}
					if got, err = decodePart(got.([]byte)); err != nil {
						t.Fatalf("%s: %v", e.Key, err)
					}
				}
				if !reflect.DeepEqual(norm(got), norm(want)) {
					t.Errorf("%s:\n got %v\nwant %v", e.Key, norm(got), norm(want))
				}
			}
		})
	}
	// What marshal cannot carry goes the state way, with its error.
	f := newFlow(t, "GET", "http://example.com/", 200, "")
	f.Metadata.Set("odd", struct{}{})
	if _, err := a.httpEnvelopeFast("response", f, 0, 0); err == nil {
		t.Error("an odd metadata value was written")
	}
	if _, err := a.httpEnvelope("response", f, 0, 0); err == nil {
		t.Error("an odd metadata value was sent")
	}
}

// TestHookAllocs bounds the Go side's allocations for building a hook call.
func TestHookAllocs(t *testing.T) {
	a := NewWithConfig(Config{})
	f := newFlow(t, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
	n := testing.AllocsPerRun(100, func() {
		m, err := a.httpMessage("response", f, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := frameMsg(m); err != nil {
			t.Fatal(err)
		}
	})
	if n > 30 {
		t.Errorf("%v allocations to build a hook call", n)
	}
	t.Logf("%v allocations", n)
}

// TestConnPartsMatchState: the connection hooks' parts, written straight
// from the connections, decode to their state dicts; one that marshal
// cannot carry (an invalid UTF-8 str) fails as the state way does.
func TestConnPartsMatchState(t *testing.T) {
	f := newFlow(t, "GET", "https://example.com/", 200, "")
	f.ClientConn.TLS, f.ClientConn.SNI, f.ClientConn.CertificateList = true, "example.com", [][]byte{[]byte("c")}
	f.ServerConn.Via = &flow.ServerSpec{Scheme: "https", Address: flow.Address{Host: "up", Port: 1}}
	for _, tc := range []struct {
		c *flow.Client
		s *flow.Server
	}{{f.ClientConn, f.ServerConn}, {f.ClientConn, nil}, {nil, f.ServerConn}} {
		cc, sc, err := connParts(tc.c, tc.s)
		if err != nil {
			t.Fatal(err)
		}
		wc, ws := connStates(tc.c, tc.s)
		for _, p := range []struct {
			got  []byte
			want *tnetstring.Dict
		}{{cc, wc}, {sc, ws}} {
			if (p.got == nil) != (p.want == nil) {
				t.Fatalf("part %v, state %v", p.got, p.want)
			}
			if p.got == nil {
				continue
			}
			got, err := decodePart(p.got)
			if err != nil {
				t.Fatal(err)
			}
			tb, _ := tnetstring.Marshal(p.want)
			want, _, _ := tnetstring.Unmarshal(tb)
			if !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("got %v\nwant %v", norm(got), norm(want))
			}
		}
	}
	bad := *f.ClientConn
	bad.SNI = "\xff"
	if _, _, err := connParts(&bad, nil); err == nil {
		t.Error("an invalid UTF-8 SNI was sent")
	}
}

// TestGoChangeBetweenHooks: what Go changes in a flow between two hook
// calls of a script (another addon, a command) is what the script sees in
// the next one, and what the script changed reaches Go.
func TestGoChangeBetweenHooks(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/between.py"
	writeBench(t, path, `
def request(flow):
    flow.request.headers["x-py"] = "1"

def response(flow):
    flow.response.headers["x-seen"] = ",".join(
        [flow.request.headers.get("x-go", "-"), flow.request.path, flow.request.headers.get("x-py", "-"),
         flow.response.headers.get("x-go-resp", "-"), flow.metadata.get("go", "-")])
`)
	e := newEnv(t, Config{}, nil, path)
	f := newFlow(t, "GET", "http://example.com/a", 0, "")
	e.m.Request(f)
	if got := f.Request.Headers.Get("x-py"); got != "1" {
		t.Fatalf("the request hook's change did not reach Go: %q", got)
	}
	// A Go addon between the hooks.
	f.Request.Headers.Set("x-go", "2")
	f.Request.Path = "/b"
	f.Response = flow.NewResponse(200, []byte("ok"), flow.NewHeaders("x-go-resp", "3"))
	f.Metadata.Set("go", "4")
	e.m.Response(f)
	if got, want := f.Response.Headers.Get("x-seen"), "2,/b,1,3,4"; got != want {
		t.Errorf("the response hook saw %q, want %q", got, want)
	}
}
