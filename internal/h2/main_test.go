package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait in these tests.
const testTimeout = 20 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// logBuf collects log output so tests can check what was logged.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ---- our server ----

type testServer struct {
	t        testing.TB
	ln       net.Listener
	addr     string
	set      Settings
	handle   func(*Stream)
	log      logBuf
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []*ServerConn
	results  []error
	accepted atomic.Int32
}

func startServer(t testing.TB, set Settings, handle func(*Stream)) *testServer {
	ts := &testServer{t: t, ln: listen(t), set: set, handle: handle}
	ts.addr = ts.ln.Addr().String()
	ts.wg.Go(func() {
		for {
			nc, err := ts.ln.Accept()
			if err != nil {
				return
			}
			ts.accepted.Add(1)
			sc := NewServerConn(nc, nil, set, ts.log.logger())
			ts.mu.Lock()
			ts.conns = append(ts.conns, sc)
			ts.mu.Unlock()
			ts.wg.Go(func() {
				err := sc.Serve(context.Background(), handle)
				ts.mu.Lock()
				ts.results = append(ts.results, err)
				ts.mu.Unlock()
			})
		}
	})
	t.Cleanup(ts.close)
	return ts
}

func (ts *testServer) close() {
	ts.ln.Close()
	ts.mu.Lock()
	for _, c := range ts.conns {
		c.Close()
	}
	ts.mu.Unlock()
	ts.wg.Wait()
}

func (ts *testServer) conn(i int) *ServerConn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if i >= len(ts.conns) {
		return nil
	}
	return ts.conns[i]
}

// serveResults returns the Serve errors so far.
func (ts *testServer) serveResults() []error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]error(nil), ts.results...)
}

// xClient is x/net's HTTP/2 client speaking h2c to addr.
func xClient(t testing.TB) (*http.Client, *http2.Transport) {
	tr := &http2.Transport{
		AllowHTTP:                  true,
		StrictMaxConcurrentStreams: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testTimeout}, tr
}

// xConn is one x/net client connection to addr, and an http.Client that
// uses only it. (Through x/net's pool, StrictMaxConcurrentStreams with a
// small limit stalls: queued requests keep their reservations.)
func xConn(t testing.TB, addr string) (*http.Client, *http2.ClientConn) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http2.Transport{AllowHTTP: true, StrictMaxConcurrentStreams: true}
	xcc, err := tr.NewClientConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xcc.Close() })
	return &http.Client{Transport: xcc, Timeout: testTimeout}, xcc
}

// ---- x/net's server ----

type xServer struct {
	addr  string
	hs    *http.Server
	conf  *http2.Server
	mu    sync.Mutex
	conns []net.Conn
}

func startXServer(t testing.TB, conf *http2.Server, h http.HandlerFunc) *xServer {
	ln := listen(t)
	if conf == nil {
		conf = &http2.Server{}
	}
	xs := &xServer{addr: ln.Addr().String(), hs: &http.Server{Handler: h}, conf: conf}
	if err := http2.ConfigureServer(xs.hs, conf); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			xs.mu.Lock()
			xs.conns = append(xs.conns, nc)
			xs.mu.Unlock()
			wg.Go(func() {
				conf.ServeConn(nc, &http2.ServeConnOpts{BaseConfig: xs.hs, Handler: h})
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		xs.mu.Lock()
		for _, c := range xs.conns {
			c.Close()
		}
		xs.mu.Unlock()
		wg.Wait()
	})
	return xs
}

// dialClient opens our ClientConn to addr.
func dialClient(t testing.TB, addr string, set Settings, log *slog.Logger) *ClientConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientConn(nc, nil, set, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// ---- round trips with our client ----

type response struct {
	interim  [][]Field
	header   []Field
	status   int
	body     []byte
	trailers []Field
}

func get(authority, path string, extra ...Field) []Field {
	return append([]Field{
		{Name: ":method", Value: "GET"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: authority},
		{Name: ":path", Value: path},
	}, extra...)
}

func post(authority, path string, extra ...Field) []Field {
	h := get(authority, path, extra...)
	h[0].Value = "POST"
	return h
}

// roundTrip sends a request (body and trailers optional) and reads the
// whole response.
func roundTrip(ctx context.Context, cc *ClientConn, head []Field, body []byte, trailers []Field) (*response, error) {
	hasBody := body != nil || trailers != nil
	s, err := cc.OpenStream(ctx, head, !hasBody)
	if err != nil {
		return nil, err
	}
	werr := make(chan error, 1)
	go func() {
		if !hasBody {
			werr <- nil
			return
		}
		if len(body) > 0 {
			if _, err := s.Write(body); err != nil {
				werr <- err
				return
			}
		}
		if trailers != nil {
			werr <- s.WriteTrailers(trailers)
		} else {
			werr <- s.CloseWrite()
		}
	}()
	resp, err := readResponse(ctx, s)
	if err != nil {
		s.Reset(http2.ErrCodeCancel)
		<-werr
		return nil, err
	}
	if err := <-werr; err != nil {
		return nil, fmt.Errorf("writing request: %w", err)
	}
	return resp, nil
}

func readResponse(ctx context.Context, s *Stream) (*response, error) {
	resp := &response{}
	for {
		h, err := s.ReadHeader(ctx)
		if err != nil {
			return nil, err
		}
		st := status(h)
		if st >= 200 {
			resp.header, resp.status = h, st
			break
		}
		resp.interim = append(resp.interim, h)
	}
	body, err := io.ReadAll(s)
	if err != nil {
		return nil, err
	}
	resp.body = body
	resp.trailers = s.Trailers()
	return resp, nil
}

// ---- handlers for our server ----

// echoHandler answers with the request body; request trailers come back as
// response trailers named "echo-" + name.
func echoHandler(s *Stream) {
	body, err := io.ReadAll(s)
	if err != nil {
		return
	}
	tr := s.Trailers()
	hasTrailers := len(tr) > 0
	if err := s.WriteHeader([]Field{{Name: ":status", Value: "200"}, {Name: "content-length", Value: fmt.Sprint(len(body))}}, len(body) == 0 && !hasTrailers); err != nil {
		return
	}
	if len(body) > 0 {
		if _, err := s.Write(body); err != nil {
			return
		}
	}
	if hasTrailers {
		var out []Field
		for _, f := range tr {
			out = append(out, Field{Name: "echo-" + f.Name, Value: f.Value})
		}
		s.WriteTrailers(out)
	} else if len(body) > 0 {
		s.CloseWrite()
	}
}

func fieldsString(fields []Field) string {
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
	}
	return b.String()
}

// pattern returns n bytes that differ at every offset modulo a prime, so a
// dropped or repeated chunk shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func isStreamError(err error, code http2.ErrCode, remote bool) bool {
	var se *StreamError
	return errors.As(err, &se) && se.Code == code && se.Remote == remote
}
