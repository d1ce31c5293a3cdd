package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/mitmgo/mitmgo/flow"
)

// errTCPKilled ends the relay of a TCP flow an addon killed.
var errTCPKilled = errors.New("TCP flow killed by an addon")

// relayTCP is the TCP layer: it relays a stream that is not HTTP as a TCP
// flow, as mitmproxy's TCP layer does: tcp_start, then tcp_message for every
// piece either side sends (flow.Messages[len-1]; an addon may change its
// content, or empty it to drop it, or kill the flow), then tcp_end, or
// tcp_error when a side failed. The two directions run concurrently; their
// hooks are called one at a time, so that the newest message is the one the
// hook is about.
func (cc *clientConn) relayTCP(client *stream, sc *serverConn) {
	m := cc.s.m
	f := flow.NewTCPFlow(cc.client, sc.server)
	m.TCPStart(f)
	var mu sync.Mutex
	pass := func(fromClient bool, p []byte) ([]byte, error) {
		msg := &flow.TCPMessage{FromClient: fromClient, Content: bytes.Clone(p), Timestamp: nowSeconds()}
		mu.Lock()
		defer mu.Unlock()
		if f.Killed() {
			return nil, errTCPKilled
		}
		f.Messages = append(f.Messages, msg)
		m.TCPMessage(f)
		if f.Killed() {
			return nil, errTCPKilled
		}
		return msg.Content, nil
	}
	var err error
	if !f.Killed() {
		err = relayThrough(client, sc.st, &cc.s.bodies, pass)
	}
	cc.up.closeServer(sc)
	f.SetLive(false)
	if err != nil && f.Error == nil {
		f.Error = flow.NewError(describeIOError(err))
	}
	if f.Error != nil {
		m.TCPError(f)
	} else {
		m.TCPEnd(f)
	}
}

// relay copies bytes both ways until both directions are done. When one side
// finishes sending, the other side's write half is closed so it sees EOF.
func relay(client, server *stream, pool *bodyPool) {
	relayThrough(client, server, pool, nil)
}

// relayThrough is relay with a look at every piece: pass, when not nil, is
// handed each piece and the side it came from, and returns what to send on
// (nothing drops it) or an error that ends the relay. It returns the first
// error either direction met, nil when both ended cleanly.
func relayThrough(client, server *stream, pool *bodyPool, pass func(fromClient bool, p []byte) ([]byte, error)) error {
	var first struct {
		sync.Mutex
		err error
	}
	note := func(err error) {
		first.Lock()
		if first.err == nil {
			first.err = err
		}
		first.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := copyAndHalfClose(server.conn, client.r, pool, pass, true); err != nil {
			note(err)
		}
	}()
	if err := copyAndHalfClose(client.conn, server.r, pool, pass, false); err != nil {
		note(err)
	}
	wg.Wait()
	return first.err
}

type closeWriter interface{ CloseWrite() error }

// copyAndHalfClose copies src to dst (through pass, see relayThrough) and
// then closes dst's write half; on an error it closes dst entirely, which
// ends the other direction too. It returns the error.
func copyAndHalfClose(dst net.Conn, src io.Reader, pool *bodyPool, pass func(bool, []byte) ([]byte, error), fromClient bool) error {
	err := pump(src, pool, func(p []byte) error {
		if pass != nil {
			var err error
			if p, err = pass(fromClient, p); err != nil || len(p) == 0 {
				return err
			}
		}
		_, err := dst.Write(p)
		return err
	})
	if err == nil {
		if cw, ok := unwrapConn(dst).(closeWriter); ok {
			if cw.CloseWrite() == nil {
				return nil
			}
		}
	}
	// An error on either side ends both directions.
	dst.Close()
	return err
}

func unwrapConn(c net.Conn) net.Conn {
	if ic, ok := c.(*idleConn); ok {
		return ic.Conn
	}
	return c
}
