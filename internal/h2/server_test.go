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

// Our ServerConn against x/net's client.

func TestServerXHeaders(t *testing.T) {
	var got []Field
	ts := startServer(t, Settings{}, func(s *Stream) {
		got = s.Header()
		io.Copy(io.Discard, s)
		s.WriteHeader([]Field{
			{Name: ":status", Value: "201"},
			{Name: "x-b", Value: "2"},
			{Name: "x-a", Value: "1"},
			{Name: "x-b", Value: "3"},
			{Name: "set-cookie", Value: "a=1", Sensitive: true},
		}, true)
	})
	client, _ := xClient(t)
	req, _ := http.NewRequest("GET", "http://"+ts.addr+"/p?q=1", nil)
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Proto)
	}
	if v := resp.Header.Values("X-B"); len(v) != 2 || v[0] != "2" || v[1] != "3" {
		t.Errorf("x-b = %q", v)
	}
	if resp.Header.Get("X-A") != "1" || resp.Header.Get("Set-Cookie") != "a=1" {
		t.Errorf("headers %v", resp.Header)
	}
	// Pseudo-header fields first, as x/net sent them; the rest as sent.
	want := []string{":authority", ":method", ":path", ":scheme"}
	for i, w := range want {
		if got[i].Name != w {
			t.Fatalf("request head:\n%s", fieldsString(got))
		}
	}
	if pseudo(got, ":path") != "/p?q=1" || pseudo(got, ":authority") != ts.addr {
		t.Errorf("request head:\n%s", fieldsString(got))
	}
	var multi []string
	for _, f := range got[4:] {
		if f.Name == "x-multi" {
			multi = append(multi, f.Value)
		}
	}
	if strings.Join(multi, ",") != "one,two" {
		t.Errorf("x-multi = %q", multi)
	}
}

func TestServerXTrailers(t *testing.T) {
	ts := startServer(t, Settings{}, echoHandler)
	client, _ := xClient(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+ts.addr+"/", pr)
	req.Trailer = http.Header{"X-Sum": nil}
	go func() {
		pw.Write([]byte("hello"))
		req.Trailer.Set("X-Sum", "abc")
		pw.Close()
	}()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello" {
		t.Fatalf("body %q %v", body, err)
	}
	if v := resp.Trailer.Get("Echo-X-Sum"); v != "abc" {
		t.Errorf("trailers %v", resp.Trailer)
	}
}

func TestServerXLargeBodies(t *testing.T) {
	ts := startServer(t, Settings{}, echoHandler)
	client, _ := xClient(t)
	body := pattern(16 << 20)
	resp, err := client.Post("http://"+ts.addr+"/", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(body) {
		t.Fatalf("echoed body differs: %d bytes", len(got))
	}
}

// TestServerXStalledStream: one stream whose request body nobody reads must
// not hold up 99 others on the same connection.
func TestServerXStalledStream(t *testing.T) {
	const window = 256 << 10
	release := make(chan struct{})
	var stalledBuffered atomic.Bool
	ts := startServer(t, Settings{InitialWindowSize: window}, func(s *Stream) {
		if pseudo(s.Header(), ":path") == "/stall" {
			// Never read; wait until the test is done with the others.
			testutil.Poll(testTimeout, func() bool {
				s.c.mu.Lock()
				defer s.c.mu.Unlock()
				if s.buffered >= window {
					stalledBuffered.Store(true)
				}
				return stalledBuffered.Load()
			})
			<-release
			s.Reset(http2.ErrCodeCancel)
			return
		}
		echoHandler(s)
	})
	client, _ := xConn(t, ts.addr)
	stallDone := make(chan error, 1)
	go func() {
		resp, err := client.Post("http://"+ts.addr+"/stall", "", bytes.NewReader(make([]byte, 8<<20)))
		if err == nil {
			resp.Body.Close()
		}
		stallDone <- err
	}()
	testutil.Eventually(t, testTimeout, stalledBuffered.Load, "the stalled stream never filled its window")

	var wg sync.WaitGroup
	errs := make(chan error, 99)
	for i := range 99 {
		wg.Go(func() {
			body := pattern(64<<10 + i)
			resp, err := client.Post("http://"+ts.addr+"/", "", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				errs <- fmt.Errorf("stream %d: %d bytes, %v", i, len(got), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	close(release)
	if err := <-stallDone; err == nil {
		t.Error("stalled request did not fail after the reset")
	}
}

func TestServerXResetByClient(t *testing.T) {
	readErr := make(chan error, 1)
	started := make(chan struct{})
	ts := startServer(t, Settings{}, func(s *Stream) {
		close(started)
		_, err := io.Copy(io.Discard, s)
		readErr <- err
	})
	client, _ := xClient(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+ts.addr+"/", pr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.Write([]byte("partial"))
		<-started
		cancel()
	}()
	_, err := client.Do(req)
	if err == nil {
		t.Fatal("request did not fail")
	}
	<-done
	err = <-readErr
	if !isStreamError(err, http2.ErrCodeCancel, true) {
		t.Fatalf("handler read error %v (%T)", err, err)
	}
	if err.Error() != "stream reset by client (CANCEL)" {
		t.Errorf("message %q", err)
	}
}

func TestServerXResetByServer(t *testing.T) {
	ts := startServer(t, Settings{}, func(s *Stream) {
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
		s.Write([]byte("partial"))
		s.Reset(http2.ErrCodeRefusedStream)
	})
	client, _ := xClient(t)
	resp, err := client.Get("http://" + ts.addr + "/")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeRefusedStream {
		t.Fatalf("client error %v", err)
	}
}

// TestServerXShutdown: GOAWAY from us lets the request in flight finish;
// the client takes new ones to a new connection, and Serve returns nil.
func TestServerXShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	ts := startServer(t, Settings{}, func(s *Stream) {
		if pseudo(s.Header(), ":path") == "/slow" {
			close(inFlight)
			<-release
		}
		s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
		s.Write([]byte(pseudo(s.Header(), ":path")))
		s.CloseWrite()
	})
	client, _ := xClient(t)
	slow := make(chan string, 1)
	go func() {
		resp, err := client.Get("http://" + ts.addr + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-inFlight
	ts.conn(0).Shutdown()
	// The client learns of the GOAWAY asynchronously: wait until a new
	// request goes to a second connection.
	testutil.Eventually(t, testTimeout, func() bool {
		resp, err := client.Get("http://" + ts.addr + "/new")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return ts.accepted.Load() == 2
	}, "no second connection after GOAWAY")
	close(release)
	if got := <-slow; got != "/slow" {
		t.Fatalf("in-flight request: %q", got)
	}
	testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "first connection still open")
	if err := ts.serveResults()[0]; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// TestServerXClientGoAway: x/net's ClientConn.Shutdown sends GOAWAY; the
// stream in flight finishes and Serve returns nil.
func TestServerXClientGoAway(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	ts := startServer(t, Settings{}, func(s *Stream) {
		close(inFlight)
		<-release
		s.WriteHeader([]Field{{Name: ":status", Value: "204"}}, true)
	})
	_, xcc := xConn(t, ts.addr)
	got := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+ts.addr+"/", nil)
		resp, err := xcc.RoundTrip(req)
		if err == nil && resp.StatusCode != 204 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		got <- err
	}()
	<-inFlight
	shut := make(chan error, 1)
	go func() { shut <- xcc.Shutdown(testCtx(t)) }()
	testutil.Eventually(t, testTimeout, func() bool {
		c := ts.conn(0).c
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.goAwayRecv != nil
	}, "GOAWAY not received")
	close(release)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, func() bool { return len(ts.serveResults()) == 1 }, "Serve did not return")
	if err := ts.serveResults()[0]; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestServerXMaxConcurrentStreams(t *testing.T) {
	var cur, peak atomic.Int32
	ts := startServer(t, Settings{MaxConcurrentStreams: 2}, func(s *Stream) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// Hold the stream until another request is waiting, so the
		// limit is actually exercised.
		if pseudo(s.Header(), ":path") != "/warm-up" {
			testutil.Poll(time.Second, func() bool { return peak.Load() >= 2 })
		}
		cur.Add(-1)
		s.WriteHeader([]Field{{Name: ":status", Value: "204"}}, true)
	})
	client, _ := xConn(t, ts.addr)
	// One request first, so the client has our SETTINGS.
	if resp, err := client.Get("http://" + ts.addr + "/warm-up"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	peak.Store(0)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, err := client.Get("http://" + ts.addr + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

func TestServerXPing(t *testing.T) {
	ts := startServer(t, Settings{}, echoHandler)
	_, xcc := xConn(t, ts.addr)
	// x/net pings us, and we ping x/net.
	if err := xcc.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testTimeout, func() bool { return ts.conn(0) != nil }, "no connection")
	if err := ts.conn(0).Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}
