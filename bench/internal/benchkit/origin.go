package benchkit

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// StartOrigin starts a net/http origin on 127.0.0.1 that reads each
// request's body and answers 200 with a text/plain body (Content-Length
// set); stop closes it. It is the plain origin of the webbench and
// consolebench runs; mitmbench has its own with sized bodies.
func StartOrigin(body string) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("origin: %w", err)
	}
	b := []byte(body)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
