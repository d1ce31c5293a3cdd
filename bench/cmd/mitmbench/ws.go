package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/internal/websocket"
)

// scenarioWS is WebSocket: -c connections, each made with one upgrade
// request before the warm-up (through a proxy, an absolute-form GET, as a
// browser configured with a proxy sends for ws://), each sending a binary
// message and waiting for the origin's echo before sending the next. A
// "request" is one such round trip: the proxy relays two messages (and a
// websocket_message hook runs twice) for each.
const scenarioWS = "ws"

// wsMessageSizes are the message sizes of the ws scenario, by -bodies name.
var wsMessageSizes = map[string]int{"small": 100, "large": 64 << 10}

// wsClientDescription names the ws scenario's load generator in the report.
const wsClientDescription = "the harness's WebSocket client (mitmgo's internal/websocket codec), binary messages, one in flight per connection"

// wsPath is what the ws scenario asks the origin for.
const wsPath = "/ws"

// bodyLabel is the report's body column: the message size in the ws
// scenario, the body's name elsewhere.
func bodyLabel(sc, b string) string {
	if sc == scenarioWS {
		if n, ok := wsMessageSizes[b]; ok {
			return fmtSize(n)
		}
	}
	return b
}

// fmtSize says "100 B" or "64 KiB".
func fmtSize(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// wsAccept is the Sec-WebSocket-Accept answer to key (RFC 6455 section 4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsOrigin is the ws scenario's origin, on a listener of its own (with
// either -origin): a WebSocket server that echoes every message as it
// came, answers pings and the close handshake. It uses mitmgo's own
// codec, which the proxy under test uses too; both ends of a direct run
// are this code.
type wsOrigin struct {
	connServer
	// upgraded counts the handshakes answered with 101.
	upgraded atomic.Int64
}

func startWSOrigin() (*wsOrigin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("WebSocket origin: %w", err)
	}
	o := &wsOrigin{}
	o.start(ln, o.serve)
	return o, nil
}

// serve answers one connection's upgrade request (origin-form or
// absolute-form, as a proxy that passes requests on unchanged sends), then
// echoes until the close handshake or the end of the connection.
func (o *wsOrigin) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(c, 64<<10)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") || key == "" || req.URL.Path != wsPath {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
		wsAccept(key)+"\r\n\r\n"); err != nil {
		return
	}
	o.upgraded.Add(1)
	c.SetDeadline(time.Time{})
	rd := websocket.NewReader(br, websocket.Server, nil)
	w := websocket.NewWriter(c, websocket.Server, nil)
	for {
		ev, err := rd.Next()
		if err != nil {
			return
		}
		switch ev.Opcode {
		case websocket.OpText, websocket.OpBinary:
			err = w.WriteMessage(ev.Opcode, ev.Payload, nil)
		case websocket.OpPing:
			err = w.WriteControl(websocket.OpPong, ev.Payload)
		case websocket.OpClose:
			w.WriteClose(ev.CloseCode, ev.CloseReason)
			return
		}
		if err != nil {
			return
		}
	}
}

// wsConn is one of the load generator's WebSocket connections.
type wsConn struct {
	c    net.Conn
	rd   *websocket.Reader
	w    *websocket.Writer
	sent int64
}

// dialWS opens a WebSocket connection to the origin at cfg.originAddr,
// through the proxy at cfg.target when cfg.viaProxy (an absolute-form
// upgrade request, which the proxy passes on), by deadline.
func (cfg *loadConfig) dialWS(deadline time.Time) (*wsConn, error) {
	c, err := net.DialTimeout("tcp", cfg.target, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	var key [16]byte
	rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	target := wsPath
	if cfg.viaProxy {
		target = "http://" + cfg.originAddr + wsPath
	}
	req := "GET " + target + " HTTP/1.1\r\nHost: " + cfg.originAddr + "\r\nUser-Agent: mitmbench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, fmt.Errorf("WebSocket handshake: %w", err)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("WebSocket handshake: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("%w: WebSocket handshake answered %q", errBadResponse, resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(k) {
		c.Close()
		return nil, fmt.Errorf("%w: Sec-WebSocket-Accept %q", errBadResponse, got)
	}
	return &wsConn{c: c, rd: websocket.NewReader(br, websocket.Client, nil), w: websocket.NewWriter(c, websocket.Client, nil)}, nil
}

// echo sends msg and reads its echo, which must be the same.
func (wc *wsConn) echo(msg []byte) error {
	if err := wc.w.WriteMessage(websocket.OpBinary, msg, nil); err != nil {
		return err
	}
	wc.sent += int64(len(msg))
	for {
		ev, err := wc.rd.Next()
		if err != nil {
			return err
		}
		switch ev.Opcode {
		case websocket.OpPing, websocket.OpPong:
			continue
		case websocket.OpClose:
			return fmt.Errorf("%w: the connection was closed (%d %s)", errBadResponse, ev.CloseCode, ev.CloseReason)
		}
		if ev.Opcode != websocket.OpBinary || !bytes.Equal(ev.Payload, msg) {
			return fmt.Errorf("%w: the echo is a %v message of %d bytes, not the %d sent", errBadResponse, ev.Opcode, len(ev.Payload), len(msg))
		}
		return nil
	}
}

// close ends the connection with a close frame, without waiting for the
// answer: the proxies see a clean close, as from a browser tab closing.
func (wc *wsConn) close() {
	wc.c.SetWriteDeadline(time.Now().Add(time.Second))
	wc.w.WriteClose(websocket.CloseNormal, "")
	wc.c.Close()
}

// wsMessage is the payload of the ws scenario's messages of size bytes.
func wsMessage(size int) []byte {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	return msg
}

// runWS is the ws scenario's load generator: cfg.conns connections, each
// made before the warm-up, each echoing one message at a time; a message's
// latency is its round trip. A connection that has sent cfg.wsConnBytes
// of messages is closed and replaced (outside any measured round trip):
// both mitmproxy and mitmgo keep every message of a connection in its flow
// until it closes, so a fast run of large messages would otherwise grow
// the proxies by gigabytes.
func runWS(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	size, ok := wsMessageSizes[strings.TrimPrefix(cfg.path, "/")]
	if !ok {
		return nil, fmt.Errorf("no WebSocket message size for %q", cfg.path)
	}
	msg := wsMessage(size)
	r := newLoadRun(&cfg)
	worker := func() {
		defer r.wg.Done()
		var lat []time.Duration
		var n, nb int64
		var wc *wsConn
		defer func() {
			if wc != nil {
				wc.close()
			}
			r.add(lat, n, nb)
		}()
		first := true
		for !r.stop.Load() {
			if wc == nil {
				var err error
				wc, err = cfg.dialWS(time.Now().Add(cfg.ioTimeout))
				if r.dialed(&first, err) {
					wc = nil
					continue
				}
			}
			measured := r.measuring.Load()
			if !r.claim(measured) {
				return
			}
			start := time.Now()
			wc.c.SetDeadline(start.Add(cfg.ioTimeout))
			if err := wc.echo(msg); err != nil {
				r.fail(err)
				wc.c.Close()
				wc = nil
				continue
			}
			if measured && r.measuring.Load() {
				lat = append(lat, time.Since(start))
				n++
				nb += int64(size)
			}
			if cfg.wsConnBytes > 0 && wc.sent >= cfg.wsConnBytes {
				wc.close()
				wc = nil
			}
		}
	}
	res := r.run(ctx, worker, nil)
	return res, r.noneErr(res, "WebSocket message through "+cfg.target+" came back")
}

// versusPairs are the targets whose msgs/s the ws table compares, round by
// round: mitmgo against mitmproxy, with and without the script.
var versusPairs = [][2]string{{"mitmgo", "mitmproxy"}, {"mitmgo +script", "mitmproxy +script"}}

// printVersus follows the ws table: for each pair of versusPairs measured,
// and each message size, mitmgo's msgs/s over mitmproxy's, the median of
// the rounds' ratios (each round's runs were moments apart), with every
// round's.
func printVersus(w io.Writer, o options, rows []row, sc string) {
	var lines []string
	for _, pair := range versusPairs {
		for _, b := range o.bodies {
			rounds := map[int][2]float64{}
			for _, r := range rows {
				if r.scenario != sc || r.body != b || r.err != nil || r.note != "" || r.res == nil {
					continue
				}
				for i, name := range pair {
					if r.target == name {
						v := rounds[r.round]
						v[i] = r.res.rps()
						rounds[r.round] = v
					}
				}
			}
			var ratios []float64
			for round := range o.rounds {
				if v, ok := rounds[round]; ok && v[0] > 0 && v[1] > 0 {
					ratios = append(ratios, v[0]/v[1])
				}
			}
			if len(ratios) == 0 {
				continue
			}
			lines = append(lines, fmt.Sprintf("  %s / %s, %s: %.2fx (rounds: %s)", pair[0], pair[1], bodyLabel(sc, b), median(ratios), joinRatios(ratios)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\n  msgs/s of mitmgo over mitmproxy's, in the same rounds:")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
