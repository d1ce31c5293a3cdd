package proxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// streamer is an addon that sets the streaming fields in the headers hooks
// and keeps the flows that ended.
type streamer struct {
	reqHdrs, respHdrs func(f *flow.HTTPFlow)

	mu    sync.Mutex
	flows []*flow.HTTPFlow
	// sawStream is what responseheaders found in Response.Stream.
	sawStream []bool
}

func (s *streamer) RequestHeaders(f *flow.HTTPFlow) {
	if s.reqHdrs != nil {
		s.reqHdrs(f)
	}
}

func (s *streamer) ResponseHeaders(f *flow.HTTPFlow) {
	s.mu.Lock()
	s.sawStream = append(s.sawStream, f.Response.Stream)
	s.mu.Unlock()
	if s.respHdrs != nil {
		s.respHdrs(f)
	}
}

func (s *streamer) Response(f *flow.HTTPFlow) { s.done(f) }
func (s *streamer) Error(f *flow.HTTPFlow)    { s.done(f) }

func (s *streamer) done(f *flow.HTTPFlow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flows = append(s.flows, f)
}

// flow waits for the flow of path to end.
func (s *streamer) flow(t *testing.T, path string) *flow.HTTPFlow {
	t.Helper()
	var got *flow.HTTPFlow
	testutil.Eventually(t, 10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, f := range s.flows {
			if f.Request.Path == path {
				got = f
				return true
			}
		}
		return false
	}, "no flow for "+path)
	return got
}

// replacer is a stream function that replaces foo with bar in each chunk
// and appends <end> at the end; it records the chunk sizes it saw (an empty
// one last).
type replacer struct {
	mu    sync.Mutex
	sizes []int
}

func (r *replacer) fn(chunk []byte) ([]byte, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(chunk))
	r.mu.Unlock()
	if len(chunk) == 0 {
		return []byte("<end>"), nil
	}
	return bytes.ReplaceAll(chunk, []byte("foo"), []byte("bar")), nil
}

func (r *replacer) calls() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

// chunkyHandler answers n pieces of "foo N\n", flushing each.
func chunkyHandler(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		for i := range n {
			fmt.Fprintf(w, "foo %d\n", i)
			w.(http.Flusher).Flush()
		}
	}
}

func chunkyWant(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "bar %d\n", i)
	}
	return sb.String() + "<end>"
}

// TestStreamFuncResponse: a StreamFunc set in responseheaders changes every
// chunk of the response on its way, over HTTP/1 and HTTP/2 on both sides;
// the end call's output is sent last, and the flow stores what was sent
// (store_streamed_bodies).
func TestStreamFuncResponse(t *testing.T) {
	const n = 20
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			rp := &replacer{}
			s := &streamer{respHdrs: func(f *flow.HTTPFlow) {
				f.Response.Stream = true
				f.Response.StreamFunc = rp.fn
			}}
			var c *http.Client
			var base string
			if proto == "h1" {
				addr := startProxyAddons(t, []any{s}, "store_streamed_bodies=true")
				base = testutil.HTTPOrigin(t, chunkyHandler(n)).URL
				c = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
			} else {
				confdir := t.TempDir()
				addr := startProxyAddons(t, []any{tlsconfig.New(), s}, "confdir="+confdir, "ssl_insecure=true", "store_streamed_bodies=true")
				base = h2OriginHandler(t, chunkyHandler(n))
				c = h2Client(addr, caPool(t, confdir))
			}
			resp, err := c.Get(base + "/chunks")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := chunkyWant(n); string(body) != want {
				t.Errorf("client got %q, want %q", body, want)
			}
			f := s.flow(t, "/chunks")
			if f.Error != nil {
				t.Fatalf("flow error %v", f.Error)
			}
			if proto == "h2" && (resp.ProtoMajor != 2 || f.Response.HTTPVersion != "HTTP/2.0") {
				t.Errorf("not HTTP/2 on both sides: client %s, server %s", resp.Proto, f.Response.HTTPVersion)
			}
			if string(f.Response.RawContent) != string(body) {
				t.Errorf("the flow stored %q, the client got %q", f.Response.RawContent, body)
			}
			calls := rp.calls()
			if len(calls) < 2 || calls[len(calls)-1] != 0 {
				t.Errorf("stream function calls (chunk sizes) %v: want data chunks, then one empty", calls)
			}
			for _, sz := range calls[:len(calls)-1] {
				if sz == 0 {
					t.Errorf("an empty chunk before the end: %v", calls)
				}
			}
		})
	}
}

// h2OriginHandler starts a TLS origin with handler h that speaks HTTP/2
// to a client that offers it, and returns its URL.
func h2OriginHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStreamFuncRequest: a StreamFunc set in requestheaders changes the
// request body on its way to the server (HTTP/1 and HTTP/2); the flow
// stores what was sent.
func TestStreamFuncRequest(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	upload := strings.Repeat("foo-", 50_000) // 200 kB: several chunks
	want := strings.Repeat("bar-", 50_000) + "<end>"
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			rp := &replacer{}
			s := &streamer{reqHdrs: func(f *flow.HTTPFlow) {
				f.Request.Stream = true
				f.Request.StreamFunc = rp.fn
			}}
			var c *http.Client
			var base string
			if proto == "h1" {
				addr := startProxyAddons(t, []any{s}, "store_streamed_bodies=true")
				base = testutil.HTTPOrigin(t, echo).URL
				c = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
			} else {
				confdir := t.TempDir()
				addr := startProxyAddons(t, []any{tlsconfig.New(), s}, "confdir="+confdir, "ssl_insecure=true", "store_streamed_bodies=true")
				base = h2OriginHandler(t, echo)
				c = h2Client(addr, caPool(t, confdir))
			}
			// Unknown length: the function may change it (chunked on
			// HTTP/1).
			req, _ := http.NewRequest("POST", base+"/up", io.NopCloser(strings.NewReader(upload)))
			req.ContentLength = -1
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != want {
				t.Errorf("the origin got %d bytes (%.40q...), want %d", len(body), body, len(want))
			}
			f := s.flow(t, "/up")
			if proto == "h2" && (resp.ProtoMajor != 2 || f.Response.HTTPVersion != "HTTP/2.0") {
				t.Errorf("not HTTP/2 on both sides: client %s, server %s", resp.Proto, f.Response.HTTPVersion)
			}
			if string(f.Request.RawContent) != want {
				t.Errorf("the flow stored %d bytes of request body, want %d", len(f.Request.RawContent), len(want))
			}
			if calls := rp.calls(); len(calls) < 2 || calls[len(calls)-1] != 0 {
				t.Errorf("stream function calls %v", calls)
			}
		})
	}
}

// TestStreamFuncError: a StreamFunc that fails ends the exchange: the
// client does not get the whole body and the flow's error names the
// stream function.
func TestStreamFuncError(t *testing.T) {
	var calls int
	s := &streamer{respHdrs: func(f *flow.HTTPFlow) {
		f.Response.Stream = true
		f.Response.StreamFunc = func(chunk []byte) ([]byte, error) {
			calls++
			if calls == 3 {
				return nil, errors.New("refused")
			}
			return chunk, nil
		}
	}}
	addr := startProxyAddons(t, []any{s})
	base := testutil.HTTPOrigin(t, chunkyHandler(10)).URL
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	resp, err := c.Get(base + "/fails")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("the client got the whole body")
	}
	f := s.flow(t, "/fails")
	if f.Error == nil || !strings.Contains(f.Error.Msg, "stream function failed: refused") {
		t.Errorf("flow error %v", f.Error)
	}
}

// TestStreamDecidedBeforeHooks: a response over stream_large_bodies reads
// Stream true in responseheaders; a hook that sets it back gets the body
// buffered. A body of unknown length that grows past the threshold is
// streamed, says so in the response hook, and is stored whole with
// store_streamed_bodies.
func TestStreamDecidedBeforeHooks(t *testing.T) {
	big := strings.Repeat("x", 5000)
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			for range 5 {
				io.WriteString(w, big[:1000])
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", "5000")
		io.WriteString(w, big)
	}))
	s := &streamer{respHdrs: func(f *flow.HTTPFlow) {
		if f.Request.Path == "/optout" {
			f.Response.Stream = false
		}
	}}
	addr := startProxyAddons(t, []any{s}, "stream_large_bodies=1k", "store_streamed_bodies=true")
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	for _, path := range []string{"/optout", "/chunked"} {
		resp, err := c.Get(origin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != big {
			t.Errorf("%s: client got %d bytes", path, len(b))
		}
	}
	s.mu.Lock()
	saw := append([]bool(nil), s.sawStream...)
	s.mu.Unlock()
	if len(saw) != 2 || !saw[0] {
		t.Errorf("responseheaders saw Stream %v; want true for the large body first", saw)
	}
	if f := s.flow(t, "/optout"); f.Response.Stream || len(f.Response.RawContent) != 5000 {
		t.Errorf("opted out: stream %v, %d bytes kept", f.Response.Stream, len(f.Response.RawContent))
	}
	if f := s.flow(t, "/chunked"); !f.Response.Stream || string(f.Response.RawContent) != big {
		t.Errorf("grew past the threshold: stream %v, %d bytes stored", f.Response.Stream, len(f.Response.RawContent))
	}
}

// TestStreamFuncEmptyBody: a StreamFunc on a message without a body is
// never called (mitmproxy streams no empty body), and the exchange goes on.
func TestStreamFuncEmptyBody(t *testing.T) {
	var calls int
	fn := func(chunk []byte) ([]byte, error) {
		calls++
		return []byte("surprise"), nil
	}
	s := &streamer{reqHdrs: func(f *flow.HTTPFlow) {
		f.Request.Stream, f.Request.StreamFunc = true, fn
	}}
	addr := startProxyAddons(t, []any{s})
	base := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d bytes", len(b))
	})).URL
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	resp, err := c.Get(base + "/empty")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "got 0 bytes" || calls != 0 {
		t.Errorf("origin answered %q; the function ran %d times", b, calls)
	}
}
