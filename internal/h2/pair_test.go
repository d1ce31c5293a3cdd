package h2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
	"golang.org/x/net/http2"
)

// Our ClientConn against our ServerConn.

func startPair(t *testing.T, srv, cli Settings, handle func(*Stream)) (*testServer, *ClientConn) {
	ts := startServer(t, srv, handle)
	return ts, dialClient(t, ts.addr, cli, nil)
}

// TestPairHeadersExact: header blocks arrive as sent — order, duplicates,
// odd spellings of values, never-indexed fields — both ways.
func TestPairHeadersExact(t *testing.T) {
	reqHead := get("example.com", "/a?b=c",
		Field{Name: "x-z", Value: "1"},
		Field{Name: "cookie", Value: "a=1"},
		Field{Name: "x-a", Value: ""},
		Field{Name: "cookie", Value: "b=2"},
		Field{Name: "authorization", Value: "Basic eDp5", Sensitive: true},
		Field{Name: "x-z", Value: "2"},
	)
	respHead := []Field{
		{Name: ":status", Value: "200"},
		{Name: "set-cookie", Value: "s=1", Sensitive: true},
		{Name: "x-b", Value: "v"},
		{Name: "set-cookie", Value: "t=2", Sensitive: true},
		{Name: "content-type", Value: "text/plain"},
	}
	var got []Field
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		got = s.Header()
		s.WriteHeader(respHead, true)
	})
	// Twice: the second time from the HPACK dynamic tables.
	for range 2 {
		resp, err := roundTrip(testCtx(t), cc, reqHead, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, reqHead) {
			t.Errorf("request head:\n%s\nwant:\n%s", fieldsString(got), fieldsString(reqHead))
		}
		if !reflect.DeepEqual(resp.header, respHead) {
			t.Errorf("response head:\n%s\nwant:\n%s", fieldsString(resp.header), fieldsString(respHead))
		}
	}
}

func TestPairTrailersAndInterim(t *testing.T) {
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		if pseudo(s.Header(), ":path") == "/interim" {
			io.Copy(io.Discard, s)
			s.WriteHeader([]Field{{Name: ":status", Value: "103"}, {Name: "link", Value: "</a.css>; rel=preload"}}, false)
			s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, true)
			return
		}
		echoHandler(s)
	})
	ctx := testCtx(t)
	resp, err := roundTrip(ctx, cc, post("a", "/"), []byte("body"), []Field{{Name: "x-sum", Value: "1"}, {Name: "x-sum", Value: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Name: "echo-x-sum", Value: "1"}, {Name: "echo-x-sum", Value: "2"}}
	if string(resp.body) != "body" || !reflect.DeepEqual(resp.trailers, want) {
		t.Errorf("body %q trailers %v", resp.body, resp.trailers)
	}
	// Trailers without a body.
	resp, err = roundTrip(ctx, cc, post("a", "/"), []byte{}, []Field{{Name: "x-only", Value: "t"}})
	if err != nil || len(resp.body) != 0 || len(resp.trailers) != 1 {
		t.Errorf("%v %+v", err, resp)
	}
	resp, err = roundTrip(ctx, cc, get("a", "/interim"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.interim) != 1 || status(resp.interim[0]) != 103 || resp.status != 200 {
		t.Errorf("interim %v final %d", resp.interim, resp.status)
	}
}

func TestPairLargeBodies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		srv, cli Settings
	}{
		{"defaults", Settings{}, Settings{}},
		{"small windows", Settings{InitialWindowSize: 65535}, Settings{InitialWindowSize: 65535}},
		{"large frames", Settings{MaxFrameSize: 1 << 20, InitialWindowSize: 4 << 20}, Settings{MaxFrameSize: 1 << 20, InitialWindowSize: 4 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cc := startPair(t, tc.srv, tc.cli, echoHandler)
			body := pattern(16 << 20)
			resp, err := roundTrip(testCtx(t), cc, post("a", "/"), body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(resp.body) != sha256.Sum256(body) {
				t.Fatalf("echoed body differs: %d bytes", len(resp.body))
			}
		})
	}
}

// TestPairStalledStreams: 100 streams on one connection; one upload the
// handler never reads and one download the client never reads; the other 98
// complete.
func TestPairStalledStreams(t *testing.T) {
	const window = 128 << 10
	release := make(chan struct{})
	var handlerWaiting atomic.Bool
	ts, cc := startPair(t, Settings{InitialWindowSize: window}, Settings{InitialWindowSize: window}, func(s *Stream) {
		switch pseudo(s.Header(), ":path") {
		case "/stall-upload":
			handlerWaiting.Store(true)
			<-release
		case "/stall-download":
			s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
			s.Write(make([]byte, 8<<20))
		default:
			echoHandler(s)
		}
	})
	ctx := testCtx(t)
	up, err := cc.OpenStream(ctx, post("a", "/stall-upload"), false)
	if err != nil {
		t.Fatal(err)
	}
	upDone := make(chan error, 1)
	go func() {
		_, err := up.Write(make([]byte, 8<<20))
		upDone <- err
	}()
	down, err := cc.OpenStream(ctx, get("a", "/stall-download"), true)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, func() bool {
		if !handlerWaiting.Load() {
			return false
		}
		cc.c.mu.Lock()
		defer cc.c.mu.Unlock()
		return down.buffered >= window && up.sendWindow <= 0
	}, "stalled streams did not fill their windows")

	var wg sync.WaitGroup
	errs := make(chan error, 98)
	for i := range 98 {
		wg.Go(func() {
			body := pattern(32<<10 + i)
			resp, err := roundTrip(ctx, cc, post("a", "/"), body, nil)
			if err == nil && !bytes.Equal(resp.body, body) {
				err = fmt.Errorf("%d bytes back", len(resp.body))
			}
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Errorf("%d connections", n)
	}
	down.Reset(http2.ErrCodeCancel)
	up.Reset(http2.ErrCodeCancel)
	<-upDone
	close(release)
}

func TestPairReset(t *testing.T) {
	handlerErr := make(chan error, 1)
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		switch pseudo(s.Header(), ":path") {
		case "/server-resets":
			s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
			s.Write([]byte("partial"))
			s.Reset(http2.ErrCodeEnhanceYourCalm)
		case "/client-resets":
			_, err := io.Copy(io.Discard, s)
			if _, werr := s.Write([]byte("x")); werr == nil {
				err = errors.New("write after reset worked")
			}
			<-s.Done()
			handlerErr <- err
		}
	})
	ctx := testCtx(t)
	_, err := roundTrip(ctx, cc, get("a", "/server-resets"), nil, nil)
	if !isStreamError(err, http2.ErrCodeEnhanceYourCalm, true) || err.Error() != "stream reset by client (ENHANCE_YOUR_CALM)" {
		t.Errorf("server reset: %v", err)
	}
	s, err := cc.OpenStream(ctx, post("a", "/client-resets"), false)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("partial"))
	s.Reset(http2.ErrCodeCancel)
	if err := <-handlerErr; !isStreamError(err, http2.ErrCodeCancel, true) {
		t.Errorf("handler: %v", err)
	}
	if err := s.Err(); !isStreamError(err, http2.ErrCodeCancel, false) || err.Error() != "stream reset (CANCEL)" {
		t.Errorf("Err = %v", err)
	}
}

// TestPairHandlerReturns: a handler that returns early resets its stream:
// NO_ERROR after a complete response (which the client still gets whole),
// INTERNAL_ERROR otherwise.
func TestPairHandlerReturns(t *testing.T) {
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		if pseudo(s.Header(), ":path") == "/complete" {
			s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
			s.Write([]byte("whole"))
			s.CloseWrite()
		}
	})
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, post("a", "/complete"), false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := readResponse(ctx, s)
	if err != nil || string(resp.body) != "whole" {
		t.Fatalf("%v %+v", err, resp)
	}
	<-s.Done()
	if err := s.Err(); !isStreamError(err, http2.ErrCodeNo, true) {
		t.Errorf("Err = %v", err)
	}
	if _, err := s.Write([]byte("more")); !isStreamError(err, http2.ErrCodeNo, true) {
		t.Errorf("Write = %v", err)
	}
	_, err = roundTrip(ctx, cc, get("a", "/incomplete"), nil, nil)
	if !isStreamError(err, http2.ErrCodeInternal, true) {
		t.Errorf("incomplete: %v", err)
	}
}

func TestPairServerShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	ts, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		close(inFlight)
		<-release
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
		s.Write([]byte("done"))
		s.CloseWrite()
	})
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get("a", "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	ts.conn(0).Shutdown()
	testutil.Eventually(t, testTimeout, func() bool { return !cc.CanTakeNewStream() }, "no GOAWAY")
	_, err = cc.OpenStream(ctx, get("a", "/"), true)
	var g *GoAwayError
	if !errors.As(err, &g) || !g.Remote || g.LastStreamID != 1 || !Retryable(err) {
		t.Fatalf("OpenStream after GOAWAY: %v", err)
	}
	const want = "HTTP/2 connection closed: <ConnectionTerminated error_code:0, last_stream_id:1, additional_data:None>"
	if err.Error() != want {
		t.Errorf("message %q", err)
	}
	close(release)
	resp, err := readResponse(ctx, s)
	if err != nil || string(resp.body) != "done" {
		t.Fatalf("in-flight: %v %+v", err, resp)
	}
	<-cc.Done()
	testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "Serve did not return")
	if err := ts.serveResults()[0]; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestPairClientShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	ts, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		close(inFlight)
		<-release
		s.WriteHeader([]Field{{Name: ":status", Value: "204"}}, true)
	})
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get("a", "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	cc.Shutdown()
	var g *GoAwayError
	if _, err := cc.OpenStream(ctx, get("a", "/"), true); !errors.As(err, &g) || g.Remote {
		t.Fatalf("OpenStream after Shutdown: %v", err)
	}
	close(release)
	if _, err := readResponse(ctx, s); err != nil {
		t.Fatal(err)
	}
	<-cc.Done()
	if err := cc.Err(); !errors.Is(err, ErrClosed) {
		t.Errorf("Err = %v", err)
	}
	testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "Serve did not return")
	if err := ts.serveResults()[0]; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// TestPairServerClose: closing the server connection fails the client's
// streams and ends its connection.
func TestPairServerClose(t *testing.T) {
	inFlight := make(chan struct{})
	ts, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		close(inFlight)
		<-s.Done()
	})
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get("a", "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	ts.conn(0).Close()
	if _, err := s.ReadHeader(ctx); !errors.Is(err, ErrPeerClosed) || err.Error() != "peer closed connection" {
		t.Errorf("ReadHeader = %v", err)
	}
	<-cc.Done()
	if !errors.Is(cc.Err(), ErrPeerClosed) {
		t.Errorf("Err = %v", cc.Err())
	}
}

func TestPairMaxConcurrentStreams(t *testing.T) {
	var cur, peak atomic.Int32
	_, cc := startPair(t, Settings{MaxConcurrentStreams: 2}, Settings{}, func(s *Stream) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		testutil.Poll(time.Second, func() bool { return peak.Load() >= 2 })
		cur.Add(-1)
		s.WriteHeader([]Field{{Name: ":status", Value: "204"}}, true)
	})
	ctx := testCtx(t)
	// Until the server's SETTINGS arrive the client assumes a provisional
	// limit of 10; a PING round trip makes sure they did.
	if err := cc.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := roundTrip(ctx, cc, get("a", "/"), nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak %d, want 2", p)
	}
}

func TestPairPing(t *testing.T) {
	var clog logBuf
	ts := startServer(t, Settings{PingInterval: 20 * time.Millisecond}, echoHandler)
	cc := dialClient(t, ts.addr, Settings{PingInterval: 20 * time.Millisecond}, clog.logger())
	ctx := testCtx(t)
	if err := cc.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, func() bool { return ts.conn(0) != nil }, "no connection")
	if err := ts.conn(0).Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Idle with keepalive on both sides: PINGs flow, nothing breaks.
	testutil.Eventually(t, testTimeout, func() bool {
		return bytes.Count([]byte(clog.String()), []byte("keep-alive PING")) >= 3
	}, "no keepalive PINGs")
	if _, err := roundTrip(ctx, cc, get("a", "/"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if cc.Err() != nil {
		t.Fatal(cc.Err())
	}
}

// TestPairContextCancel: the context passed to Serve ends the connection.
func TestPairContextCancel(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		served <- NewServerConn(nc, nil, Settings{}, nil).Serve(ctx, echoHandler)
	}()
	cc := dialClient(t, ln.Addr().String(), Settings{}, nil)
	if err := cc.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve = %v", err)
	}
	<-cc.Done()
}

// TestPairWriteMessage: a whole response in one call arrives as sent —
// without a body, with a body, with trailers, and with a body larger than
// the windows (the rest goes as Write sends it) — and a small one costs two
// frames.
func TestPairWriteMessage(t *testing.T) {
	big := pattern(1 << 20)
	ts, cc := startPair(t, Settings{}, Settings{InitialWindowSize: 65535}, func(s *Stream) {
		io.Copy(io.Discard, s)
		head := []Field{{Name: ":status", Value: "200"}}
		switch pseudo(s.Header(), ":path") {
		case "/empty":
			s.WriteMessage(head, nil, nil)
		case "/small":
			s.WriteMessage(head, []byte("small"), nil)
		case "/trailers":
			s.WriteMessage(head, []byte("body"), []Field{{Name: "x-t", Value: "1"}})
		case "/big":
			s.WriteMessage(head, big, []Field{{Name: "x-t", Value: "2"}})
		}
	})
	ctx := testCtx(t)
	for _, tc := range []struct {
		path     string
		body     []byte
		trailers int
	}{{"/empty", nil, 0}, {"/small", []byte("small"), 0}, {"/trailers", []byte("body"), 1}, {"/big", big, 1}} {
		resp, err := roundTrip(ctx, cc, get("a", tc.path), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if resp.status != 200 || !bytes.Equal(resp.body, tc.body) || len(resp.trailers) != tc.trailers {
			t.Errorf("%s: status %d, %d bytes, trailers %v", tc.path, resp.status, len(resp.body), resp.trailers)
		}
	}
	frames := func() int64 {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return ts.conns[0].c.frames.Load()
	}
	before := frames()
	if _, err := roundTrip(ctx, cc, get("a", "/small"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := frames() - before; n != 2 {
		t.Errorf("a small response took %d frames, want 2 (HEADERS, DATA with END_STREAM)", n)
	}
}

// TestPairWorkersReused: a handler's goroutine takes the connection's next
// stream (its stack, grown to the handler's depth, is not grown again), and
// goes once no stream came for workerIdle while the connection stays open.
func TestPairWorkersReused(t *testing.T) {
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}, {Name: "x-goroutine", Value: goroutineID()}}, true)
	})
	ctx := testCtx(t)
	var first string
	for i := range 5 {
		if i > 0 {
			// The response goes out before the worker is back in its
			// wait, and a stream that finds none waiting starts one
			// more: reuse is for the streams that come after.
			testutil.Eventually(t, testTimeout, func() bool { return idleWorkers() == 1 }, "the worker to wait for the next stream")
		}
		resp, err := roundTrip(ctx, cc, get("a", "/"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := pseudoOrField(resp.header, "x-goroutine")
		if i == 0 {
			first = g
		} else if g != first {
			t.Fatalf("stream %d ran on goroutine %s, the first on %s", i, g, first)
		}
	}
	testutil.Eventually(t, workerIdle+testTimeout, func() bool { return countWorkers() == 0 },
		"idle stream workers still waiting after %v", workerIdle)
}

// goroutineID is the number runtime.Stack names the calling goroutine with.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// idleWorkers counts the goroutines waiting in ServerConn.work for a
// stream.
func idleWorkers() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[select") && strings.Contains(g, "h2.(*ServerConn).work(") {
			n++
		}
	}
	return n
}

// countWorkers counts the goroutines in ServerConn.work.
func countWorkers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "h2.(*ServerConn).work(")
}

// TestPairOnReset: OnReset's function runs with the stream's error when the
// peer resets it, at once when registered after the reset, and never for a
// stream that ended normally.
func TestPairOnReset(t *testing.T) {
	type result struct {
		path string
		err  error
	}
	got := make(chan result, 4)
	_, cc := startPair(t, Settings{}, Settings{}, func(s *Stream) {
		path := pseudo(s.Header(), ":path")
		report := func(err error) { got <- result{path, err} }
		switch path {
		case "/before-reset":
			s.OnReset(report)
			<-s.Done()
		case "/after-reset":
			<-s.Done()
			s.OnReset(report)
		case "/normal":
			s.OnReset(report)
			io.Copy(io.Discard, s)
			s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, true)
			<-s.Done()
			got <- result{path, nil}
		}
	})
	ctx := testCtx(t)
	for _, path := range []string{"/before-reset", "/after-reset"} {
		s, err := cc.OpenStream(ctx, post("a", path), false)
		if err != nil {
			t.Fatal(err)
		}
		s.Reset(http2.ErrCodeCancel)
		if r := <-got; r.path != path || !isStreamError(r.err, http2.ErrCodeCancel, true) {
			t.Errorf("%s: OnReset got %+v", path, r)
		}
	}
	if _, err := roundTrip(ctx, cc, get("a", "/normal"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.path != "/normal" || r.err != nil {
		t.Errorf("normal end: OnReset got %+v", r)
	}
}
