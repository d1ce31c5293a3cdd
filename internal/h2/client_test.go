package h2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
	"golang.org/x/net/http2"
)

// Our ClientConn against x/net's server.

func xEcho(w http.ResponseWriter, r *http.Request) {
	for k := range r.Trailer {
		w.Header().Add("Trailer", "Echo-"+k)
	}
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Request-Header", r.Header.Get("X-Test"))
	w.WriteHeader(200)
	io.Copy(w, r.Body)
	for k, v := range r.Trailer {
		w.Header()["Echo-"+k] = v
	}
}

func TestClientXHeaders(t *testing.T) {
	xs := startXServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-B", "2")
		w.Header().Add("X-B", "3")
		w.Header().Set("X-Got", strings.Join(r.Header.Values("X-Multi"), ","))
		w.Header().Set("X-Path", r.URL.RequestURI())
		w.WriteHeader(201)
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	resp, err := roundTrip(testCtx(t), cc, get(xs.addr, "/p?q=1", Field{Name: "x-multi", Value: "one"}, Field{Name: "x-multi", Value: "two"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != 201 || resp.header[0].Name != ":status" {
		t.Fatalf("response head:\n%s", fieldsString(resp.header))
	}
	var xb []string
	for _, f := range resp.header {
		if f.Name == "x-b" {
			xb = append(xb, f.Value)
		}
	}
	if strings.Join(xb, ",") != "2,3" || pseudoOrField(resp.header, "x-got") != "one,two" || pseudoOrField(resp.header, "x-path") != "/p?q=1" {
		t.Errorf("response head:\n%s", fieldsString(resp.header))
	}
}

func pseudoOrField(fields []Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestClientXTrailers(t *testing.T) {
	xs := startXServer(t, nil, xEcho)
	cc := dialClient(t, xs.addr, Settings{}, nil)
	resp, err := roundTrip(testCtx(t), cc,
		post(xs.addr, "/", Field{Name: "trailer", Value: "x-sum"}),
		[]byte("hello"), []Field{{Name: "x-sum", Value: "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.body) != "hello" {
		t.Fatalf("body %q", resp.body)
	}
	if len(resp.trailers) != 1 || resp.trailers[0] != (Field{Name: "echo-x-sum", Value: "abc"}) {
		t.Errorf("trailers %v", resp.trailers)
	}
}

func TestClientXLargeBodies(t *testing.T) {
	xs := startXServer(t, nil, xEcho)
	cc := dialClient(t, xs.addr, Settings{}, nil)
	body := pattern(16 << 20)
	resp, err := roundTrip(testCtx(t), cc, post(xs.addr, "/"), body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(resp.body) != sha256.Sum256(body) {
		t.Fatalf("echoed body differs: %d bytes", len(resp.body))
	}
}

// TestClientXStalledStream: a response body we never read must not hold up
// 99 other streams, and neither must a request body the server never reads.
func TestClientXStalledStream(t *testing.T) {
	const window = 256 << 10
	release := make(chan struct{})
	var uploadStalled atomic.Bool
	// x/net's server returns connection credit only as handlers read, so
	// its connection window must exceed the stalled stream's window.
	xs := startXServer(t, &http2.Server{
		MaxConcurrentStreams:         200,
		MaxUploadBufferPerStream:     window,
		MaxUploadBufferPerConnection: 16 * window,
	}, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stall-download":
			w.WriteHeader(200)
			w.Write(make([]byte, 8<<20)) // blocks on our window
		case "/stall-upload":
			uploadStalled.Store(true)
			<-release // never reads the body
		default:
			xEcho(w, r)
		}
	})
	cc := dialClient(t, xs.addr, Settings{InitialWindowSize: window}, nil)
	ctx := testCtx(t)

	down, err := cc.OpenStream(ctx, get(xs.addr, "/stall-download"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.ReadHeader(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, func() bool {
		cc.c.mu.Lock()
		defer cc.c.mu.Unlock()
		return down.buffered >= window
	}, "the download never filled its window")

	up, err := cc.OpenStream(ctx, post(xs.addr, "/stall-upload"), false)
	if err != nil {
		t.Fatal(err)
	}
	upDone := make(chan error, 1)
	go func() {
		_, err := up.Write(make([]byte, 8<<20)) // blocks on the server's window
		upDone <- err
	}()
	testutil.Eventually(t, testTimeout, uploadStalled.Load, "upload handler not called")

	var wg sync.WaitGroup
	errs := make(chan error, 98)
	for i := range 98 {
		wg.Go(func() {
			body := pattern(64<<10 + i)
			resp, err := roundTrip(ctx, cc, post(xs.addr, "/"), body, nil)
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
	down.Reset(http2.ErrCodeCancel)
	up.Reset(http2.ErrCodeCancel)
	if err := <-upDone; !isStreamError(err, http2.ErrCodeCancel, false) {
		t.Errorf("stalled upload: %v", err)
	}
	close(release)
}

func TestClientXResetByServer(t *testing.T) {
	xs := startXServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	_, err := roundTrip(testCtx(t), cc, get(xs.addr, "/"), nil, nil)
	if !isStreamError(err, http2.ErrCodeInternal, true) {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "stream reset by client (INTERNAL_ERROR)" {
		t.Errorf("message %q", err)
	}
}

func TestClientXResetByClient(t *testing.T) {
	bodyErr := make(chan error, 1)
	xs := startXServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		_, err := io.Copy(io.Discard, r.Body)
		bodyErr <- err
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, post(xs.addr, "/"), false)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("partial"))
	if _, err := s.ReadHeader(ctx); err != nil {
		t.Fatal(err)
	}
	s.Reset(http2.ErrCodeCancel)
	if err := <-bodyErr; err == nil {
		t.Fatal("server read the body to its end")
	}
	if _, err := s.Read(make([]byte, 1)); !isStreamError(err, http2.ErrCodeCancel, false) {
		t.Errorf("Read after Reset: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("stream not done after Reset")
	}
}

// TestClientXServerShutdown: x/net's graceful shutdown sends GOAWAY; the
// stream in flight finishes, new ones fail retryably, the connection ends.
func TestClientXServerShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	xs := startXServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		<-release
		w.Write([]byte("done"))
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get(xs.addr, "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	shut := make(chan error, 1)
	go func() { shut <- xs.hs.Shutdown(ctx) }()
	testutil.Eventually(t, testTimeout, func() bool { return !cc.CanTakeNewStream() }, "no GOAWAY")
	_, err = cc.OpenStream(ctx, get(xs.addr, "/"), true)
	var g *GoAwayError
	if !errors.As(err, &g) || !g.Remote || g.Code != http2.ErrCodeNo || !Retryable(err) {
		t.Fatalf("OpenStream after GOAWAY: %v", err)
	}
	close(release)
	resp, err := readResponse(ctx, s)
	if err != nil || string(resp.body) != "done" {
		t.Fatalf("in-flight stream: %v %+v", err, resp)
	}
	select {
	case <-cc.Done():
	case <-ctx.Done():
		t.Fatal("connection still open")
	}
	if err := cc.Err(); !errors.As(err, &g) {
		t.Errorf("Err = %v", err)
	}
	if err := <-shut; err != nil {
		t.Error(err)
	}
}

// TestClientXShutdown: our GOAWAY lets the stream in flight finish and
// refuses new ones; then the connection closes.
func TestClientXShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	xs := startXServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		<-release
		w.Write([]byte("done"))
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	ctx := testCtx(t)
	s, err := cc.OpenStream(ctx, get(xs.addr, "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	cc.Shutdown()
	if _, err := cc.OpenStream(ctx, get(xs.addr, "/"), true); !Retryable(err) {
		t.Fatalf("OpenStream after Shutdown: %v", err)
	}
	close(release)
	resp, err := readResponse(ctx, s)
	if err != nil || string(resp.body) != "done" {
		t.Fatalf("in-flight stream: %v %+v", err, resp)
	}
	select {
	case <-cc.Done():
	case <-ctx.Done():
		t.Fatal("connection still open")
	}
}

func TestClientXMaxConcurrentStreams(t *testing.T) {
	var cur, peak atomic.Int32
	xs := startXServer(t, &http2.Server{MaxConcurrentStreams: 3}, func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		testutil.Poll(time.Second, func() bool { return peak.Load() >= 3 })
		cur.Add(-1)
		w.WriteHeader(204)
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	ctx := testCtx(t)
	// Until the server's SETTINGS arrive the client assumes a provisional
	// limit of 10; a PING round trip makes sure they did.
	if err := cc.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := roundTrip(ctx, cc, get(xs.addr, "/"), nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}

func TestClientXPing(t *testing.T) {
	xs := startXServer(t, nil, xEcho)
	cc := dialClient(t, xs.addr, Settings{}, nil)
	if err := cc.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// Keepalive PINGs keep an idle connection alive: x/net answers them.
	var log logBuf
	cc2 := dialClient(t, xs.addr, Settings{PingInterval: 20 * time.Millisecond}, log.logger())
	testutil.Eventually(t, testTimeout, func() bool {
		return strings.Count(log.String(), "keep-alive PING") >= 3
	}, "no keepalive PINGs:\n%s", log.String())
	if err := cc2.Err(); err != nil {
		t.Fatalf("connection failed: %v", err)
	}
	if _, err := roundTrip(testCtx(t), cc2, get(xs.addr, "/"), nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestClientXOpenStreamCancel: OpenStream waiting for a slot gives up with
// its context.
func TestClientXOpenStreamCancel(t *testing.T) {
	release := make(chan struct{})
	xs := startXServer(t, &http2.Server{MaxConcurrentStreams: 1}, func(w http.ResponseWriter, r *http.Request) {
		<-release
	})
	cc := dialClient(t, xs.addr, Settings{}, nil)
	ctx := testCtx(t)
	// The first stream round-trips the settings.
	if err := cc.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := cc.OpenStream(ctx, get(xs.addr, "/"), true)
	if err != nil {
		t.Fatal(err)
	}
	if cc.CanTakeNewStream() {
		t.Error("CanTakeNewStream with the only slot taken")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := cc.OpenStream(short, get(xs.addr, "/"), true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenStream = %v", err)
	}
	close(release)
	if _, err := readResponse(ctx, s); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, cc.CanTakeNewStream, "slot not freed")
}
