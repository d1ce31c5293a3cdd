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

// relayTCP relays a stream that is not HTTP as a TCP flow, as mitmproxy's
// TCP layer does: tcp_start, then tcp_message for every piece either side
// sends (flow.Messages[len-1]; an addon may change its content, or empty it
// to drop it, or kill the flow), then tcp_end, or tcp_error when a side
// failed. The two directions run concurrently; their hooks are called one
// at a time, so that the newest message is the one the hook is about.
func (cc *clientConn) relayTCP(clientR io.Reader, clientW net.Conn, sc *serverConn) {
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
		err = relayThrough(clientR, clientW, sc.br, sc.conn, &cc.s.bodies, pass)
	}
	cc.closeServer(sc)
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
