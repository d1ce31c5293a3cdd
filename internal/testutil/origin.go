package testutil

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// HTTPOrigin starts a net/http origin on 127.0.0.1.
func HTTPOrigin(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// RawOrigin is an origin that records the exact bytes it receives and
// answers each connection with a scripted function.
type RawOrigin struct {
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	got  [][]byte
	wg   sync.WaitGroup
}

// StartRawOrigin serves each accepted connection with handle, which gets the
// connection and a reader of it; what it reads is recorded.
func StartRawOrigin(t testing.TB, handle func(c net.Conn, r *bufio.Reader)) *RawOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &RawOrigin{Addr: ln.Addr().String(), ln: ln}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			idx := o.newConn()
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				rec := &recorder{o: o, idx: idx, r: c}
				handle(c, bufio.NewReader(rec))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		o.wg.Wait()
	})
	return o
}

func (o *RawOrigin) newConn() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, nil)
	return len(o.got) - 1
}

// Received returns the bytes received on connection i so far.
func (o *RawOrigin) Received(i int) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i >= len(o.got) {
		return nil
	}
	return bytes.Clone(o.got[i])
}

// Conns is the number of connections accepted.
func (o *RawOrigin) Conns() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.got)
}

type recorder struct {
	o   *RawOrigin
	idx int
	r   io.Reader
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.o.mu.Lock()
	r.o.got[r.idx] = append(r.o.got[r.idx], p[:n]...)
	r.o.mu.Unlock()
	return n, err
}

// ReadRequest reads one HTTP/1 request head and its Content-Length or
// chunked body from r, returning the raw bytes (for origins that answer
// after a full request).
func ReadRequest(r *bufio.Reader) ([]byte, error) {
	var raw []byte
	cl := 0
	chunked := false
	for {
		line, err := r.ReadString('\n')
		raw = append(raw, line...)
		if err != nil {
			return raw, err
		}
		l := bytes.ToLower(bytes.TrimSpace([]byte(line)))
		if bytes.HasPrefix(l, []byte("content-length:")) {
			n := 0
			for _, c := range bytes.TrimSpace(l[len("content-length:"):]) {
				n = n*10 + int(c-'0')
			}
			cl = n
		}
		if bytes.HasPrefix(l, []byte("transfer-encoding:")) && bytes.Contains(l, []byte("chunked")) {
			chunked = true
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	if chunked {
		for {
			line, err := r.ReadString('\n')
			raw = append(raw, line...)
			if err != nil {
				return raw, err
			}
			size := 0
			for _, c := range bytes.TrimSpace([]byte(line)) {
				switch {
				case c >= '0' && c <= '9':
					size = size*16 + int(c-'0')
				case c >= 'a' && c <= 'f':
					size = size*16 + int(c-'a'+10)
				case c >= 'A' && c <= 'F':
					size = size*16 + int(c-'A'+10)
				}
			}
			if size == 0 {
				for {
					tl, err := r.ReadString('\n')
					raw = append(raw, tl...)
					if err != nil || tl == "\r\n" {
						return raw, err
					}
				}
			}
			buf := make([]byte, size+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return raw, err
			}
			raw = append(raw, buf...)
		}
	}
	buf := make([]byte, cl)
	_, err := io.ReadFull(r, buf)
	return append(raw, buf...), err
}
