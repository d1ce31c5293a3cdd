package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// origin is a minimal, fast HTTP/1.1 server on loopback: keep-alive, and a
// fixed body per path, so that the proxy, not the origin, is what the
// benchmark measures.
type origin struct {
	ln        net.Listener
	responses map[string][]byte
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
}

// bodySizes are the bodies the origin serves, by path.
var bodySizes = map[string]int{"/small": 200, "/large": 64 << 10}

func startOrigin() (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	o := &origin{ln: ln, responses: map[string][]byte{}, conns: map[net.Conn]struct{}{}}
	for path, n := range bodySizes {
		body := bytes.Repeat([]byte("x"), n)
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
		o.responses[path] = append([]byte(head), body...)
	}
	o.wg.Add(1)
	go o.serve()
	return o, nil
}

func (o *origin) addr() string { return o.ln.Addr().String() }

func (o *origin) serve() {
	defer o.wg.Done()
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			c.Close()
			return
		}
		o.conns[c] = struct{}{}
		o.mu.Unlock()
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			o.handle(c)
			o.mu.Lock()
			delete(o.conns, c)
			o.mu.Unlock()
		}()
	}
}

var notFound = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

func (o *origin) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 16<<10)
	w := bufio.NewWriterSize(c, 80<<10)
	for {
		path, closeAfter, err := readRequest(r)
		if err != nil {
			return
		}
		resp, ok := o.responses[path]
		if !ok {
			resp = notFound
		}
		if _, err := w.Write(resp); err != nil {
			return
		}
		// Only flush when no further pipelined request is already waiting.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if closeAfter {
			w.Flush()
			return
		}
	}
}

// readRequest reads one request and returns its path (absolute-form
// targets are reduced to their path), whether the client asked to close,
// and discards any body.
func readRequest(r *bufio.Reader) (path string, closeAfter bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "", false, err
	}
	fields := strings.Fields(string(line))
	if len(fields) != 3 {
		return "", false, errors.New("bad request line")
	}
	path = fields[1]
	if i := strings.Index(path, "://"); i >= 0 {
		if j := strings.IndexByte(path[i+3:], '/'); j >= 0 {
			path = path[i+3+j:]
		} else {
			path = "/"
		}
	}
	closeAfter = fields[2] == "HTTP/1.0"
	length := 0
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return "", false, err
		}
		if len(h) <= 2 && strings.TrimSpace(string(h)) == "" {
			break
		}
		name, value, _ := strings.Cut(string(h), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			length, _ = strconv.Atoi(value)
		case "connection":
			closeAfter = strings.EqualFold(value, "close")
		}
	}
	if length > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
			return "", false, err
		}
	}
	return path, closeAfter, nil
}

func (o *origin) close() {
	o.mu.Lock()
	o.closed = true
	for c := range o.conns {
		c.Close()
	}
	o.mu.Unlock()
	o.ln.Close()
	o.wg.Wait()
}
