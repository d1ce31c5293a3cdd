package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/proxy"
)

const (
	// chaosSeed seeds the workers' choices; MITMGO_CHAOS_SEED overrides it.
	chaosSeed = 20261126
	// chaosIOLimit bounds every socket operation: a hang fails the test.
	chaosIOLimit = 10 * time.Second
	// chaosStream is the stream_large_bodies threshold of the second subtest.
	chaosStream = 100 << 10
)

// TestChaos runs random, often hostile, traffic through the proxy for a
// bounded time: keep-alive GET and HEAD, uploads with Content-Length and
// chunked bodies, pipelined requests, clients that go away mid-transfer,
// malformed requests, and origins that reset, send garbage or cut a body
// short. Every well-formed response must arrive byte for byte, every broken
// exchange must fail visibly (502, 400, or a connection closed before the
// declared length), the proxy must still serve afterwards, and Shutdown must
// end flows whose server never answers. TestMain checks for leaked
// goroutines.
//
// It runs for 3 s per subtest; MITMGO_CHAOS=<duration> (e.g. 2m) runs it
// longer. The workers' choices come from a fixed seed, logged;
// MITMGO_CHAOS_SEED=<n> picks another. The interleaving of the workers is
// up to the scheduler, so a failure replays the same choices, not
// necessarily the same timing.
func TestChaos(t *testing.T) {
	dur := 3 * time.Second
	if s := os.Getenv("MITMGO_CHAOS"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("MITMGO_CHAOS=%q: want a positive duration such as 30s", s)
		}
		dur = d
	}
	seed := uint64(chaosSeed)
	if s := os.Getenv("MITMGO_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MITMGO_CHAOS_SEED=%q: want a number", s)
		}
		seed = n
	}
	// Byte i of every body is (i*31+7)%251, uploads from an offset.
	pattern := make([]byte, 1<<20+256)
	for i := range pattern {
		pattern[i] = byte((i*31 + 7) % 251)
	}
	for _, set := range []string{"default", "stream_large_bodies=100k"} {
		t.Run(set, func(t *testing.T) {
			t.Logf("seed %d, %s of load", seed, dur)
			ch := &chaos{t: t, seed: seed, pattern: pattern, stream: set != "default"}
			ch.origin = startChaosOrigin(t, pattern)
			var sets []string
			if ch.stream {
				sets = append(sets, set)
			}
			srv, ln := listenProxy(t, nil, sets...)
			ch.proxy = ln.Addr().String()
			served := make(chan struct{})
			go func() { _ = srv.Serve(ln); close(served) }()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
				<-served
			})
			ch.run(dur)
			if t.Failed() {
				return
			}
			// The proxy still serves after the load.
			final := ch.worker(-1)
			if c, br := final.dial(); c != nil {
				final.exchange("final", c, br, goodReq{"GET", "cl", 64 << 10})
				c.Close()
			}
			ch.checkShutdown(srv, served)
		})
	}
}

type chaos struct {
	t       *testing.T
	seed    uint64
	pattern []byte
	stream  bool
	origin  *chaosOrigin
	proxy   string
}

type chaosWorker struct {
	*chaos
	id     int
	r      *rand.Rand
	counts map[string]int
	failed bool
}

// run lets 12 workers loose for dur, each step on a new connection, and
// logs what they did.
func (ch *chaos) run(dur time.Duration) {
	type w = chaosWorker
	ops := []func(*w, net.Conn, *bufio.Reader){(*w).keepAlive, (*w).keepAlive, (*w).keepAlive,
		(*w).post, (*w).post, (*w).pipeline, (*w).pipeline, (*w).abort, (*w).badOrigin, (*w).badOrigin, (*w).malformed}
	deadline := time.Now().Add(dur)
	workers := make([]*chaosWorker, 12)
	var wg sync.WaitGroup
	for i := range workers {
		w := ch.worker(i)
		workers[i] = w
		wg.Go(func() {
			for !w.failed && time.Now().Before(deadline) {
				if c, br := w.dial(); c != nil {
					ops[w.r.IntN(len(ops))](w, c, br)
					c.Close()
				}
			}
		})
	}
	wg.Wait()
	total := map[string]int{}
	for _, w := range workers {
		for k, n := range w.counts {
			total[k] += n
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(total)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, total[k]))
	}
	ch.t.Logf("outcomes: %s", strings.Join(parts, " "))
}

func (ch *chaos) worker(id int) *chaosWorker {
	return &chaosWorker{chaos: ch, id: id, r: rand.New(rand.NewPCG(ch.seed, uint64(id+1))), counts: map[string]int{}}
}

// checkShutdown: a Shutdown that runs out of time ends the flows waiting on
// a server that never answers, and their client connections.
func (ch *chaos) checkShutdown(srv *proxy.Server, served <-chan struct{}) {
	t := ch.t
	var conns []net.Conn
	for range 2 {
		c, err := net.DialTimeout("tcp", ch.proxy, chaosIOLimit)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
		fmt.Fprintf(c, "GET http://%s/hang/0 HTTP/1.1\r\nHost: %s\r\n\r\n", ch.origin.addr, ch.origin.addr)
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(chaosIOLimit); ch.origin.hangs.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the origin did not get the requests to /hang")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// Were the flows not ended, Shutdown would return when the origin gives
	// up (chaosIOLimit).
	err := srv.Shutdown(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 3*time.Second {
		t.Errorf("shutdown (seed %d): Shutdown = %v after %s, want the deadline at once", ch.seed, err, took)
	}
	<-served
	for _, c := range conns {
		if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("shutdown (seed %d): a client connection stayed open", ch.seed)
		}
	}
}

func (w *chaosWorker) fail(cat, format string, args ...any) {
	w.failed = true
	w.t.Errorf("chaos %s (seed %d, worker %d): %s", cat, w.seed, w.id, fmt.Sprintf(format, args...))
}

func (w *chaosWorker) dial() (net.Conn, *bufio.Reader) {
	c, err := net.DialTimeout("tcp", w.proxy, chaosIOLimit)
	if err != nil {
		w.fail("dial", "%v", err)
		return nil, nil
	}
	_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
	return c, bufio.NewReader(c)
}

func (w *chaosWorker) head(method, path string) string {
	return fmt.Sprintf("%s http://%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: chaos\r\n", method, w.origin.addr, path, w.origin.addr)
}

// goodReq is a request to a well-behaved origin path, /kind/size.
type goodReq struct {
	method, kind string
	n            int
}

func (g goodReq) path() string { return fmt.Sprintf("/%s/%d", g.kind, g.n) }

// pickGood picks a well-formed request. A close-delimited response ends
// the connection: requests that must be followed by others leave it out.
func (w *chaosWorker) pickGood(allowClose bool) goodReq {
	n := []int{0, 200, 200, 64 << 10, 64 << 10, 1 << 20}[w.r.IntN(6)]
	kinds := []string{"cl", "cl", "chunked", "1xx", "204", "HEAD", "close"}
	if !allowClose {
		kinds = kinds[:len(kinds)-1]
	}
	switch k := kinds[w.r.IntN(len(kinds))]; k {
	case "HEAD":
		return goodReq{"HEAD", "cl", n}
	case "204":
		return goodReq{"GET", k, 0}
	default:
		return goodReq{"GET", k, n}
	}
}

// readChaosResponse reads a final response and its body, counting the
// interim (1xx) responses before it.
func readChaosResponse(br *bufio.Reader, method string) (resp *http.Response, body []byte, interim int, err error) {
	for {
		if resp, err = http.ReadResponse(br, &http.Request{Method: method}); err != nil {
			return nil, nil, interim, err
		}
		if resp.StatusCode/100 != 1 {
			break
		}
		interim++
	}
	body, err = io.ReadAll(resp.Body)
	return resp, body, interim, err
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func diffBody(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Errorf("body of %d bytes, want %d; first difference at byte %d", len(got), len(want), i)
}

// verify reads the response to g and checks it byte for byte.
func (w *chaosWorker) verify(g goodReq, br *bufio.Reader) (*http.Response, error) {
	resp, body, interim, err := readChaosResponse(br, g.method)
	wantStatus, wantInterim, want := 200, 0, w.pattern[:g.n]
	switch {
	case g.kind == "204":
		wantStatus = 204
	case g.kind == "1xx":
		wantInterim = 2 // the origin's 100 and 103
	case g.method == "HEAD":
		want = nil
	}
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != wantStatus || interim != wantInterim:
		return nil, fmt.Errorf("status %d after %d interim responses, want %d after %d (%.200q)", resp.StatusCode, interim, wantStatus, wantInterim, body)
	case g.method == "HEAD" && resp.Header.Get("Content-Length") != strconv.Itoa(g.n):
		return nil, fmt.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), g.n)
	}
	return resp, diffBody(body, want)
}

// exchange sends one well-formed request on c and checks the response; it
// reports whether c may carry another request.
func (w *chaosWorker) exchange(cat string, c net.Conn, br *bufio.Reader, g goodReq) bool {
	_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
	_, err := io.WriteString(c, w.head(g.method, g.path())+"\r\n")
	var resp *http.Response
	if err == nil {
		resp, err = w.verify(g, br)
	}
	if err != nil {
		w.fail(cat, "%s %s: %v", g.method, g.path(), err)
		return false
	}
	w.counts[cat]++
	return !resp.Close
}

// keepAlive sends a few GET and HEAD requests on one connection.
func (w *chaosWorker) keepAlive(c net.Conn, br *bufio.Reader) {
	for i := 1 + w.r.IntN(4); i > 0 && w.exchange("get", c, br, w.pickGood(true)); i-- {
	}
}

// post uploads bodies, Content-Length or chunked, some after an Expect:
// 100-continue; the origin answers with the length and SHA-256 it got.
func (w *chaosWorker) post(c net.Conn, br *bufio.Reader) {
	for range 1 + w.r.IntN(3) {
		n := []int{0, 10, 5000, 100 << 10, 1 << 20}[w.r.IntN(5)]
		off := w.r.IntN(251)
		body := w.pattern[off : off+n]
		chunked, expect := w.r.IntN(2) == 0, w.r.IntN(4) == 0
		desc := fmt.Sprintf("POST of %d bytes (chunked %v, expect %v)", n, chunked, expect)
		_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
		bw := bufio.NewWriter(c)
		bw.WriteString(w.head("POST", "/echo/0"))
		if chunked {
			bw.WriteString("Transfer-Encoding: chunked\r\n")
		} else {
			fmt.Fprintf(bw, "Content-Length: %d\r\n", n)
		}
		if expect {
			bw.WriteString("Expect: 100-continue\r\n\r\n")
			if err := bw.Flush(); err != nil {
				w.fail("post", "%s: write: %v", desc, err)
				return
			}
			if resp, err := http.ReadResponse(br, &http.Request{Method: "POST"}); err != nil || resp.StatusCode != 100 {
				w.fail("post", "%s: want 100 Continue first, got %v", desc, err)
				return
			}
		} else {
			bw.WriteString("\r\n")
		}
		for o := 0; chunked && o < n; {
			k := min(1+w.r.IntN(40000), n-o)
			fmt.Fprintf(bw, "%x\r\n%s\r\n", k, body[o:o+k])
			o += k
		}
		if chunked {
			bw.WriteString("0\r\n\r\n")
		} else {
			bw.Write(body)
		}
		if err := bw.Flush(); err != nil {
			w.fail("post", "%s: write: %v", desc, err)
			return
		}
		resp, got, interim, err := readChaosResponse(br, "POST")
		if want := fmt.Sprintf("%d %x", n, sha256.Sum256(body)); err != nil || resp.StatusCode != 200 || interim != 0 || string(got) != want {
			w.fail("post", "%s: status %d (after %d interim) %q, %v; want 200 %q", desc, statusOf(resp), interim, got, err, want)
			return
		}
		w.counts["post"]++
		if resp.Close {
			return
		}
	}
}

// pipeline writes 2-3 requests at once, then reads the responses in order.
func (w *chaosWorker) pipeline(c net.Conn, br *bufio.Reader) {
	var reqs []goodReq
	var buf strings.Builder
	for range 2 + w.r.IntN(2) {
		g := w.pickGood(false)
		reqs = append(reqs, g)
		buf.WriteString(w.head(g.method, g.path()) + "\r\n")
	}
	if _, err := io.WriteString(c, buf.String()); err != nil {
		w.fail("pipeline", "write: %v", err)
		return
	}
	for i, g := range reqs {
		if _, err := w.verify(g, br); err != nil {
			w.fail("pipeline", "response %d of %d (%s %s): %v", i+1, len(reqs), g.method, g.path(), err)
			return
		}
	}
	w.counts["pipeline"]++
}

// abort goes away mid-upload or mid-response, sometimes with a reset.
func (w *chaosWorker) abort(c net.Conn, br *bufio.Reader) {
	if w.r.IntN(2) == 0 {
		defer c.(*net.TCPConn).SetLinger(0)
	}
	if w.r.IntN(3) == 0 {
		fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n", w.head("POST", "/echo/0"), 1<<20)
		c.Write(w.pattern[:w.r.IntN(300_000)])
		w.counts["abort-upload"]++
		return
	}
	g := goodReq{"GET", []string{"cl", "chunked", "close"}[w.r.IntN(3)], 1 << 20}
	io.WriteString(c, w.head(g.method, g.path())+"\r\n")
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	part := make([]byte, w.r.IntN(300_000))
	if err == nil {
		_, err = io.ReadFull(resp.Body, part)
	}
	if err == nil {
		err = diffBody(part, w.pattern[:len(part)])
	}
	if err != nil {
		w.fail("abort", "%s: %v", g.path(), err)
		return
	}
	w.counts["abort-response"]++
}

// badOrigin makes the origin fail, sometimes after good requests on the
// same connection. The client must see a 502 or, when the body was already
// being streamed, a connection that ends before the body is complete.
func (w *chaosWorker) badOrigin(c net.Conn, br *bufio.Reader) {
	kind := []string{"reset", "garbage", "short", "shortchunked"}[w.r.IntN(4)]
	for range w.r.IntN(3) {
		if !w.exchange("get", c, br, w.pickGood(false)) {
			return
		}
	}
	n := []int{1000, 1 << 20}[w.r.IntN(2)]
	path := fmt.Sprintf("/%s/%d", kind, n)
	_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
	io.WriteString(c, w.head("GET", path)+"\r\n")
	resp, body, _, err := readChaosResponse(br, "GET")
	switch {
	case resp == nil:
		w.fail("bad-origin", "%s: no response: %v", path, err)
	case resp.StatusCode == 502 && err == nil:
		w.counts["bad-origin/502"]++
	case resp.StatusCode == 200 && w.stream && n > chaosStream && err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
		if err := diffBody(body, w.pattern[:len(body)]); err != nil {
			w.fail("bad-origin", "%s: streamed part: %v", path, err)
			return
		}
		w.counts["bad-origin/cut-short"]++
	default:
		w.fail("bad-origin", "%s: status %d, %d body bytes, read error %v; want a 502 or a body cut short", path, resp.StatusCode, len(body), err)
	}
}

// malformed sends a broken request, sometimes after a good one, and wants
// a 400.
func (w *chaosWorker) malformed(c net.Conn, br *bufio.Reader) {
	post := w.head("POST", "/echo/0")
	garbage := []byte{'x'}
	for range w.r.IntN(200) {
		garbage = append(garbage, "abcdefghijklmnopqrstuvwxyz  "[w.r.IntN(28)])
	}
	req := []string{
		post + "Content-Length: abc\r\n\r\nhello",
		post + "Content-Length: -5\r\n\r\nhello",
		post + "Content-Length: 5\r\nContent-Length: 7\r\n\r\nhello12",
		post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		string(garbage) + "\r\n\r\n",
		// HTTP/9.9 would pass, as in mitmproxy (HTTP/\d\.\d).
		strings.Replace(w.head("GET", "/cl/200"), "HTTP/1.1", "HTTP/9", 1) + "\r\n",
	}[w.r.IntN(6)]
	if w.r.IntN(2) == 0 && !w.exchange("get", c, br, w.pickGood(false)) {
		return
	}
	_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
	io.WriteString(c, req) // one write: the proxy reads it all before it closes
	if resp, body, _, err := readChaosResponse(br, "POST"); err != nil || resp.StatusCode != 400 {
		w.fail("malformed", "%q: status %d %q, %v; want 400", req, statusOf(resp), body, err)
		return
	}
	w.counts["malformed/400"]++
}

// chaosOrigin is a raw-socket origin that picks its behaviour from the
// request path, /kind/size. (testutil.RawOrigin keeps every byte it
// receives, too much for a long run.)
type chaosOrigin struct {
	addr    string
	pattern []byte
	hangs   atomic.Int32
	stop    chan struct{}
}

func startChaosOrigin(t *testing.T, pattern []byte) *chaosOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &chaosOrigin{addr: ln.Addr().String(), pattern: pattern, stop: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			wg.Go(func() { o.serve(c); c.Close() })
		}
	})
	t.Cleanup(func() { close(o.stop); ln.Close(); wg.Wait() })
	return o
}

func (o *chaosOrigin) serve(c net.Conn) {
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	for keep := true; keep; {
		_ = c.SetDeadline(time.Now().Add(chaosIOLimit))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		sum := sha256.New()
		got, err := io.Copy(sum, req.Body)
		if err != nil {
			return
		}
		kind, size, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		n, _ := strconv.Atoi(size)
		body := o.pattern[:min(n, len(o.pattern))]
		if req.Method == "HEAD" {
			body = nil
		}
		switch kind {
		case "1xx", "cl":
			if kind == "1xx" {
				bw.WriteString("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
			}
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", n, body)
		case "chunked":
			bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			for i, off := 0, 0; off < len(body); i++ {
				k := min([]int{1, 100, 4096, 70000}[i%4], len(body)-off)
				fmt.Fprintf(bw, "%x;i=%d\r\n%s\r\n", k, i, body[off:off+k])
				off += k
			}
			bw.WriteString("0\r\n\r\n")
		case "204":
			bw.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
		case "echo":
			reply := fmt.Sprintf("%d %x", got, sum.Sum(nil))
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(reply), reply)
		// The rest end the connection after their answer.
		case "close":
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", body)
		case "reset", "short":
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", n, body[:n/3])
			if kind == "reset" {
				_ = c.(*net.TCPConn).SetLinger(0)
			}
		case "shortchunked":
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", n/3, body[:n/3])
		case "garbage":
			bw.WriteString("this is not HTTP\r\n\r\n")
		case "hang":
			o.hangs.Add(1)
			select {
			case <-o.stop:
			case <-time.After(chaosIOLimit):
			}
		}
		keep = kind == "1xx" || kind == "cl" || kind == "chunked" || kind == "204" || kind == "echo"
		if bw.Flush() != nil {
			return
		}
	}
}
