package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h2"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// h2Origin starts a TLS origin that speaks the protocols in alpn ("h2",
// "http/1.1" or both). Its handler echoes what it saw: the protocol, the
// request's trailers, and the SHA-256 of the request body; /big/N answers
// N random-looking bytes, /slow waits for release.
func h2Origin(t *testing.T, alpn []string) (*httptest.Server, func()) {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	releaseOnce := func() { once.Do(func() { close(release) }) }
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		n, _ := io.Copy(sum, r.Body)
		w.Header().Set("X-Proto", r.Proto)
		w.Header().Set("X-Body-Sha", hex.EncodeToString(sum.Sum(nil)))
		w.Header().Set("X-Body-Len", fmt.Sprint(n))
		w.Header().Set("X-Req-Trailer", r.Trailer.Get("X-Client-Trailer"))
		w.Header().Set("Trailer", "X-Server-Trailer")
		io.WriteString(w, "hello "+r.Proto)
		w.Header().Set("X-Server-Trailer", "done")
	})
	mux.HandleFunc("/big/", func(w http.ResponseWriter, r *http.Request) {
		var size int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/big/"), &size)
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.Write(pattern(size))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "late")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	srv.TLS.NextProtos = alpn
	if len(alpn) == 1 && alpn[0] == "h2" {
		// Only HTTP/2, whatever the client says, as nghttpd: net/http
		// would fall back to HTTP/1.1 for a client without h2.
		h2srv := &http2.Server{}
		srv.URL = "https://" + serveTLS(t, srv.TLS, func(c net.Conn) {
			// net/http's server checks the TLS state, which only a
			// finished handshake has.
			if c.(*tls.Conn).Handshake() != nil {
				return
			}
			h2srv.ServeConn(c, &http2.ServeConnOpts{Handler: mux})
		})
	}
	t.Cleanup(func() {
		releaseOnce()
		srv.Close()
	})
	return srv, releaseOnce
}

// pattern is n bytes that differ from position to position, so that a
// misplaced piece shows in a hash.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// tunnelDialer dials target through the proxy's CONNECT and runs TLS in the
// tunnel with the proxy's CA, offering alpn.
func tunnelDialer(proxyAddr string, roots *x509.CertPool, alpn []string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", proxyAddr)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			c.Close()
			return nil, fmt.Errorf("CONNECT: %v %v", resp, err)
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: host, NextProtos: alpn})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
}

// h2Client is an HTTP/2-only client through the proxy.
func h2Client(proxyAddr string, roots *x509.CertPool) *http.Client {
	dial := tunnelDialer(proxyAddr, roots, []string{"h2", "http/1.1"})
	return &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return dial(ctx, network, addr)
		},
	}}
}

// h1Client is an HTTP/1.1 client through the proxy.
func h1Client(proxyAddr string, roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialTLSContext:     tunnelDialer(proxyAddr, roots, []string{"http/1.1"}),
		DisableCompression: true,
	}}
}

// startH2Proxy starts a proxy with TLS interception that trusts the test
// origins, and returns its address, its CA and a recorder of its flows.
func startH2Proxy(t *testing.T, sets ...string) (string, *x509.CertPool, *recorder) {
	confdir := t.TempDir()
	rec := &recorder{}
	addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, append([]string{"confdir=" + confdir, "ssl_insecure=true"}, sets...)...)
	return addr, caPool(t, confdir), rec
}

// TestHTTP2Pairings: HTTP/2 and HTTP/1.1 clients against h2-only, h1-only
// and dual origins. Each side speaks what it and the other side's ALPN
// allow (the proxy mirrors the server's choice to the client), the
// flow records the version the client spoke, and bodies and trailers pass
// both ways.
func TestHTTP2Pairings(t *testing.T) {
	addr, roots, rec := startH2Proxy(t)
	origins := map[string][]string{"h2-only": {"h2"}, "h1-only": {"http/1.1"}, "dual": {"h2", "http/1.1"}}
	for name, alpn := range origins {
		srv, _ := h2Origin(t, alpn)
		for _, client := range []string{"h2", "h1"} {
			t.Run(name+"/"+client, func(t *testing.T) {
				c := h1Client(addr, roots)
				wantProto := "HTTP/1.1"
				if client == "h1" && name == "h2-only" {
					// The server is offered what the client offered
					// (http/1.1), as mitmproxy does; a server that then
					// speaks HTTP/2 anyway speaks first, which makes
					// the tunnel a TCP flow, and an HTTP/1.1 client
					// cannot read it. It must fail, not hang.
					resp, err := c.Get(srv.URL + "/echo")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							t.Errorf("h1 client to an h2-only server: %s", resp.Status)
						}
					}
					return
				}
				if client == "h2" {
					if name == "h1-only" {
						// The server's choice is mirrored: the client
						// is offered http/1.1 only, and an h2-only Go
						// client cannot speak that.
						t.Skip("an h2-only client cannot talk to an h1-only server through a proxy that mirrors ALPN")
					}
					c = h2Client(addr, roots)
					wantProto = "HTTP/2.0"
				}
				body := pattern(100_000)
				path := "/echo/" + name + "/" + client
				req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
				req.Trailer = http.Header{"X-Client-Trailer": {"sent"}}
				req.ContentLength = -1
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.Proto != wantProto {
					t.Errorf("client spoke %s, want %s", resp.Proto, wantProto)
				}
				originProto := resp.Header.Get("X-Proto")
				if want := map[string]string{"h2-only": "HTTP/2.0", "h1-only": "HTTP/1.1", "dual": wantProto}[name]; originProto != want {
					t.Errorf("origin saw %s, want %s", originProto, want)
				}
				if string(got) != "hello "+originProto {
					t.Errorf("body %q", got)
				}
				sum := sha256.Sum256(body)
				if resp.Header.Get("X-Body-Sha") != hex.EncodeToString(sum[:]) {
					t.Errorf("origin got a different body (%s bytes)", resp.Header.Get("X-Body-Len"))
				}
				if got := resp.Header.Get("X-Req-Trailer"); got != "sent" {
					t.Errorf("origin got request trailer %q", got)
				}
				if got := resp.Trailer.Get("X-Server-Trailer"); got != "done" {
					t.Errorf("client got response trailer %q", got)
				}
				var f *flow.HTTPFlow
				testutil.Eventually(t, 5*time.Second, func() bool {
					for _, g := range rec.Flows() {
						if g.Request.Path == path && g.Response != nil {
							f = g
							return true
						}
					}
					return false
				}, "no flow for the request")
				if f.Request.Trailers.Get("x-client-trailer") != "sent" || f.Response.Trailers.Get("x-server-trailer") != "done" {
					t.Errorf("flow trailers: request %v, response %v", f.Request.Trailers, f.Response.Trailers)
				}
				wantResp := "HTTP/1.1"
				if originProto == "HTTP/2.0" {
					wantResp = "HTTP/2.0"
				}
				if f.Response.HTTPVersion != wantResp {
					t.Errorf("flow response version %s, want %s", f.Response.HTTPVersion, wantResp)
				}
			})
		}
	}
}

// TestHTTP2LargeBodies: 8 MiB each way over HTTP/2 on both sides, byte for
// byte, buffered and streamed.
func TestHTTP2LargeBodies(t *testing.T) {
	for _, sets := range [][]string{nil, {"stream_large_bodies=1m"}} {
		t.Run(fmt.Sprint(sets), func(t *testing.T) {
			addr, roots, _ := startH2Proxy(t, sets...)
			srv, _ := h2Origin(t, []string{"h2"})
			c := h2Client(addr, roots)
			up := make([]byte, 8<<20)
			rand.Read(up)
			resp, err := c.Post(srv.URL+"/echo", "application/octet-stream", bytes.NewReader(up))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(up)
			if resp.Header.Get("X-Body-Sha") != hex.EncodeToString(sum[:]) {
				t.Errorf("upload differs at the origin (%s bytes)", resp.Header.Get("X-Body-Len"))
			}
			resp, err = c.Get(srv.URL + "/big/8388608")
			if err != nil {
				t.Fatal(err)
			}
			down, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(down, pattern(8<<20)) {
				t.Errorf("download: %d bytes, %v", len(down), err)
			}
		})
	}
}

// TestHTTP2ManyStreamsOneSlow: 100 concurrent streams on one client
// connection, one of which the server holds; the other 99 complete.
func TestHTTP2ManyStreamsOneSlow(t *testing.T) {
	addr, roots, rec := startH2Proxy(t)
	srv, release := h2Origin(t, []string{"h2"})
	c := h2Client(addr, roots)
	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		// The proxy holds the slow response until its body is complete
		// (it is not streamed): the client waits, the others must not.
		resp, err := c.Get(srv.URL + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- result{string(b), err}
	}()
	testutil.Eventually(t, 5*time.Second, func() bool {
		for _, ev := range rec.Events() {
			if ev == "responseheaders" {
				return true
			}
		}
		return false
	}, "the slow response head did not arrive")
	var wg sync.WaitGroup
	errs := make(chan error, 99)
	for i := range 99 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(fmt.Sprintf("%s/big/%d", srv.URL, 1000+i))
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(b) != 1000+i {
				errs <- fmt.Errorf("stream %d: %d bytes, %v", i, len(b), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	release()
	if r := <-slow; r.err != nil || r.body != "late" {
		t.Errorf("slow stream: %q, %v", r.body, r.err)
	}
}

// TestHTTP2ClientReset: a client that resets its stream while the server is
// still answering gets the server's stream reset too, and the flow's error
// says the client reset it, in mitmproxy's words.
func TestHTTP2ClientReset(t *testing.T) {
	addr, roots, rec := startH2Proxy(t)
	serverSawCancel := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(serverSawCancel)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := h2Client(addr, roots)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/hang", nil)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	testutil.Eventually(t, 5*time.Second, func() bool { return slices.Contains(rec.Events(), "responseheaders") }, "the request did not reach the server")
	cancel() // the Go client resets the stream (RST_STREAM CANCEL)
	<-done
	select {
	case <-serverSawCancel:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's stream was not reset")
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		for _, f := range rec.Flows() {
			if f.Error != nil && f.Error.Msg == "stream reset by client (CANCEL)" {
				return true
			}
		}
		return false
	}, "no flow error from the reset: %v", rec.Events())
}

// TestHTTP2ServerReset: a server that resets a stream before its response
// is complete gets the client a 502 saying so, as mitmproxy; when the
// response is streamed and its head went out already, the client's stream
// is reset instead.
func TestHTTP2ServerReset(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprint("streamed=", streamed), func(t *testing.T) {
			var sets []string
			if streamed {
				sets = []string{"stream_large_bodies=1"}
			}
			addr, roots, rec := startH2Proxy(t, sets...)
			c := h2Client(addr, roots)
			for _, path := range []string{"/early", "/late"} {
				resp, err := c.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if streamed && path == "/late" {
					if err == nil {
						t.Errorf("%s: the client got a complete response: %d %q", path, resp.StatusCode, b)
					}
					continue
				}
				if resp.StatusCode != 502 || !strings.Contains(string(b), "stream reset by client (INTERNAL_ERROR)") {
					t.Errorf("%s: %d %s", path, resp.StatusCode, b)
				}
			}
			testutil.Eventually(t, 5*time.Second, func() bool {
				n := 0
				for _, f := range rec.Flows() {
					if f.Error != nil && strings.Contains(f.Error.Msg, "stream reset by client (INTERNAL_ERROR)") {
						n++
					}
				}
				return n == 2
			}, "flow errors: %v", rec.Events())
		})
	}
}

// TestHTTP2PriorKnowledgeInTunnel: a client that speaks HTTP/2 without TLS
// in a CONNECT tunnel (prior knowledge) is served as HTTP/2; the plain
// server behind gets HTTP/1.1, as from mitmproxy.
func TestHTTP2PriorKnowledgeInTunnel(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.Host)
	}))
	addr, _, rec := startH2Proxy(t)
	target := strings.TrimPrefix(origin.URL, "http://")
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, _, a string, _ *tls.Config) (net.Conn, error) {
			conn, br, status := testutil.ConnectTunnel(t, addr, a)
			if status != "HTTP/1.1 200 Connection established" || br.Buffered() > 0 {
				return nil, fmt.Errorf("CONNECT: %s", status)
			}
			conn.SetDeadline(time.Time{})
			return conn, nil
		},
	}}
	resp, err := c.Get("http://" + target + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(b) != "HTTP/1.1 "+target {
		t.Errorf("client %s, origin saw %q", resp.Proto, b)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		fs := rec.Flows()
		return len(fs) == 1 && fs[0].Request.HTTPVersion == "HTTP/2.0" && fs[0].Response.HTTPVersion == "HTTP/1.1"
	}, "flows: %v", rec.Events())
}

// TestHTTP2ServerGoAway: a server that says GOAWAY after a response gets
// the proxy's next request on a new connection; the client notices
// nothing.
func TestHTTP2ServerGoAway(t *testing.T) {
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := cert.TLS.Clone()
	cert.Close()
	cfg.NextProtos = []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns sync.WaitGroup
	t.Cleanup(conns.Wait)
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Add(1)
			go func() {
				defer conns.Done()
				sc := h2.NewServerConn(c, c, h2.Settings{}, slog.New(slog.DiscardHandler))
				n := accepted.Load()
				sc.Serve(context.Background(), func(s *h2.Stream) {
					io.Copy(io.Discard, s)
					// Every connection takes one request and says
					// GOAWAY before answering it, so that the proxy
					// knows before it sends the next one.
					sc.Shutdown()
					s.WriteHeader([]h2.Field{{Name: ":status", Value: "200"}}, false)
					fmt.Fprintf(s, "conn %d", n)
					s.CloseWrite()
				})
			}()
		}
	}()
	addr, roots, _ := startH2Proxy(t)
	c := h2Client(addr, roots)
	for i := 1; i <= 3; i++ {
		resp, err := c.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprint("conn ", i); string(b) != want {
			t.Errorf("request %d: %q, want %q", i, b, want)
		}
	}
}

// TestHTTP2ClientGoAway: a client that says GOAWAY while a stream is in
// flight gets that stream's response, then the proxy closes the
// connection, and the server connection with it.
func TestHTTP2ClientGoAway(t *testing.T) {
	addr, roots, rec := startH2Proxy(t)
	srv, release := h2Origin(t, []string{"h2"})
	conn, err := tunnelDialer(addr, roots, []string{"h2"})(context.Background(), "tcp", strings.TrimPrefix(srv.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/slow", nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			slow <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- result{string(b), err}
	}()
	testutil.Eventually(t, 5*time.Second, func() bool { return slices.Contains(rec.Events(), "responseheaders") }, "the slow request did not reach the server")
	shut := make(chan error, 1)
	go func() { shut <- cc.Shutdown(context.Background()) }()
	release()
	if r := <-slow; r.err != nil || r.body != "late" {
		t.Errorf("in-flight stream after GOAWAY: %q, %v", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		ev := rec.Events()
		return slices.Contains(ev, "client_disconnected") && slices.Contains(ev, "server_disconnected")
	}, "the connections were not closed: %v", rec.Events())
}

// TestReplayHTTP2: a replayed HTTP/2 flow goes out over HTTP/2 where the
// server offers it, an HTTP/1.1 one over HTTP/1.1.
func TestReplayHTTP2(t *testing.T) {
	srv, _ := h2Origin(t, []string{"h2", "http/1.1"})
	confdir := t.TempDir()
	p, _ := listenProxy(t, []any{tlsconfig.New()}, "confdir="+confdir, "ssl_insecure=true")
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	var portN int
	fmt.Sscan(port, &portN)
	for _, version := range []string{"HTTP/2.0", "HTTP/1.1"} {
		f := flow.NewHTTPFlow(nil, nil)
		f.Request = &flow.Request{
			Message: flow.Message{HTTPVersion: version, Headers: flow.NewHeaders("Host", srv.URL[len("https://"):], "Content-Length", "4"), RawContent: []byte("body")},
			Method:  "POST", Scheme: "https", Host: host, Port: portN, Path: "/replay",
		}
		if err := p.Send(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if got := f.Response.Headers.Get("x-proto"); got != version || f.Response.HTTPVersion != version {
			t.Errorf("%s replayed as %s (response %s)", version, got, f.Response.HTTPVersion)
		}
		if f.Response.Headers.Get("x-body-len") != "4" || string(f.Response.RawContent) != "hello "+version {
			t.Errorf("%s: body %q, origin got %s bytes", version, f.Response.RawContent, f.Response.Headers.Get("x-body-len"))
		}
	}
}
