package proxy

import (
	"bufio"
	"net"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/internal/tlshello"
)

// layerKind is what a stream carries, as the next-layer decision finds it.
type layerKind int

const (
	layerHTTP1 layerKind = iota
	layerHTTP2
	layerTLS
	layerTCP
)

// h2Preface is how an HTTP/2 client's first bytes begin (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// nextLayer decides what a tunnel's stream carries, from its first bytes:
// a TLS ClientHello, an HTTP/1 request, the HTTP/2 preface, or anything
// else, which is relayed as TCP (or read as HTTP/1 when rawtcp is off). A
// server that speaks first makes it TCP too: a TLS or HTTP server never
// does (see waitFirstBytes).
func (cc *clientConn) nextLayer(st *stream, sc *serverConn, cfg *Config) (layerKind, error) {
	head, serverFirst, err := waitFirstBytes(st, sc, cfg)
	if err != nil {
		return 0, err
	}
	if serverFirst {
		if cfg.Debug {
			cc.log().Debug("the server spoke first: relaying the tunnel as a TCP flow")
		}
		return layerTCP, nil
	}
	return cc.classify(st, head, cfg, true), nil
}

// classify names the layer for a client's first bytes. tlsAllowed is false
// inside TLS, where a second ClientHello is no reason to intercept again.
func (cc *clientConn) classify(st *stream, head []byte, cfg *Config, tlsAllowed bool) layerKind {
	switch {
	case tlsAllowed && tlshello.LooksLikeTLS(head):
		return layerTLS
	case looksLikeHTTP(head):
		return layerHTTP1
	case strings.HasPrefix(h2Preface, string(head[:min(len(head), len(h2Preface))])) && cfg.HTTP2:
		if _, err := st.r.Peek(len(h2Preface)); err == nil && isH2Preface(st.r) {
			return layerHTTP2
		}
	}
	if !cfg.RawTCP {
		return layerHTTP1
	}
	if strings.HasPrefix(string(head), "PRI * HTTP/2.0") {
		cc.log().Warn("The client speaks HTTP/2 but the http2 option is off: relaying its bytes as a TCP flow.")
	}
	return layerTCP
}

// isH2Preface reports whether r's buffer starts with the whole preface.
func isH2Preface(r *bufio.Reader) bool {
	b, _ := r.Peek(len(h2Preface))
	return string(b) == h2Preface
}

// httpStarts are the first four bytes of HTTP/1 requests.
var httpStarts = []string{"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "TRAC"}

// looksLikeHTTP reports whether a tunnel starts with an HTTP/1 request.
func looksLikeHTTP(b []byte) bool {
	for _, m := range httpStarts {
		if strings.HasPrefix(string(b), m) {
			return true
		}
	}
	return false
}

// mayBecomeHTTP reports whether b, shorter than four bytes, is the start
// of an HTTP/1 request (or of the HTTP/2 preface), so that more of it is
// worth waiting for.
func mayBecomeHTTP(b []byte) bool {
	for _, m := range append(httpStarts, h2Preface[:4]) {
		if len(b) < len(m) && strings.HasPrefix(m, string(b)) {
			return true
		}
	}
	return false
}

// waitFirstBytes waits for a stream's first bytes and returns what the
// client sent first (nil if nothing). A client speaks first in TLS and HTTP,
// but in protocols such as SMTP, IMAP or FTP the server greets first and the
// client waits for it; waiting for the client alone would hang both. With a
// server connection (sc, nil under the lazy strategy), data from either
// side ends the wait, as in mitmproxy, whose next layer is decided on data
// from either side. serverFirst reports that the server sent something.
func waitFirstBytes(st *stream, sc *serverConn, cfg *Config) (head []byte, serverFirst bool, err error) {
	if sc == nil {
		_, err = st.r.Peek(1)
	} else {
		err = firstOfTwo(st, sc.st, cfg.IdleTimeout)
		if sc.st.r.Buffered() > 0 {
			return nil, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	// What the first read brought is normally the whole first message.
	// A TLS record header (3 bytes), an HTTP method (4 letters) or the
	// start of the HTTP/2 preface that arrived cut short is waited for;
	// the client is still sending it.
	need := 1
	switch b, _ := st.r.Peek(st.r.Buffered()); {
	case b[0] == 0x16:
		need = 3
	case mayBecomeHTTP(b):
		need = 4
	}
	head, err = st.r.Peek(max(need, st.r.Buffered()))
	if len(head) > 0 {
		err = nil
	}
	return head, false, err
}

// firstOfTwo waits until a or b has buffered data, or fails. It tries
// clientFirst first; when that cannot decide, it waits on both, and the
// reader that is still waiting is interrupted through its TCP connection's
// read deadline, which is then set again to the idle timeout on both. The
// error is the one that ended a's wait, unless b's data ended it.
func firstOfTwo(a, b *stream, idle time.Duration) error {
	if done, err := clientFirst(a, b); done {
		return err
	}
	aDone, bDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := a.r.Peek(1); aDone <- err }()
	go func() { _, err := b.r.Peek(1); bDone <- err }()
	var aErr error
	select {
	case aErr = <-aDone:
		interrupt(b.tcp, bDone)
	case <-bDone:
		aErr = interrupt(a.tcp, aDone)
		if b.r.Buffered() > 0 {
			aErr = nil
		}
	}
	deadline := time.Now().Add(idle)
	_ = a.tcp.SetReadDeadline(deadline)
	_ = b.tcp.SetReadDeadline(deadline)
	return aErr
}

// clientFirstGrace is how long firstOfTwo waits for the client alone before
// it watches both sides. A client that speaks first (TLS, HTTP: nearly every
// tunnel) sends within a round trip of the CONNECT's 200; a server that
// greets first (SMTP, IMAP, FTP) is noticed this much later at most, once
// per connection.
const clientFirstGrace = 20 * time.Millisecond

// clientFirst is firstOfTwo's common case, a client that speaks first,
// without a goroutine: watching both sides took two goroutines, their
// hand-offs and a read deadline to interrupt the loser, for every new
// HTTPS connection (BenchmarkNewConnTLS/Proxy: goroutines/op 5 -> 3,
// BareRelay's 2; neither shows in instruction counts, both in the CPU time
// of a proxy with idle processors to wake). It looks at the server's socket
// without waiting (a server that greets first has usually spoken by now),
// reads the client alone for clientFirstGrace, and looks at the server's
// socket again: the server's data wins, as in firstOfTwo, when both came.
// The client's read deadline is bounded meanwhile and restored after
// (limitHead); the server's is left alone. done is false
// when it could not decide (no client data within the grace, or a stream
// that is not plain TCP with raw I/O): firstOfTwo then watches both sides.
func clientFirst(a, b *stream) (done bool, err error) {
	ac, _ := a.src.(*idleConn)
	bc, _ := b.src.(*idleConn)
	if ac == nil || bc == nil || bc.sys == nil || a.r == nil || b.r == nil {
		return false, nil
	}
	if b.r.Buffered() > 0 {
		return true, nil
	}
	if a.r.Buffered() == 0 && serverSpoke(b, bc) {
		// A server that greets first has usually done so by now (the
		// connection is made before the CONNECT is answered): decide at
		// once, as mitmproxy does, rather than after the grace.
		return true, nil
	}
	if a.r.Buffered() == 0 {
		// The bound caps the read deadline, which the read's idle
		// refresh would otherwise push out (see idleConn.limitHead).
		ac.limitHead(time.Now().Add(clientFirstGrace))
		_, err = a.r.Peek(1)
		ac.limitHead(time.Time{})
		if isTimeout(err) {
			return false, nil
		}
	}
	if serverSpoke(b, bc) {
		return true, nil
	}
	return true, err
}

// serverSpoke reports, without waiting, whether the server b sent
// something, which it then reads into b's reader, where firstOfTwo's caller
// looks for it. A server that ended is read too, and reports false.
func serverSpoke(b *stream, bc *idleConn) bool {
	if !bc.sys.readableNow() {
		return false
	}
	_, _ = b.r.Peek(1)
	return b.r.Buffered() > 0
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
