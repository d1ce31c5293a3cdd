package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/proxy"
)

// recorder is a Go addon that records the hooks it sees.
type recorder struct {
	mu     sync.Mutex
	events []string
	flows  []*flow.HTTPFlow
	onReq  func(f *flow.HTTPFlow)
	onHdrs func(f *flow.HTTPFlow)
	onResp func(f *flow.HTTPFlow)
}

func (r *recorder) add(ev string, f *flow.HTTPFlow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if f != nil && (ev == "response" || ev == "error") {
		r.flows = append(r.flows, f)
	}
}

func (r *recorder) RequestHeaders(f *flow.HTTPFlow) {
	r.add("requestheaders", f)
	if r.onHdrs != nil {
		r.onHdrs(f)
	}
}

func (r *recorder) Request(f *flow.HTTPFlow) {
	r.add("request", f)
	if r.onReq != nil {
		r.onReq(f)
	}
}
func (r *recorder) ResponseHeaders(f *flow.HTTPFlow) { r.add("responseheaders", f) }
func (r *recorder) Response(f *flow.HTTPFlow) {
	r.add("response", f)
	if r.onResp != nil {
		r.onResp(f)
	}
}
func (r *recorder) Error(f *flow.HTTPFlow)          { r.add("error", f) }
func (r *recorder) HTTPConnect(f *flow.HTTPFlow)    { r.add("http_connect", f) }
func (r *recorder) ClientConnected(*flow.Client)    { r.add("client_connected", nil) }
func (r *recorder) ClientDisconnected(*flow.Client) { r.add("client_disconnected", nil) }
func (r *recorder) ServerConnected(*addon.ServerConnectionData) {
	r.add("server_connected", nil)
}
func (r *recorder) ServerDisconnected(*addon.ServerConnectionData) {
	r.add("server_disconnected", nil)
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) Flows() []*flow.HTTPFlow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*flow.HTTPFlow(nil), r.flows...)
}

func (r *recorder) waitEvent(t *testing.T, ev string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range r.Events() {
			if e == ev {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s event; got %v", ev, r.Events())
}

// startProxy runs a proxy in-process with the given addons and options.
func startProxy(t *testing.T, rec *recorder, sets ...string) string {
	t.Helper()
	return startProxyTB(t, rec, sets...)
}

func startProxyB(b *testing.B, sets ...string) string { return startProxyTB(b, nil, sets...) }

func startProxyTB(t testing.TB, rec *recorder, sets ...string) string {
	var extra []any
	if rec != nil {
		extra = append(extra, rec)
	}
	return startProxyAddons(t, extra, sets...)
}

// startProxyWith runs a proxy in-process with one addon of the test's.
func startProxyWith(t *testing.T, a any, sets ...string) string {
	t.Helper()
	return startProxyAddons(t, []any{a}, sets...)
}

func startProxyAddons(t testing.TB, extra []any, sets ...string) string {
	_, addr := serveProxy(t, extra, sets...)
	return addr
}

// serveProxy runs a proxy server in-process with the extra addons and
// option settings until the test ends, and returns it and its address.
func serveProxy(t testing.TB, extra []any, sets ...string) (*proxy.Server, string) {
	srv, ln := listenProxy(t, extra, sets...)
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return srv, ln.Addr().String()
}

// listenProxy makes a proxy server with the extra addons and option
// settings, listening on 127.0.0.1; the caller serves and shuts it down.
func listenProxy(t testing.TB, extra []any, sets ...string) (*proxy.Server, net.Listener) {
	srv, err := newProxyServer(t, extra, sets...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	return srv, ln
}

// newProxyServer makes a proxy server with the extra addons and option
// settings (listen_host=127.0.0.1 and listen_port=0 first), configured.
func newProxyServer(t testing.TB, extra []any, sets ...string) (*proxy.Server, error) {
	t.Helper()
	m := addon.NewManager()
	// Declared by the command line in mitmdump; the tlsconfig addon
	// reads it.
	m.Options().MustAdd("confdir", addon.String, "~/.mitmproxy", "")
	srv := proxy.New(m)
	if err := m.Add(append([]any{srv}, extra...)...); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(append([]string{"listen_host=127.0.0.1", "listen_port=0"}, sets...)...); err != nil {
		return nil, err
	}
	if err := m.ConfigureAll(); err != nil {
		return nil, err
	}
	return srv, nil
}

// roundTrip sends raw bytes to the proxy, closes its sending half, and
// reads until the connection closes. A proxy takes the half-close as the
// client leaving (as mitmproxy does): an exchange that takes the server
// long needs roundTripOpen.
func roundTrip(t *testing.T, addr, raw string) string {
	t.Helper()
	return roundTripHalf(t, addr, raw, true)
}

// roundTripOpen is roundTrip with the client's side left open: raw must ask
// the proxy to close the connection after the response (Connection: close).
func roundTripOpen(t *testing.T, addr, raw string) string {
	t.Helper()
	return roundTripHalf(t, addr, raw, false)
}

func roundTripHalf(t *testing.T, addr, raw string, halfClose bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if tc, ok := c.(*net.TCPConn); ok && halfClose {
		_ = tc.CloseWrite()
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestFidelityRequestAndResponseBytes(t *testing.T) {
	const response = "HTTP/1.1 200 Everything Fine\r\nx-lower: a\r\nX-UPPER: b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, response)
	})
	addr := startProxy(t, nil)
	req := "POST http://" + origin.Addr + "/path?q=1 HTTP/1.1\r\n" +
		"Host: " + origin.Addr + "\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"X-Mixed-CASE:   spaced value  \r\n" +
		"dup: 1\r\n" +
		"Dup: 2\r\n" +
		"Transfer-Encoding: chunked\r\n" +
		"Connection: close\r\n\r\n" +
		"3\r\nabc\r\n0\r\nX-Req-Trailer: yes\r\n\r\n"
	got := roundTrip(t, addr, req)
	wantResp := "HTTP/1.1 200 Everything Fine\r\nx-lower: a\r\nX-UPPER: b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"b\r\nhello world\r\n0\r\nX-Trailer: t\r\n\r\n"
	if got != wantResp {
		t.Errorf("client got\n%q\nwant\n%q", got, wantResp)
	}
	wantReq := "POST /path?q=1 HTTP/1.1\r\n" +
		"Host: " + origin.Addr + "\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"X-Mixed-CASE: spaced value\r\n" +
		"dup: 1\r\n" +
		"Dup: 2\r\n" +
		"Transfer-Encoding: chunked\r\n" +
		"Connection: close\r\n\r\n" +
		"3\r\nabc\r\n0\r\nX-Req-Trailer: yes\r\n\r\n"
	if rcv := string(origin.Received(0)); rcv != wantReq {
		t.Errorf("origin got\n%q\nwant\n%q", rcv, wantReq)
	}
}

func TestKeepAliveBothSides(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	rec := &recorder{}
	addr := startProxy(t, rec)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET http://%s/%d HTTP/1.1\r\nHost: %s\r\n\r\n", origin.Addr, i, origin.Addr)
		resp := readResponse(t, br)
		if !strings.HasSuffix(resp, "\r\n\r\nok") {
			t.Fatalf("response %d: %q", i, resp)
		}
	}
	if n := origin.Conns(); n != 1 {
		t.Errorf("origin saw %d connections, want 1 (keep-alive upstream)", n)
	}
	// HTTP/1.0 without keep-alive closes.
	fmt.Fprintf(c, "GET http://%s/x HTTP/1.0\r\n\r\n", origin.Addr)
	resp, _ := io.ReadAll(br)
	if !strings.HasSuffix(string(resp), "ok") {
		t.Fatalf("HTTP/1.0 response: %q", resp)
	}
}

// readResponse reads one response with a Content-Length body.
func readResponse(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var sb strings.Builder
	cl := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading response: %v (%q)", err, sb.String())
		}
		sb.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			fmt.Sscanf(strings.TrimSpace(line[len("content-length:"):]), "%d", &cl)
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, cl)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	sb.Write(body)
	return sb.String()
}

func TestNoBodyResponses(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			raw, err := testutil.ReadRequest(r)
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(string(raw), "HEAD"):
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
			case strings.Contains(string(raw), "/204"):
				io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			case strings.Contains(string(raw), "/304"):
				io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n")
			}
		}
	})
	addr := startProxy(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, tc := range []struct{ method, path, status string }{
		{"HEAD", "/h", "200"}, {"GET", "/204", "204"}, {"GET", "/304", "304"}, {"HEAD", "/h2", "200"},
	} {
		fmt.Fprintf(c, "%s http://%s%s HTTP/1.1\r\nHost: x\r\n\r\n", tc.method, origin.Addr, tc.path)
		line, err := br.ReadString('\n')
		if err != nil || !strings.Contains(line, tc.status) {
			t.Fatalf("%s %s: status line %q, %v", tc.method, tc.path, line, err)
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if l == "\r\n" {
				break
			}
		}
	}
}

func TestExpectContinue(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	addr := startProxy(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "PUT http://%s/up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", origin.Addr)
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, want 100 Continue before the body is sent", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "data")
	line, _ = br.ReadString('\n')
	if !strings.Contains(line, "200") {
		t.Fatalf("final response %q", line)
	}
	if strings.Contains(strings.ToLower(string(origin.Received(0))), "expect:") {
		t.Errorf("Expect header forwarded: %q", origin.Received(0))
	}
}

func TestCloseDelimitedResponse(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nbody until close")
	})
	addr := startProxy(t, nil)
	got := roundTrip(t, addr, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if got != "HTTP/1.1 200 OK\r\n\r\nbody until close" {
		t.Errorf("got %q", got)
	}
}

func TestAddonAnswersRequest(t *testing.T) {
	rec := &recorder{onReq: func(f *flow.HTTPFlow) {
		f.Response = flow.NewResponse(418, []byte("teapot"), flow.NewHeaders("X-From", "addon"))
	}}
	addr := startProxy(t, rec)
	// The target does not exist: the server must not be contacted.
	got := roundTrip(t, addr, "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 418 I'm a teapot\r\nX-From: addon\r\ncontent-length: 6\r\n\r\nteapot") {
		t.Errorf("got %q", got)
	}
	ev := strings.Join(rec.Events(), ",")
	if !strings.Contains(ev, "requestheaders,request,response") || strings.Contains(ev, "server_connected") {
		t.Errorf("events %s", ev)
	}
}

func TestKilledFlow(t *testing.T) {
	rec := &recorder{onReq: func(f *flow.HTTPFlow) { _ = f.Kill() }}
	addr := startProxy(t, rec)
	got := roundTrip(t, addr, "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if got != "" {
		t.Errorf("killed flow answered %q", got)
	}
	rec.waitEvent(t, "error")
	if f := rec.Flows()[0]; f.Error == nil || f.Error.Msg != flow.KilledMessage {
		t.Errorf("flow error %v", f.Error)
	}
}

func TestPlainRequestToProxy(t *testing.T) {
	addr := startProxy(t, nil)
	got := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request") || !strings.Contains(got, "HTTP proxy") {
		t.Errorf("got %q", got)
	}
}

func TestMalformedRequest(t *testing.T) {
	addr := startProxy(t, nil)
	for _, raw := range []string{
		"garbage\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\nbad header line\r\n\r\n",
		"POST http://127.0.0.1:1/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET http://x/ HTTP/9\r\n\r\n",
	} {
		got := roundTrip(t, addr, raw)
		if !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request") {
			t.Errorf("%q: got %q", raw, got)
		}
	}
}

func TestUpstreamFailures(t *testing.T) {
	refused := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	reset := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		c.(*net.TCPConn).SetLinger(0)
	})
	garbage := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "this is not http\r\n\r\n")
	})
	silent := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		time.Sleep(3 * time.Second)
	})
	truncated := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
	})
	rec := &recorder{}
	addr := startProxy(t, rec, "tcp_timeout=1")
	for _, tc := range []struct{ name, addr, want string }{
		{"refused", refused, "refused"},
		{"reset", reset.Addr, "reset"},
		{"garbage", garbage.Addr, "invalid response"},
		{"timeout", silent.Addr, "timed out"},
		{"truncated", truncated.Addr, "disconnected while sending the response body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTripOpen(t, addr, "GET http://"+tc.addr+"/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(got, "HTTP/1.1 502 Bad Gateway") || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want a 502 mentioning %q", got, tc.want)
			}
		})
	}
	var errs int
	for _, f := range rec.Flows() {
		if f.Error != nil {
			errs++
		}
	}
	if errs != 5 {
		t.Errorf("%d flows with errors, want 5; events %v", errs, rec.Events())
	}
}

func TestBodySizeLimit(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789")
	})
	addr := startProxy(t, nil, "body_size_limit=10")
	got := roundTrip(t, addr, "POST http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890")
	if !strings.HasPrefix(got, "HTTP/1.1 413") {
		t.Errorf("large request: %q", got)
	}
	got = roundTrip(t, addr, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502") || !strings.Contains(got, "too large") {
		t.Errorf("large response: %q", got)
	}
}

func TestStreamLargeBodies(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
	})
	rec := &recorder{}
	addr := startProxy(t, rec, "stream_large_bodies=10k")
	got := roundTrip(t, addr, "POST http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 20000\r\n\r\n"+big[:20000])
	if !strings.HasSuffix(got, big) {
		t.Fatalf("streamed response truncated: %d bytes", len(got))
	}
	if rcv := origin.Received(0); !strings.HasSuffix(string(rcv), big[:20000]) {
		t.Errorf("streamed request body not forwarded")
	}
	rec.waitEvent(t, "response")
	f := rec.Flows()[0]
	if f.Response.RawContent != nil || f.Request.RawContent != nil {
		t.Errorf("streamed bodies were stored")
	}
}

// TestStreamedBodyCutShort: a streamed Content-Length body whose sender
// goes away before the declared length is a failed transfer, not a
// complete body. A response cut short ends the client's connection (the
// client sees the body is short, and does not wait for the rest); a
// request cut short fails the flow and closes the server connection at
// once (the proxy used to wait for a response the server would never
// send, holding both connections until the server gave up).
func TestStreamedBodyCutShort(t *testing.T) {
	t.Run("response", func(t *testing.T) {
		origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
			testutil.ReadRequest(r)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n%s", strings.Repeat("x", 300_000))
			// Closed by the caller on return: 700,000 bytes short.
		})
		rec := &recorder{}
		addr := startProxy(t, rec, "stream_large_bodies=10k")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: x\r\n\r\n", origin.Addr)
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("the client connection was not closed: %v after %d bytes", err, len(got))
		}
		if body := got[bytes.Index(got, []byte("\r\n\r\n"))+4:]; len(body) != 300_000 {
			t.Errorf("client got %d body bytes, want the 300000 sent", len(body))
		}
		rec.waitEvent(t, "error")
		if f := rec.Flows()[0]; f.Error == nil || !strings.Contains(f.Error.Msg, "disconnected while sending the response body") {
			t.Errorf("flow error = %v", f.Error)
		}
	})
	t.Run("request", func(t *testing.T) {
		originSaw := make(chan error, 1)
		origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
			testutil.ReadRequest(r) // the head; then the body until the proxy gives up
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.Copy(io.Discard, r)
			originSaw <- err
		})
		rec := &recorder{}
		addr := startProxy(t, rec, "stream_large_bodies=10k")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST http://%s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n%s", origin.Addr, strings.Repeat("y", 150_000))
		c.Close()
		select {
		case err := <-originSaw:
			if err != nil {
				t.Errorf("origin: %v, want the proxy to close the connection", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the proxy kept the server connection open")
		}
		rec.waitEvent(t, "error")
		if f := rec.Flows()[0]; f.Error == nil || !strings.Contains(f.Error.Msg, "client disconnected while sending the request body") {
			t.Errorf("flow error = %v", f.Error)
		}
	})
}

func TestUpgradeTunnel(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		buf := make([]byte, 5)
		io.ReadFull(r, buf)
		c.Write(append([]byte("echo:"), buf...))
	})
	addr := startProxy(t, nil)
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET http://%s/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", origin.Addr)
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	io.WriteString(c, "hello")
	buf := make([]byte, 10)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "echo:hello" {
		t.Fatalf("tunnel: %q %v", buf, err)
	}
}

func TestConnectTunnel(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		buf := make([]byte, 4)
		io.ReadFull(r, buf)
		c.Write(buf)
	})
	rec := &recorder{}
	addr := startProxy(t, rec)
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", origin.Addr, origin.Addr)
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 200 Connection established\r\n" {
		t.Fatalf("got %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel echo %q %v", buf, err)
	}
	rec.waitEvent(t, "http_connect")
}

func TestClientGoesAwayMidTransfer(t *testing.T) {
	closed := make(chan struct{})
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		for {
			if _, err := io.WriteString(c, "4\r\ndata\r\n"); err != nil {
				close(closed)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	addr := startProxy(t, nil, "stream_large_bodies=1k")
	c, _ := net.Dial("tcp", addr)
	fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: x\r\n\r\n", origin.Addr)
	buf := make([]byte, 200)
	io.ReadAtLeast(c, buf, 100)
	c.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream connection not closed after the client went away")
	}
}

func TestIdleTimeoutButMovingTransferNotCut(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		// 2.5 s of slow data: longer than tcp_timeout, but never idle.
		for i := 0; i < 10; i++ {
			io.WriteString(c, "1\r\nx\r\n")
			time.Sleep(250 * time.Millisecond)
		}
		io.WriteString(c, "0\r\n\r\n")
	})
	addr := startProxy(t, nil, "tcp_timeout=1", "stream_large_bodies=0")
	got := roundTripOpen(t, addr, "GET http://"+origin.Addr+"/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(got, "0\r\n\r\n") || strings.Count(got, "x") != 10 {
		t.Fatalf("slow transfer cut: %q", got)
	}
	// An idle client connection is closed after tcp_timeout.
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("idle connection not closed: %d %v after %s", n, err, time.Since(start))
	}
}

// TestShutdownClosesBusyServerConn: a shutdown that runs out of time
// closes the server connection a flow is waiting on, so that it ends at
// once instead of when the server answers or tcp_timeout runs out.
func TestShutdownClosesBusyServerConn(t *testing.T) {
	gotRequest := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		testutil.ReadRequest(r)
		close(gotRequest)
		<-release // never answers
	})
	rec := &recorder{}
	srv, ln := listenProxy(t, []any{rec})
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: x\r\n\r\n", origin.Addr)
	<-gotRequest

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	select {
	case err := <-shut:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want the deadline (a flow was in flight)", err)
		}
	case <-time.After(5 * time.Second):
		// Released by the deferred close(release): the origin's
		// handler returns and closes the connection.
		t.Fatal("Shutdown still waits for a flow whose server never answers")
	}
	<-served
	rec.waitEvent(t, "error")
}

// TestClientGoneWhileServerWaits (issue 18 item 2): a client that closes
// its connection while the server has not answered yet gets the server
// connection closed at once (it used to be held until tcp_timeout), and the
// flow's error says the client disconnected, as mitmproxy's.
func TestClientGoneWhileServerWaits(t *testing.T) {
	// "after a quick exchange" finds the watch's timer still pending from
	// the exchange before (it is armed once per watchDelay, not per
	// exchange) and must still start the watch in time.
	for _, quickFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "first exchange", true: "after a quick exchange"}[quickFirst], func(t *testing.T) {
			closed, waiting := make(chan struct{}), make(chan struct{})
			origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
				for {
					req, err := testutil.ReadRequest(r)
					if err != nil {
						return
					}
					if bytes.Contains(req, []byte("/quick")) {
						// Answered within watchDelay, late enough that the
						// timer armed for it fires well into the next
						// exchange, which must then be watched in time.
						time.Sleep(30 * time.Millisecond)
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
						continue
					}
					// Never answer; see the proxy close the connection.
					close(waiting)
					io.Copy(io.Discard, r)
					close(closed)
					return
				}
			})
			rec := &recorder{}
			addr := startProxy(t, rec)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if quickFirst {
				fmt.Fprintf(c, "GET http://%s/quick HTTP/1.1\r\nHost: %s\r\n\r\n", origin.Addr, origin.Addr)
				if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
					t.Fatal(err)
				}
			}
			fmt.Fprintf(c, "GET http://%s/wait HTTP/1.1\r\nHost: %s\r\n\r\n", origin.Addr, origin.Addr)
			flows := 1
			if quickFirst {
				flows = 2
			}
			select {
			case <-waiting:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the origin")
			}
			c.Close()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the server connection was not closed after the client left")
			}
			testutil.Eventually(t, 5*time.Second, func() bool {
				fs := rec.Flows()
				return len(fs) == flows && fs[flows-1].Error != nil && fs[flows-1].Error.Msg == "Client disconnected."
			}, "flow error: %v", rec.Events())
		})
	}
}

// TestRequestHeadTimeout (issue 18 item 7): a client that sends a request
// head a byte at a time, which keeps the connection from ever being idle,
// is cut off once request_head_timeout has passed since the head began;
// an idle keep-alive connection is not (that is tcp_timeout's).
func TestRequestHeadTimeout(t *testing.T) {
	addr := startProxy(t, nil, "request_head_timeout=1")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		closed <- err
	}()
	head := "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\nX-Slow: " + strings.Repeat("a", 200)
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case err := <-closed:
			if took := time.Since(start); took > 4*time.Second {
				t.Fatalf("closed after %s (%v), want about 1 s", took, err)
			}
			return
		case <-tick.C:
			if i < len(head) {
				c.Write([]byte{head[i]})
			} else {
				t.Fatal("the whole trickled head went through without the connection being closed")
			}
		}
	}
}

// TestAcceptAtFDLimit (issue 18 item 7): at its file-descriptor limit the
// proxy backs off accepting, and serves again by itself once descriptors
// are free.
func TestAcceptAtFDLimit(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	port := strings.TrimPrefix(testutil.UnusedAddr(t), "127.0.0.1:")
	cmd := exec.Command("sh", "-c", `ulimit -n 48 && exec "$0" "$@"`, testutil.Binary(t),
		"-q", "--listen-host", "127.0.0.1", "-p", port, "--set", "confdir="+t.TempDir())
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + port
	testutil.Eventually(t, 20*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "mitmdump did not listen:\n%s", out.String())
	// Far more connections than descriptors: the kernel queues them, the
	// proxy runs out.
	var held []net.Conn
	for range 80 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			held = append(held, c)
		}
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "accept failed") },
		"the proxy never reached its descriptor limit:\n%s", out.String())
	for _, c := range held {
		c.Close()
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	testutil.Eventually(t, 20*time.Second, func() bool {
		resp, err := client.Get(origin.URL + "/after")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b) == "ok"
	}, "the proxy did not serve again after the descriptors were freed:\n%s", out.String())
}
