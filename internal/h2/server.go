package h2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// ServerConn is the proxy's side of an HTTP/2 connection from a client.
type ServerConn struct {
	c        *conn
	handlers sync.WaitGroup
}

// NewServerConn prepares to serve HTTP/2 on nc. r, if not nil, is what to
// read from instead of nc, for bytes already peeked (the client preface may
// be among them); a *bufio.Reader is read directly, not buffered again.
// Nothing happens until Serve.
func NewServerConn(nc net.Conn, r io.Reader, s Settings, log *slog.Logger) *ServerConn {
	return &ServerConn{c: newConn(nc, r, s, log, false)}
}

// Serve sends our SETTINGS, reads the client preface and serves streams until
// the connection ends. handle runs on a goroutine of its own for each new
// stream (one whose handler returned may take a later stream), with the
// request header block in Stream.Header. When handle returns, a
// stream that has not ended both ways is reset: with NO_ERROR if the
// response was complete (so the client stops sending a body nobody reads),
// INTERNAL_ERROR otherwise.
//
// Serve returns after all handlers have returned. The error is nil for a
// clean end (our Shutdown or Close, a GOAWAY with NO_ERROR, or the client
// closing the connection with no stream in flight), otherwise why the
// connection ended (*ConnError, *GoAwayError, ErrPeerClosed,
// ErrPingTimeout, or an I/O error). When ctx ends the connection is closed
// and Serve returns ctx's error.
func (sc *ServerConn) Serve(ctx context.Context, handle func(*Stream)) error {
	c := sc.c
	next := make(chan *Stream)
	c.onStream = func(s *Stream) {
		// Called with c.mu held, so it must not block: a worker waiting
		// for a stream takes it at once, or a new one starts.
		select {
		case next <- s:
		default:
			sc.handlers.Add(1)
			go sc.work(s, next, handle)
		}
	}
	var helpers sync.WaitGroup
	defer helpers.Wait()
	helpers.Go(c.ctrlLoop)
	ctxErr := make(chan error, 1)
	helpers.Go(func() {
		select {
		case <-ctx.Done():
			ctxErr <- ctx.Err()
			c.fail(ErrClosed, true, nil)
		case <-c.closing:
		}
	})

	var err, streamErr error
	clean := false
	if err = c.writeSettings(); err == nil {
		err = sc.readPreface()
	}
	if err == nil {
		err, clean, streamErr = c.readLoop()
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		c.failProtocol(ce)
	} else {
		c.fail(err, clean, streamErr)
	}
	helpers.Wait()
	sc.handlers.Wait()

	select {
	case err := <-ctxErr:
		return err
	default:
	}
	c.mu.Lock()
	err, clean = c.err, c.clean
	c.mu.Unlock()
	var g *GoAwayError
	switch {
	case errors.As(err, &g) && g.Code != http2.ErrCodeNo:
		return err
	case clean, errors.Is(err, ErrClosed):
		return nil
	}
	return err
}

func (sc *ServerConn) readPreface() error {
	var buf [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(sc.c.br, buf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("h2: reading client preface: %w", ErrPeerClosed)
		}
		return fmt.Errorf("h2: reading client preface: %w", err)
	}
	if !bytes.Equal(buf[:], []byte(http2.ClientPreface)) {
		return fmt.Errorf("h2: invalid client preface %q", buf[:])
	}
	return nil
}

// workerIdle is how long a stream's goroutine waits for the connection's
// next stream once its handler returned. A new goroutine for every stream
// started with a small stack that grew, in copies, to the depth of the
// proxy's flow each time (runtime.newstack and copystack were 9% of the
// proxy's CPU under h2load, 10 streams per connection); a worker that goes
// on keeps its grown stack. The wait is short so that an idle connection
// soon holds no more than its read loop.
const workerIdle = 2 * time.Second

// work runs handle for s, then for each stream handed over on next, until
// none came for workerIdle or the connection ended.
func (sc *ServerConn) work(s *Stream, next <-chan *Stream, handle func(*Stream)) {
	defer sc.handlers.Done()
	var idle *time.Timer
	for {
		handle(s)
		sc.handlerReturned(s)
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case s = <-next:
			idle.Stop()
		case <-idle.C:
			return
		case <-sc.c.closing:
			idle.Stop()
			return
		}
	}
}

func (sc *ServerConn) handlerReturned(s *Stream) {
	c := sc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.handlerDone = true
	// The handler is gone: our own reset below is not news to it.
	s.onReset = nil
	if !s.closed {
		code := http2.ErrCodeInternal
		if s.sendEnded {
			code = http2.ErrCodeNo
		}
		c.resetStreamLocked(s, code, "")
	}
	c.handlerReturnedLocked()
}

// Shutdown starts a graceful close: GOAWAY(NO_ERROR) naming the last stream
// the client opened, so streams in flight finish and new ones are refused
// (the client retries them elsewhere). The connection closes when the last
// stream ends; Serve then returns nil.
func (sc *ServerConn) Shutdown() {
	c := sc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAwaySent != nil || c.err != nil {
		return
	}
	c.goAwaySent = &GoAwayError{Code: http2.ErrCodeNo, LastStreamID: c.maxPeerID}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlGoAway, val: c.maxPeerID, code: http2.ErrCodeNo})
	if c.active == 0 {
		c.startFinishLocked()
	}
}

// Close closes the connection at once; streams in flight fail with ErrClosed.
// Serve returns (nil) once the handlers have.
func (sc *ServerConn) Close() error {
	sc.c.fail(ErrClosed, true, nil)
	return nil
}

// Ping sends a PING and waits for the answer.
func (sc *ServerConn) Ping(ctx context.Context) error { return sc.c.ping(ctx) }
