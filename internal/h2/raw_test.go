package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawConn is a hand-driven HTTP/2 peer for protocol edge cases.
type rawConn struct {
	t      testing.TB
	nc     net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
}

func newRaw(t testing.TB, nc net.Conn, decTable uint32) *rawConn {
	r := &rawConn{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	r.fr.ReadMetaHeaders = hpack.NewDecoder(decTable, nil)
	r.fr.MaxHeaderListSize = 1 << 20
	r.fr.SetMaxReadFrameSize(1 << 20)
	r.enc = hpack.NewEncoder(&r.encBuf)
	t.Cleanup(func() { nc.Close() })
	return r
}

// dialRaw connects a raw client: preface and (empty unless given) SETTINGS.
func dialRaw(t testing.TB, addr string, settings ...http2.Setting) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, nc, 4096)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	r.check(r.fr.WriteSettings(settings...))
	return r
}

// acceptRaw is a raw server: it accepts one connection from our client,
// reads the preface and sends SETTINGS.
func acceptRaw(t testing.TB, ln net.Listener, decTable uint32, settings ...http2.Setting) *rawConn {
	t.Helper()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, nc, decTable)
	buf := make([]byte, len(http2.ClientPreface))
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != http2.ClientPreface {
		t.Fatalf("preface %q %v", buf, err)
	}
	r.check(r.fr.WriteSettings(settings...))
	return r
}

func (r *rawConn) check(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) block(fields ...Field) []byte {
	r.encBuf.Reset()
	for _, f := range fields {
		r.enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value})
	}
	return append([]byte(nil), r.encBuf.Bytes()...)
}

func (r *rawConn) headers(id uint32, end bool, fields ...Field) {
	r.t.Helper()
	r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(fields...), EndStream: end, EndHeaders: true}))
}

func (r *rawConn) data(id uint32, end bool, p []byte) {
	r.t.Helper()
	r.check(r.fr.WriteData(id, end, p))
}

// read returns the next frame, or nil at EOF or a read error.
func (r *rawConn) read() http2.Frame {
	r.nc.SetReadDeadline(time.Now().Add(testTimeout))
	f, err := r.fr.ReadFrame()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset by peer") {
			return nil
		}
		r.t.Fatalf("read: %v", err)
	}
	return f
}

// expect reads frames until one satisfies ok, skipping the rest.
func (r *rawConn) expect(what string, ok func(http2.Frame) bool) http2.Frame {
	r.t.Helper()
	for {
		f := r.read()
		if f == nil {
			r.t.Fatalf("connection ended before %s", what)
		}
		if ok(f) {
			return f
		}
	}
}

func (r *rawConn) expectRST(id uint32, code http2.ErrCode) {
	r.t.Helper()
	f := r.expect("RST_STREAM", func(f http2.Frame) bool {
		_, ok := f.(*http2.RSTStreamFrame)
		g, isGoAway := f.(*http2.GoAwayFrame)
		if isGoAway {
			r.t.Fatalf("GOAWAY %v %q instead of RST_STREAM", g.ErrCode, g.DebugData())
		}
		return ok && f.Header().StreamID == id
	}).(*http2.RSTStreamFrame)
	if f.ErrCode != code {
		r.t.Fatalf("RST_STREAM %v, want %v", f.ErrCode, code)
	}
}

func (r *rawConn) expectGoAway(code http2.ErrCode) *http2.GoAwayFrame {
	r.t.Helper()
	f := r.expect("GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if f.ErrCode != code {
		r.t.Fatalf("GOAWAY %v %q, want %v", f.ErrCode, f.DebugData(), code)
	}
	return f
}

// expectResponse reads until the response HEADERS on id and returns them.
func (r *rawConn) expectResponse(id uint32) *http2.MetaHeadersFrame {
	r.t.Helper()
	return r.expect("response", func(f http2.Frame) bool {
		if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.StreamID == id {
			r.t.Fatalf("RST_STREAM %v instead of a response", rst.ErrCode)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			r.t.Fatalf("GOAWAY %v %q instead of a response", g.ErrCode, g.DebugData())
		}
		_, ok := f.(*http2.MetaHeadersFrame)
		return ok && f.Header().StreamID == id
	}).(*http2.MetaHeadersFrame)
}

func rawGet(path string) []Field { return get("a", path) }

func okHandler(s *Stream) {
	io.Copy(io.Discard, s)
	s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, true)
}

// TestServerProtocolErrors feeds a ServerConn frames a client must not send.
// Stream-level faults reset that stream and leave the connection usable;
// connection-level ones end it with GOAWAY.
func TestServerProtocolErrors(t *testing.T) {
	const big = 1<<31 - 1
	for _, tc := range []struct {
		name    string
		set     Settings
		send    func(r *rawConn)
		rst     http2.ErrCode // expected RST_STREAM on stream 1 ...
		goAway  http2.ErrCode // ... or GOAWAY, if isGoAway
		isGA    bool
		noRST   bool // send checks its own outcome
		logWant string
	}{
		{name: "uppercase name", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: "X-Upper", Value: "v"})...)
		}, rst: http2.ErrCodeProtocol, logWant: "Received uppercase header name X-Upper."},
		{name: "connection header", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: "connection", Value: "close"})...)
		}, rst: http2.ErrCodeProtocol, logWant: "Connection-specific header field present: connection."},
		{name: "transfer-encoding", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: "transfer-encoding", Value: "chunked"})...)
		}, rst: http2.ErrCodeProtocol},
		{name: "te gzip", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: "te", Value: "gzip"})...)
		}, rst: http2.ErrCodeProtocol},
		{name: "missing path", send: func(r *rawConn) {
			r.headers(1, true, Field{Name: ":method", Value: "GET"}, Field{Name: ":scheme", Value: "http"})
		}, rst: http2.ErrCodeProtocol},
		{name: "pseudo after regular", send: func(r *rawConn) {
			r.headers(1, true, Field{Name: ":method", Value: "GET"}, Field{Name: "x", Value: "1"}, Field{Name: ":path", Value: "/"}, Field{Name: ":scheme", Value: "http"})
		}, rst: http2.ErrCodeProtocol},
		{name: "status in request", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: ":status", Value: "200"})...)
		}, rst: http2.ErrCodeProtocol},
		{name: "content-length too short", send: func(r *rawConn) {
			r.headers(1, false, append(rawGet("/"), Field{Name: "content-length", Value: "5"})...)
			r.data(1, true, []byte("abc"))
		}, rst: http2.ErrCodeProtocol},
		{name: "content-length too long", send: func(r *rawConn) {
			r.headers(1, false, append(rawGet("/"), Field{Name: "content-length", Value: "2"})...)
			r.data(1, true, []byte("abc"))
		}, rst: http2.ErrCodeProtocol},
		{name: "trailers without END_STREAM", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/")...)
			r.headers(1, false, Field{Name: "x-t", Value: "1"})
		}, rst: http2.ErrCodeProtocol},
		{name: "pseudo in trailers", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/")...)
			r.headers(1, true, Field{Name: ":path", Value: "/"})
		}, rst: http2.ErrCodeProtocol},
		{name: "stream window exceeded", set: Settings{InitialWindowSize: 65535}, send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.data(1, false, make([]byte, 16384))
			r.data(1, false, make([]byte, 16384))
			r.data(1, false, make([]byte, 16384))
			r.data(1, false, make([]byte, 16383))
			r.data(1, false, make([]byte, 2))
		}, rst: http2.ErrCodeFlowControl},
		{name: "stream WINDOW_UPDATE overflow", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.check(r.fr.WriteWindowUpdate(1, big))
		}, rst: http2.ErrCodeFlowControl},
		{name: "stream WINDOW_UPDATE of 0", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.check(r.fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 1, []byte{0, 0, 0, 0}))
		}, rst: http2.ErrCodeProtocol},
		{name: "DATA after END_STREAM", send: func(r *rawConn) {
			r.headers(1, true, rawGet("/stall")...)
			r.data(1, false, []byte("x"))
		}, rst: http2.ErrCodeStreamClosed},
		{name: "too many streams", set: Settings{MaxConcurrentStreams: 1}, send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.headers(3, true, rawGet("/")...)
			r.expectRST(3, http2.ErrCodeRefusedStream)
			r.check(r.fr.WriteRSTStream(1, http2.ErrCodeCancel))
		}, noRST: true},

		{name: "DATA on idle stream", send: func(r *rawConn) { r.data(5, false, []byte("x")) }, isGA: true, goAway: http2.ErrCodeProtocol},
		{name: "even stream", send: func(r *rawConn) { r.headers(2, true, rawGet("/")...) }, isGA: true, goAway: http2.ErrCodeProtocol},
		{name: "connection WINDOW_UPDATE overflow", send: func(r *rawConn) {
			r.check(r.fr.WriteWindowUpdate(0, big))
		}, isGA: true, goAway: http2.ErrCodeFlowControl},
		{name: "PUSH_PROMISE from client", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.check(r.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: r.block(rawGet("/")...), EndHeaders: true}))
		}, isGA: true, goAway: http2.ErrCodeProtocol, logWant: "Received PUSH_PROMISE from client"},
		{name: "frame between HEADERS and CONTINUATION", send: func(r *rawConn) {
			r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(rawGet("/")...)}))
			r.check(r.fr.WritePing(false, [8]byte{}))
		}, isGA: true, goAway: http2.ErrCodeProtocol},
		{name: "frame too large", send: func(r *rawConn) {
			r.headers(1, false, rawGet("/stall")...)
			r.data(1, false, make([]byte, 16385))
		}, isGA: true, goAway: http2.ErrCodeFrameSize},
		{name: "HPACK garbage", send: func(r *rawConn) {
			r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0xff}, EndHeaders: true}))
		}, isGA: true, goAway: http2.ErrCodeCompression},
		{name: "RST_STREAM on idle stream", send: func(r *rawConn) {
			r.check(r.fr.WriteRSTStream(7, http2.ErrCodeCancel))
		}, isGA: true, goAway: http2.ErrCodeProtocol},
		{name: "invalid setting", send: func(r *rawConn) {
			r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100}))
		}, isGA: true, goAway: http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			ts := startServer(t, tc.set, func(s *Stream) {
				if pseudo(s.Header(), ":path") == "/stall" {
					select {
					case <-release:
					case <-s.Done():
					}
					return
				}
				okHandler(s)
			})
			r := dialRaw(t, ts.addr)
			tc.send(r)
			if tc.isGA {
				r.expectGoAway(tc.goAway)
				r.nc.Close() // the server lingers until we close
				testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "Serve did not return")
				var ce *ConnError
				if err := ts.serveResults()[0]; !errors.As(err, &ce) || ce.Code != tc.goAway || !strings.HasPrefix(err.Error(), "HTTP/2 protocol error: ") {
					t.Errorf("Serve = %v", err)
				}
			} else {
				if !tc.noRST {
					r.expectRST(1, tc.rst)
				}
				// The connection goes on.
				r.headers(11, true, rawGet("/")...)
				r.expectResponse(11)
			}
			if tc.logWant != "" && !strings.Contains(ts.log.String(), tc.logWant) {
				t.Errorf("log lacks %q:\n%s", tc.logWant, ts.log.String())
			}
		})
	}
}

// TestServerProtocolOK: things a client may do that must just work.
func TestServerProtocolOK(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  Settings
		send func(r *rawConn)
		want string // :status
	}{
		{name: "CONTINUATION", send: func(r *rawConn) {
			b := r.block(append(rawGet("/"), Field{Name: "x-long", Value: strings.Repeat("v", 100)})...)
			r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:5], EndStream: true}))
			r.check(r.fr.WriteContinuation(1, false, b[5:20]))
			r.check(r.fr.WriteContinuation(1, true, b[20:]))
		}, want: "200"},
		{name: "PRIORITY and unknown frames ignored", send: func(r *rawConn) {
			r.check(r.fr.WritePriority(1, http2.PriorityParam{StreamDep: 0, Weight: 10}))
			r.check(r.fr.WriteRawFrame(0xfa, 0, 0, []byte("unknown")))
			r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(rawGet("/")...), EndStream: true, EndHeaders: true,
				Priority: http2.PriorityParam{StreamDep: 0, Weight: 200}}))
		}, want: "200"},
		{name: "te trailers", send: func(r *rawConn) {
			r.headers(1, true, append(rawGet("/"), Field{Name: "te", Value: "trailers"})...)
		}, want: "200"},
		{name: "CONNECT", send: func(r *rawConn) {
			r.headers(1, true, Field{Name: ":method", Value: "CONNECT"}, Field{Name: ":authority", Value: "example.com:443"})
		}, want: "200"},
		{name: "padded DATA", send: func(r *rawConn) {
			r.headers(1, false, append(rawGet("/"), Field{Name: "content-length", Value: "3"})...)
			r.check(r.fr.WriteDataPadded(1, true, []byte("abc"), make([]byte, 50)))
		}, want: "200"},
		{name: "header list too large", set: Settings{MaxHeaderListSize: 16 << 10}, send: func(r *rawConn) {
			h := rawGet("/")
			for i := range 20 {
				h = append(h, Field{Name: "x-big", Value: strings.Repeat(string(rune('a'+i)), 1000)})
			}
			b := r.block(h...)
			r.check(r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:len(b)/2], EndStream: true}))
			r.check(r.fr.WriteContinuation(1, true, b[len(b)/2:]))
		}, want: "431"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.set, okHandler)
			r := dialRaw(t, ts.addr)
			tc.send(r)
			f := r.expectResponse(1)
			if got := f.PseudoValue("status"); got != tc.want {
				t.Fatalf(":status %s, want %s", got, tc.want)
			}
			// The HPACK context survived: another request works.
			r.headers(3, true, rawGet("/")...)
			r.expectResponse(3)
		})
	}
}

func TestServerSettingsAndPing(t *testing.T) {
	ts := startServer(t, Settings{MaxConcurrentStreams: 7, InitialWindowSize: 1 << 20, MaxFrameSize: 1 << 15}, okHandler)
	r := dialRaw(t, ts.addr)
	sf := r.expect("SETTINGS", func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && !s.IsAck() }).(*http2.SettingsFrame)
	for id, want := range map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: 7,
		http2.SettingInitialWindowSize:    1 << 20,
		http2.SettingMaxFrameSize:         1 << 15,
		http2.SettingMaxHeaderListSize:    DefaultMaxHeaderListSize,
	} {
		if v, ok := sf.Value(id); !ok || v != want {
			t.Errorf("%v = %d, want %d", id, v, want)
		}
	}
	r.expect("SETTINGS ACK", func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && s.IsAck() })
	r.check(r.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	p := r.expect("PING ACK", func(f http2.Frame) bool { _, ok := f.(*http2.PingFrame); return ok }).(*http2.PingFrame)
	if !p.IsAck() || p.Data != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Errorf("PING answer %+v", p)
	}
}

// TestServerPeerWindowChanges: a SETTINGS_INITIAL_WINDOW_SIZE change applies
// to open streams (also making windows negative), and sending waits for the
// peer's windows.
func TestServerPeerWindowChanges(t *testing.T) {
	body := pattern(100)
	ts := startServer(t, Settings{}, func(s *Stream) {
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
		s.Write(body)
		s.CloseWrite()
	})
	r := dialRaw(t, ts.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	r.headers(1, true, rawGet("/")...)
	r.expectResponse(1)
	readData := func(n int) []byte {
		var got []byte
		for len(got) < n {
			f := r.expect("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
			got = append(got, f.Data()...)
		}
		return got
	}
	got := readData(10)
	// Shrink: the window goes to 5-10 = -5; growing by 5 opens nothing.
	r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 5}))
	r.check(r.fr.WriteWindowUpdate(1, 5))
	r.check(r.fr.WritePing(false, [8]byte{9}))
	r.expect("PING ACK", func(f http2.Frame) bool {
		if d, ok := f.(*http2.DataFrame); ok && len(d.Data()) > 0 {
			t.Fatalf("DATA sent with a window of 0")
		}
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck()
	})
	// Grow: 95 more (5 → 100) lets the rest through.
	r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}))
	got = append(got, readData(90)...)
	if !bytes.Equal(got, body) {
		t.Fatalf("body %v", got)
	}
	f := r.expect("END_STREAM", func(f http2.Frame) bool { d, ok := f.(*http2.DataFrame); return ok && d.StreamEnded() })
	_ = f
}

func TestServerInvalidPreface(t *testing.T) {
	ts := startServer(t, Settings{}, okHandler)
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "Serve did not return")
	if err := ts.serveResults()[0]; err == nil || !strings.Contains(err.Error(), "invalid client preface") {
		t.Errorf("Serve = %v", err)
	}
}

// TestServerPeekedPreface: NewServerConn reads from r, which may hold bytes
// already peeked from the connection.
func TestServerPeekedPreface(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		peeked := make([]byte, 10)
		if _, err := io.ReadFull(nc, peeked); err != nil {
			served <- err
			return
		}
		sc := NewServerConn(nc, io.MultiReader(bytes.NewReader(peeked), nc), Settings{}, nil)
		served <- sc.Serve(context.Background(), okHandler)
	}()
	r := dialRaw(t, ln.Addr().String())
	r.headers(1, true, rawGet("/")...)
	r.expectResponse(1)
	r.nc.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// ---- our client against a raw server ----

func TestClientRawPushPromise(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
	r := acceptRaw(t, ln, 4096)
	sf := r.expect("SETTINGS", func(f http2.Frame) bool { _, ok := f.(*http2.SettingsFrame); return ok }).(*http2.SettingsFrame)
	if v, ok := sf.Value(http2.SettingEnablePush); !ok || v != 0 {
		t.Errorf("ENABLE_PUSH = %d, %v", v, ok)
	}
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get("a", "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	r.expect("HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	r.check(r.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: r.block(get("a", "/pushed")...), EndHeaders: true}))
	g := r.expectGoAway(http2.ErrCodeProtocol)
	if string(g.DebugData()) != "Received pushed stream" {
		t.Errorf("debug %q", g.DebugData())
	}
	r.nc.Close() // the client lingers until we close
	<-cc.Done()
	if err := cc.Err(); err == nil || err.Error() != "HTTP/2 protocol error: Received pushed stream" {
		t.Errorf("Err = %v", err)
	}
	if _, err := s.ReadHeader(ctx); err == nil {
		t.Error("stream survived")
	}
}

// TestClientRawGoAway: streams above GOAWAY's last stream ID fail
// retryably, those below finish.
func TestClientRawGoAway(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
	r := acceptRaw(t, ln, 4096)
	ctx := testCtx(t)
	s1, err := cc.OpenStream(ctx, get("a", "/1"), true)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := cc.OpenStream(ctx, get("a", "/3"), true)
	if err != nil {
		t.Fatal(err)
	}
	r.expect("HEADERS 3", func(f http2.Frame) bool { return f.Header().StreamID == 3 })
	r.check(r.fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye")))
	_, err = s3.ReadHeader(ctx)
	var g *GoAwayError
	if !errors.As(err, &g) || !Retryable(err) || g.LastStreamID != 1 || g.Debug != "bye" {
		t.Fatalf("stream 3: %v", err)
	}
	if want := "HTTP/2 connection closed: <ConnectionTerminated error_code:0, last_stream_id:1, additional_data:627965>"; err.Error() != want {
		t.Errorf("message %q", err)
	}
	if _, err := cc.OpenStream(ctx, get("a", "/5"), true); !Retryable(err) {
		t.Errorf("OpenStream after GOAWAY: %v", err)
	}
	r.headers(1, false, Field{Name: ":status", Value: "200"})
	r.data(1, true, []byte("one"))
	resp, err := readResponse(ctx, s1)
	if err != nil || string(resp.body) != "one" {
		t.Fatalf("stream 1: %v %+v", err, resp)
	}
	// With no streams left the client closes: half-close, then the raw
	// server sees EOF.
	for r.read() != nil {
	}
	r.nc.Close()
	<-cc.Done()
	if err := cc.Err(); !errors.As(err, &g) {
		t.Errorf("Err = %v", err)
	}
}

// TestClientRawResponseErrors: malformed responses reset the stream with a
// local *StreamError carrying the reason; the connection goes on.
func TestClientRawResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   func(r *rawConn)
		reason string
	}{
		{"uppercase", func(r *rawConn) {
			r.headers(1, true, Field{Name: ":status", Value: "200"}, Field{Name: "X-Foo", Value: "1"})
		}, "Received uppercase header name X-Foo."},
		{"DATA before HEADERS", func(r *rawConn) { r.data(1, true, []byte("x")) }, "Received HTTP/2 data frame, expected headers."},
		{"no status", func(r *rawConn) { r.headers(1, true, Field{Name: "x", Value: "1"}) }, "Header block missing mandatory :status header"},
		{"101", func(r *rawConn) { r.headers(1, false, Field{Name: ":status", Value: "101"}) }, "Invalid informational response 101"},
		{"request pseudo", func(r *rawConn) {
			r.headers(1, true, Field{Name: ":status", Value: "200"}, Field{Name: ":path", Value: "/"})
		}, "Received request-only pseudo-header :path in response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			defer ln.Close()
			cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
			r := acceptRaw(t, ln, 4096)
			ctx := testCtx(t)
			s, err := cc.OpenStream(ctx, get("a", "/"), true)
			if err != nil {
				t.Fatal(err)
			}
			r.expect("HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
			tc.send(r)
			_, err = readResponse(ctx, s)
			var se *StreamError
			if !errors.As(err, &se) || se.Remote || se.Code != http2.ErrCodeProtocol || se.Reason != tc.reason {
				t.Fatalf("err = %#v", err)
			}
			if err.Error() != "HTTP/2 protocol error: "+tc.reason {
				t.Errorf("message %q", err)
			}
			r.expectRST(1, http2.ErrCodeProtocol)
			if cc.Err() != nil {
				t.Fatal(cc.Err())
			}
		})
	}
}

// TestClientRawSettings: the server's MAX_CONCURRENT_STREAMS, window and
// header table settings are honoured.
func TestClientRawSettings(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
	// A decoder with a 0-byte dynamic table: our encoder must not index.
	r := acceptRaw(t, ln, 0,
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: 300},
	)
	ctx := testCtx(t)
	testutil.Eventually(t, testTimeout, func() bool {
		cc.c.mu.Lock()
		defer cc.c.mu.Unlock()
		return cc.c.peerMaxHeaderList == 300
	}, "SETTINGS not applied")
	if _, err := cc.OpenStream(ctx, get("a", "/", Field{Name: "x-big", Value: strings.Repeat("x", 300)}), true); !errors.Is(err, ErrHeaderListTooLarge) {
		t.Errorf("oversized head: %v", err)
	}
	s1, err := cc.OpenStream(ctx, post("a", "/1", Field{Name: "x-same", Value: "v"}), false)
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan *Stream, 1)
	go func() {
		s, err := cc.OpenStream(ctx, get("a", "/3", Field{Name: "x-same", Value: "v"}), true)
		if err != nil {
			t.Error(err)
		}
		opened <- s
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := s1.Write(pattern(100))
		if err == nil {
			err = s1.CloseWrite()
		}
		wrote <- err
	}()
	h := r.expect("HEADERS 1", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
	if v := h.PseudoValue("path"); v != "/1" {
		t.Fatalf("path %q", v)
	}
	var got []byte
	for len(got) < 10 {
		got = append(got, r.expect("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame).Data()...)
	}
	select {
	case <-opened:
		t.Fatal("second stream opened beyond MAX_CONCURRENT_STREAMS=1")
	default:
	}
	// More window and more streams.
	r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2}))
	// Stream 1's DATA and stream 3's HEADERS now come in any order.
	var h3 *http2.MetaHeadersFrame
	for len(got) < 100 || h3 == nil {
		switch f := r.read().(type) {
		case nil:
			t.Fatal("connection ended")
		case *http2.DataFrame:
			got = append(got, f.Data()...)
		case *http2.MetaHeadersFrame:
			h3 = f
		}
	}
	if !bytes.Equal(got, pattern(100)) {
		t.Fatalf("body %v", got)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if h3.StreamID != 3 || h3.PseudoValue("path") != "/3" {
		t.Fatalf("stream %d path %q", h3.StreamID, h3.PseudoValue("path"))
	}
	if s3 := <-opened; s3 == nil || s3.ID() != 3 {
		t.Fatalf("stream %v", s3)
	}
}

func TestClientRawKeepaliveTimeout(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	var log logBuf
	cc := dialClient(t, ln.Addr().String(), Settings{PingInterval: 30 * time.Millisecond}, log.logger())
	r := acceptRaw(t, ln, 4096)
	// Read everything, answer nothing.
	p := r.expect("PING", func(f http2.Frame) bool { p, ok := f.(*http2.PingFrame); return ok && !p.IsAck() }).(*http2.PingFrame)
	if p.Data != keepalivePayload() {
		t.Errorf("PING data %q", p.Data[:])
	}
	for r.read() != nil {
	}
	<-cc.Done()
	if !errors.Is(cc.Err(), ErrPingTimeout) {
		t.Errorf("Err = %v", cc.Err())
	}
}

func TestClientRawFlowControlErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(r *rawConn)
		code http2.ErrCode
	}{
		{"connection WINDOW_UPDATE overflow", func(r *rawConn) { r.check(r.fr.WriteWindowUpdate(0, 1<<31-1)) }, http2.ErrCodeFlowControl},
		{"ENABLE_PUSH=1", func(r *rawConn) {
			r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 1}))
		}, http2.ErrCodeProtocol},
		{"INITIAL_WINDOW_SIZE overflow", func(r *rawConn) {
			r.check(r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}))
		}, http2.ErrCodeFlowControl},
		{"HEADERS on idle stream", func(r *rawConn) { r.headers(9, true, Field{Name: ":status", Value: "200"}) }, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			defer ln.Close()
			cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
			r := acceptRaw(t, ln, 4096)
			tc.send(r)
			r.expectGoAway(tc.code)
			r.nc.Close()
			<-cc.Done()
			var ce *ConnError
			if !errors.As(cc.Err(), &ce) || ce.Code != tc.code {
				t.Errorf("Err = %v", cc.Err())
			}
		})
	}
}

// TestServerRapidReset: streams the client resets still count against the
// handler limit while their handlers run; new streams wait for a handler
// slot, and a client that keeps opening and resetting streams is cut off
// (CVE-2023-44487).
func TestServerRapidReset(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	ts := startServer(t, Settings{MaxConcurrentStreams: 2}, func(s *Stream) {
		running.Add(1)
		defer running.Add(-1)
		<-release // ignores resets, as a slow upstream would
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, true)
	})
	r := dialRaw(t, ts.addr)
	r.headers(1, false, rawGet("/")...)
	r.headers(3, false, rawGet("/")...)
	testutil.Eventually(t, testTimeout, func() bool { return running.Load() == 2 }, "handlers not started")
	r.check(r.fr.WriteRSTStream(1, http2.ErrCodeCancel))
	r.check(r.fr.WriteRSTStream(3, http2.ErrCodeCancel))
	// Stream 5 is accepted (the two above are closed) but waits for a
	// handler slot.
	r.headers(5, true, rawGet("/")...)
	r.check(r.fr.WritePing(false, [8]byte{5}))
	r.expect("PING ACK", func(f http2.Frame) bool {
		if _, ok := f.(*http2.RSTStreamFrame); ok {
			t.Fatalf("stream refused: %v", f)
		}
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck()
	})
	if n := running.Load(); n != 2 {
		t.Fatalf("%d handlers running, want 2", n)
	}
	close(release)
	if got := r.expectResponse(5).PseudoValue("status"); got != "200" {
		t.Fatalf("status %s", got)
	}

	// Opening and resetting streams while handlers are stuck ends the
	// connection once 4×MaxConcurrentStreams wait.
	stuck := make(chan struct{})
	defer close(stuck)
	ts2 := startServer(t, Settings{MaxConcurrentStreams: 1}, func(s *Stream) { <-stuck })
	r2 := dialRaw(t, ts2.addr)
	for id := uint32(1); id < 40; id += 2 {
		// Writes fail once the server has hung up.
		err := r2.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r2.block(rawGet("/")...), EndHeaders: true})
		if err == nil {
			err = r2.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err != nil {
			break
		}
	}
	r2.expectGoAway(http2.ErrCodeEnhanceYourCalm)
}
