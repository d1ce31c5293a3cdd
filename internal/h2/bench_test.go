package h2

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Requests per second over one connection with 10 concurrent streams, our
// client and server against x/net's, in every pairing:
//
//	go test -run '^$' -bench RoundTrip -benchtime 3s ./internal/h2

const benchStreams = 10

var benchRequestHeaders = []Field{
	{Name: "user-agent", Value: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	{Name: "accept", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
	{Name: "accept-language", Value: "en-US,en;q=0.5"},
	{Name: "accept-encoding", Value: "gzip, deflate, br, zstd"},
	{Name: "cookie", Value: "session=7f9a3c2e1b0d4e8f; theme=dark"},
}

type benchSide int

const (
	sideOurs benchSide = iota
	sideXNet
)

func (s benchSide) String() string { return [...]string{"ours", "xnet"}[s] }

func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{13, 64 << 10} {
		body := pattern(size)
		name := "small"
		if size > 1000 {
			name = "64KiB"
		}
		for _, pair := range [][2]benchSide{{sideOurs, sideOurs}, {sideXNet, sideXNet}, {sideOurs, sideXNet}, {sideXNet, sideOurs}} {
			b.Run(name+"/client="+pair[0].String()+"/server="+pair[1].String(), func(b *testing.B) {
				addr, stats := benchServer(b, pair[1], body)
				do := benchClient(b, pair[0], addr)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				for range benchStreams {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if n, err := do(); err != nil || n != size {
								b.Errorf("%d bytes, %v", n, err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				if stats != nil {
					if c := stats(); c != nil && c.flushes.Load() > 0 {
						b.ReportMetric(float64(c.frames.Load())/float64(c.flushes.Load()), "frames/flush")
					}
				}
			})
		}
	}
}

// benchServer starts a server answering every request with body. For ours
// it also returns the connection, for its write statistics.
func benchServer(b *testing.B, side benchSide, body []byte) (string, func() *conn) {
	respHeaders := []Field{
		{Name: ":status", Value: "200"},
		{Name: "content-type", Value: "text/html; charset=UTF-8"},
		{Name: "content-length", Value: strconv.Itoa(len(body))},
		{Name: "cache-control", Value: "max-age=604800"},
		{Name: "server", Value: "bench"},
	}
	if side == sideXNet {
		xs := startXServer(b, nil, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for _, f := range respHeaders[1:] {
				h[http.CanonicalHeaderKey(f.Name)] = []string{f.Value}
			}
			w.Write(body)
		})
		return xs.addr, nil
	}
	ts := startServer(b, Settings{}, func(s *Stream) {
		if s.WriteHeader(respHeaders, false) != nil {
			return
		}
		s.Write(body)
		s.CloseWrite()
	})
	return ts.addr, func() *conn {
		if sc := ts.conn(0); sc != nil {
			return sc.c
		}
		return nil
	}
}

// benchClient returns a function doing one GET, returning the body size.
func benchClient(b *testing.B, side benchSide, addr string) func() (int, error) {
	ctx := context.Background()
	if side == sideXNet {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		xcc, err := (&http2.Transport{AllowHTTP: true, StrictMaxConcurrentStreams: true}).NewClientConn(nc)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { xcc.Close() })
		req, _ := http.NewRequest("GET", "http://"+addr+"/index.html", nil)
		for _, f := range benchRequestHeaders {
			req.Header.Set(f.Name, f.Value)
		}
		return func() (int, error) {
			resp, err := xcc.RoundTrip(req)
			if err != nil {
				return 0, err
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return int(n), err
		}
	}
	cc := dialClient(b, addr, Settings{}, nil)
	head := get(addr, "/index.html", benchRequestHeaders...)
	bufs := sync.Pool{New: func() any { return new([32 << 10]byte) }}
	return func() (int, error) {
		s, err := cc.OpenStream(ctx, head, true)
		if err != nil {
			return 0, err
		}
		if _, err := s.ReadHeader(ctx); err != nil {
			return 0, err
		}
		buf := bufs.Get().(*[32 << 10]byte)
		defer bufs.Put(buf)
		n := 0
		for {
			k, err := s.Read(buf[:])
			n += k
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	}
}

// BenchmarkBulk measures one stream's throughput (16 MiB uploads echoed back)
// for the window and frame sizes in Settings:
//
//	go test -run '^$' -bench Bulk ./internal/h2
func BenchmarkBulk(b *testing.B) {
	for _, tc := range []struct {
		name string
		set  Settings
	}{
		{"window=64KiB", Settings{InitialWindowSize: 64 << 10}},
		{"window=256KiB", Settings{InitialWindowSize: 256 << 10}},
		{"window=1MiB", Settings{InitialWindowSize: 1 << 20}},
		{"window=4MiB", Settings{InitialWindowSize: 4 << 20}},
		{"window=1MiB/frame=64KiB", Settings{InitialWindowSize: 1 << 20, MaxFrameSize: 64 << 10}},
		{"window=4MiB/frame=256KiB", Settings{InitialWindowSize: 4 << 20, MaxFrameSize: 256 << 10}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startServer(b, tc.set, func(s *Stream) {
				s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
				io.Copy(s, s)
				s.CloseWrite()
			})
			cc := dialClient(b, ts.addr, tc.set, nil)
			body := pattern(16 << 20)
			ctx := context.Background()
			buf := make([]byte, 64<<10)
			b.SetBytes(2 * int64(len(body)))
			b.ResetTimer()
			for b.Loop() {
				s, err := cc.OpenStream(ctx, post("a", "/"), false)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					s.Write(body)
					s.CloseWrite()
				}()
				if _, err := s.ReadHeader(ctx); err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					k, err := s.Read(buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if n != len(body) {
					b.Fatalf("%d bytes", n)
				}
			}
		})
	}
}

// delayRelay forwards TCP connections to target, delivering every chunk
// oneWay after it was read, in each direction: a link with an RTT of
// 2*oneWay and loopback bandwidth.
func delayRelay(b *testing.B, target string, oneWay time.Duration) string {
	ln := listen(b)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	pump := func(dst, src net.Conn) {
		type chunk struct {
			at time.Time
			p  []byte
		}
		q := make(chan chunk, 4096)
		wg.Go(func() {
			defer close(q)
			for {
				buf := make([]byte, 64<<10)
				n, err := src.Read(buf)
				if n > 0 {
					q <- chunk{time.Now().Add(oneWay), buf[:n]}
				}
				if err != nil {
					return
				}
			}
		})
		wg.Go(func() {
			t := time.NewTimer(0)
			defer t.Stop()
			for c := range q {
				if d := time.Until(c.at); d > 0 {
					t.Reset(d)
					<-t.C
				}
				if _, err := dst.Write(c.p); err != nil {
					break
				}
			}
			for range q { // drain so the reader can finish
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
		})
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			pump(s, c)
			pump(c, s)
		}
	})
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// BenchmarkWindowRTT measures one stream's download throughput over a link
// with a 20 ms RTT for a range of receive windows: the window, not the
// link, limits it (throughput ≈ window / RTT).
//
//	go test -run '^$' -bench WindowRTT -benchtime 5x ./internal/h2
func BenchmarkWindowRTT(b *testing.B) {
	const size = 16 << 20
	body := pattern(size)
	for _, window := range []uint32{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("window=%dKiB", window>>10), func(b *testing.B) {
			ts := startServer(b, Settings{}, func(s *Stream) {
				s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false)
				s.Write(body)
				s.CloseWrite()
			})
			cc := dialClient(b, delayRelay(b, ts.addr, 10*time.Millisecond), Settings{InitialWindowSize: window}, nil)
			ctx := context.Background()
			buf := make([]byte, 64<<10)
			b.SetBytes(size)
			for b.Loop() {
				s, err := cc.OpenStream(ctx, get("a", "/"), true)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.ReadHeader(ctx); err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					k, err := s.Read(buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if n != size {
					b.Fatalf("%d bytes", n)
				}
			}
		})
	}
}
