package h2

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"golang.org/x/net/http2"
)

// ClientConn is the proxy's side of an HTTP/2 connection to a server.
type ClientConn struct {
	c    *conn
	done chan struct{}
}

// NewClientConn sends the client preface and our SETTINGS (with
// ENABLE_PUSH=0: mitmproxy refuses server push) on nc and starts reading,
// from r if not nil (a *bufio.Reader is read directly, not buffered again),
// otherwise from nc.
// The connection runs until Close, a graceful Shutdown, or the server ends
// it; Done tells when, Err why.
func NewClientConn(nc net.Conn, r io.Reader, s Settings, log *slog.Logger) (*ClientConn, error) {
	c := newConn(nc, r, s, log, true)
	c.nextID = 1
	if err := c.writeSettings(); err != nil {
		_ = nc.Close()
		return nil, err
	}
	cc := &ClientConn{c: c, done: make(chan struct{})}
	var ctrl sync.WaitGroup
	ctrl.Go(c.ctrlLoop)
	go func() {
		defer close(cc.done)
		err, clean, streamErr := c.readLoop()
		var ce *ConnError
		if errors.As(err, &ce) {
			c.failProtocol(ce)
		} else {
			c.fail(err, clean, streamErr)
		}
		ctrl.Wait()
	}()
	return cc, nil
}

// OpenStream opens a stream with the request header block head (endStream
// for a request without body). It waits while the server's
// SETTINGS_MAX_CONCURRENT_STREAMS are in use, and fails once the connection
// received or sent GOAWAY or is closed; an error means nothing was sent, and
// Retryable tells whether another connection may take the request.
func (cc *ClientConn) OpenStream(ctx context.Context, head []Field, endStream bool) (*Stream, error) {
	c := cc.c
	c.mu.Lock()
	maxList := c.peerMaxHeaderList
	c.mu.Unlock()
	if maxList > 0 && listSize(head) > uint64(maxList) {
		return nil, ErrHeaderListTooLarge
	}
	c.mu.Lock()
	for {
		if err := c.newStreamErrLocked(); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.active < int(c.peerMaxStreams) {
			break
		}
		ch := c.slotWait
		c.slotWaiters++
		c.mu.Unlock()
		var ctxErr error
		select {
		case <-ch:
		case <-ctx.Done():
			ctxErr = ctx.Err()
		}
		c.mu.Lock()
		c.slotWaiters--
		if ctxErr != nil {
			c.mu.Unlock()
			return nil, ctxErr
		}
	}
	c.active++ // hold the slot while waiting for the writer
	c.mu.Unlock()

	// The stream ID is taken and the HEADERS written under the writer
	// lock: IDs must appear on the wire in increasing order.
	c.lockWriter()
	defer c.unlockWriter()
	c.mu.Lock()
	if err := c.newStreamErrLocked(); err != nil {
		c.releaseSlotLocked()
		c.mu.Unlock()
		return nil, err
	}
	s := c.newStreamLocked(c.nextID)
	c.nextID += 2
	s.isHead = pseudo(head, ":method") == "HEAD"
	s.headersSent = true
	s.sendEnded = endStream
	maxFrame := c.peerMaxFrame
	c.mu.Unlock()
	c.writeBlock(s.id, head, endStream, maxFrame)
	if c.werr != nil {
		return nil, c.werr
	}
	return s, nil
}

// newStreamErrLocked says why no stream may be opened now.
func (c *conn) newStreamErrLocked() error {
	switch {
	case c.err != nil:
		return c.err
	case c.goAwayRecv != nil:
		return c.goAwayRecv
	case c.goAwaySent != nil:
		return c.goAwaySent
	case c.nextID > maxStreamID:
		return ErrStreamIDsExhausted
	}
	return nil
}

// CanTakeNewStream reports whether OpenStream would open a stream now,
// without waiting.
func (cc *ClientConn) CanTakeNewStream() bool {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newStreamErrLocked() == nil && !c.finishing && c.active < int(c.peerMaxStreams)
}

// Shutdown starts a graceful close: GOAWAY(NO_ERROR), no new streams; the
// connection closes when the open streams have ended.
func (cc *ClientConn) Shutdown() {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAwaySent != nil || c.err != nil {
		return
	}
	// We accept no pushed streams, so the last one we processed is 0.
	c.goAwaySent = &GoAwayError{Code: http2.ErrCodeNo}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlGoAway, code: http2.ErrCodeNo})
	c.wakeSlotsLocked()
	if c.active == 0 {
		c.startFinishLocked()
	}
}

// Close closes the connection at once and waits for its goroutines; open
// streams fail with ErrClosed.
func (cc *ClientConn) Close() error {
	cc.c.fail(ErrClosed, true, nil)
	<-cc.done
	return nil
}

// Done is closed when the connection has ended and its goroutines are gone.
func (cc *ClientConn) Done() <-chan struct{} { return cc.done }

// Err is why the connection ended (nil while it runs): ErrClosed after Close
// or Shutdown, the server's *GoAwayError, a *ConnError, ErrPeerClosed,
// ErrPingTimeout or an I/O error.
func (cc *ClientConn) Err() error {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Ping sends a PING and waits for the answer.
func (cc *ClientConn) Ping(ctx context.Context) error { return cc.c.ping(ctx) }
