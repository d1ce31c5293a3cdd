package proxy

import (
	"bufio"
	"net"
	"time"
)

// tunnelStart waits for a tunnel's first bytes and returns what the client
// sent first (nil if nothing). A client speaks first in TLS and HTTP, but in
// protocols such as SMTP, IMAP or FTP the server greets first and the client
// waits for it; waiting for the client alone would hang both. With a server
// connection (sc, nil under the lazy strategy), data from either side ends
// the wait, as in mitmproxy, whose next layer is decided on data from either
// side. serverFirst reports that the server sent something: the tunnel is
// then a TCP flow (a TLS or HTTP server never speaks first).
func (cc *clientConn) tunnelStart(sc *serverConn) (head []byte, serverFirst bool, err error) {
	if sc == nil {
		_, err = cc.br.Peek(1)
	} else {
		err = firstOfTwo(cc.br, cc.raw, sc.br, sc.raw, cc.s.Config().IdleTimeout)
		if sc.br.Buffered() > 0 {
			return nil, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	// What the first read brought is normally the whole first message.
	// A TLS record header (3 bytes) or an HTTP method (4 letters) that
	// arrived cut short is waited for; the client is still sending it.
	need := 1
	switch b, _ := cc.br.Peek(cc.br.Buffered()); {
	case b[0] == 0x16:
		need = 3
	case mayBecomeHTTP(b):
		need = 4
	}
	head, err = cc.br.Peek(max(need, cc.br.Buffered()))
	if len(head) > 0 {
		err = nil
	}
	return head, false, err
}

// firstOfTwo waits until a or b has buffered data, or fails. The reader
// that is still waiting is interrupted through its connection's read
// deadline, which is then set again to the idle timeout on both. The error
// is the one that ended a's wait, unless b's data ended it.
func firstOfTwo(a *bufio.Reader, aConn net.Conn, b *bufio.Reader, bConn net.Conn, idle time.Duration) error {
	aDone, bDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := a.Peek(1); aDone <- err }()
	go func() { _, err := b.Peek(1); bDone <- err }()
	var aErr error
	select {
	case aErr = <-aDone:
		interrupt(bConn, bDone)
	case <-bDone:
		aErr = interrupt(aConn, aDone)
		if b.Buffered() > 0 {
			aErr = nil
		}
	}
	deadline := time.Now().Add(idle)
	_ = aConn.SetReadDeadline(deadline)
	_ = bConn.SetReadDeadline(deadline)
	return aErr
}

// interrupt ends a read waiting on c and returns its result. The deadline
// is set again until the read returns: the idle-timeout wrapper may push
// the deadline out just as the read starts.
func interrupt(c net.Conn, done <-chan error) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = c.SetReadDeadline(time.Now())
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}
