package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The origin's third listener serves the h2 scenario: TLS offering ALPN h2
// and http/1.1, so that a client (or a proxy) that speaks HTTP/2 gets it and
// one that does not falls back to HTTP/1.1 on the same port. The other
// HTTPS listener stays HTTP/1.1 only, so the https scenarios measure what
// they always did.
//
// With -origin raw the HTTP/2 side is the harness's own minimal server
// (rawH2Conn): one goroutine per connection reading frames and writing
// prepared responses within the peer's flow-control windows, so that, as
// with the raw HTTP/1.1 server, as much as possible of the measured cost is
// the proxy's. With -origin nethttp it is net/http's own HTTP/2 server.

// h2Protos is what the h2 listener offers in ALPN, in order of preference.
var h2Protos = []string{"h2", "http/1.1"}

// alpnCounts counts the origin's handshakes by the protocol they agreed on
// in ALPN ("" when none), for the report: which protocol a proxy chose to
// speak upstream.
type alpnCounts struct {
	h2, h1, none int64
}

// sub is c less an earlier reading.
func (c alpnCounts) sub(before alpnCounts) alpnCounts {
	return alpnCounts{c.h2 - before.h2, c.h1 - before.h1, c.none - before.none}
}

// String says "h2 32" or "http/1.1 30, h2 2"; "-" for no handshakes.
func (c alpnCounts) String() string {
	var parts []string
	if c.h2 > 0 {
		parts = append(parts, "h2 "+strconv.FormatInt(c.h2, 10))
	}
	if c.h1 > 0 {
		parts = append(parts, "http/1.1 "+strconv.FormatInt(c.h1, 10))
	}
	if c.none > 0 {
		parts = append(parts, "no ALPN "+strconv.FormatInt(c.none, 10))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// countALPN records one handshake's protocol.
func (o *origin) countALPN(proto string) {
	switch proto {
	case "h2":
		o.alpnH2.Add(1)
	case "http/1.1":
		o.alpnH1.Add(1)
	default:
		o.alpnNone.Add(1)
	}
}

// alpn reads the counters.
func (o *origin) alpn() alpnCounts {
	return alpnCounts{o.alpnH2.Load(), o.alpnH1.Load(), o.alpnNone.Load()}
}

// h2Addr is the address of the listener that speaks HTTP/2 (and HTTP/1.1).
func (o *origin) h2Addr() string { return o.h2Ln.Addr().String() }

// h2Preface is what every HTTP/2 client sends first (RFC 9113, 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Settings of the raw HTTP/2 server: as many concurrent streams as Go's
// server allows, and receive windows large enough that request bodies (the
// harness sends none) never wait.
const (
	rawH2MaxStreams = 250
	rawH2Window     = 1 << 20
)

// rawH2Conn is one HTTP/2 connection of the raw origin. It is not safe for
// concurrent use: serve runs it on one goroutine, which reads a frame,
// handles it, and writes whatever the flow-control windows allow, flushing
// when no further frame is already waiting.
type rawH2Conn struct {
	o   *origin
	br  *bufio.Reader
	bw  *bufio.Writer
	fr  *http2.Framer
	enc *hpack.Encoder
	// hbuf holds one encoded header block.
	hbuf bytes.Buffer
	// The peer's settings that bound what we send.
	peerWindow   int64
	peerMaxFrame int
	// connWindow is what the peer lets us send on the connection.
	connWindow int64
	// streams are the open streams by ID; queue holds those with a
	// response to send, in the order their requests ended.
	streams map[uint32]*rawH2Stream
	queue   []*rawH2Stream
}

type rawH2Stream struct {
	id     uint32
	window int64
	path   string
	// body is what is left to send once responding; responding is set
	// when the request has ended and the headers have gone out.
	body       []byte
	responding bool
}

// serveH2 speaks HTTP/2 on c, whose TLS handshake agreed on h2, until the
// peer goes away or the connection fails.
func (o *origin) serveH2(c net.Conn) {
	h := &rawH2Conn{
		o:            o,
		br:           bufio.NewReaderSize(c, 32<<10),
		bw:           bufio.NewWriterSize(c, 80<<10),
		peerWindow:   65535,
		peerMaxFrame: 16384,
		connWindow:   65535,
		streams:      map[uint32]*rawH2Stream{},
	}
	h.fr = http2.NewFramer(h.bw, h.br)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.enc = hpack.NewEncoder(&h.hbuf)
	if err := h.run(); err != nil && !errors.Is(err, io.EOF) {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			h.fr.WriteGoAway(0, http2.ErrCode(ce), nil)
			h.bw.Flush()
		}
	}
}

func (h *rawH2Conn) run() error {
	// The server's preface is its SETTINGS; it need not wait for the
	// client's.
	if err := h.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: rawH2MaxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: rawH2Window},
	); err != nil {
		return err
	}
	if err := h.fr.WriteWindowUpdate(0, rawH2Window-65535); err != nil {
		return err
	}
	if err := h.bw.Flush(); err != nil {
		return err
	}
	preface := make([]byte, len(h2Preface))
	if _, err := io.ReadFull(h.br, preface); err != nil {
		return err
	}
	if string(preface) != h2Preface {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				// A malformed request: that stream ends, the
				// connection goes on.
				delete(h.streams, se.StreamID)
				h.fr.WriteRSTStream(se.StreamID, se.Code)
				continue
			}
			return err
		}
		if err := h.handle(f); err != nil {
			return err
		}
		if err := h.writePending(); err != nil {
			return err
		}
		if !frameBuffered(h.br) {
			if err := h.bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// frameBuffered reports whether a whole frame is already in br, so that
// answering it can share a write with what is pending now.
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < 9 {
		return false
	}
	hdr, _ := br.Peek(9)
	length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	return n >= 9+length
}

func (h *rawH2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		err := f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingInitialWindowSize:
				// The change applies to every open stream (RFC 9113,
				// 6.9.2).
				delta := int64(s.Val) - h.peerWindow
				h.peerWindow = int64(s.Val)
				for _, st := range h.streams {
					st.window += delta
				}
			case http2.SettingMaxFrameSize:
				h.peerMaxFrame = int(s.Val)
			case http2.SettingHeaderTableSize:
				h.enc.SetMaxDynamicTableSizeLimit(s.Val)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return h.fr.WriteSettingsAck()
	case *http2.MetaHeadersFrame:
		id := f.StreamID
		st := h.streams[id]
		if st == nil {
			if len(h.streams) >= rawH2MaxStreams {
				return h.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
			}
			path, _, _ := strings.Cut(f.PseudoValue("path"), "?")
			st = &rawH2Stream{id: id, window: h.peerWindow, path: path}
			h.streams[id] = st
		}
		// A second HEADERS is a trailer section, which ends the
		// request as well.
		if f.StreamEnded() {
			return h.respond(st)
		}
	case *http2.DataFrame:
		// Request bodies are read and dropped; their flow-control
		// credit goes back at once.
		if n := f.Length; n > 0 {
			if err := h.fr.WriteWindowUpdate(0, n); err != nil {
				return err
			}
			if st := h.streams[f.StreamID]; st != nil && !f.StreamEnded() {
				if err := h.fr.WriteWindowUpdate(f.StreamID, n); err != nil {
					return err
				}
			}
		}
		if st := h.streams[f.StreamID]; st != nil && f.StreamEnded() {
			return h.respond(st)
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			h.connWindow += int64(f.Increment)
		} else if st := h.streams[f.StreamID]; st != nil {
			st.window += int64(f.Increment)
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			return h.fr.WritePing(true, f.Data)
		}
	case *http2.RSTStreamFrame:
		delete(h.streams, f.StreamID)
	case *http2.GoAwayFrame:
		// The peer opens no more streams; those open may still be
		// answered, and it closes when it has them.
	}
	return nil
}

// respond sends the response headers for st and queues its body.
func (h *rawH2Conn) respond(st *rawH2Stream) error {
	if st.responding {
		return nil
	}
	st.responding = true
	status, body := "200", h.o.bodies[st.path]
	if body == nil {
		status = "404"
	}
	h.hbuf.Reset()
	h.enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	if body != nil {
		h.enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain"})
	}
	h.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: st.id, BlockFragment: h.hbuf.Bytes(), EndHeaders: true, EndStream: len(body) == 0,
	}); err != nil {
		return err
	}
	if len(body) == 0 {
		delete(h.streams, st.id)
		return nil
	}
	st.body = body
	h.queue = append(h.queue, st)
	return nil
}

// writePending writes as much of the queued bodies as the connection's and
// each stream's windows allow, in the order the requests ended.
func (h *rawH2Conn) writePending() error {
	kept := h.queue[:0]
	for _, st := range h.queue {
		if h.streams[st.id] != st { // reset by the peer
			continue
		}
		for len(st.body) > 0 && h.connWindow > 0 && st.window > 0 {
			n := min(int64(len(st.body)), int64(h.peerMaxFrame), h.connWindow, st.window)
			end := n == int64(len(st.body))
			if err := h.fr.WriteData(st.id, end, st.body[:n]); err != nil {
				return err
			}
			st.body = st.body[n:]
			h.connWindow -= n
			st.window -= n
		}
		if len(st.body) == 0 {
			delete(h.streams, st.id)
			continue
		}
		kept = append(kept, st)
	}
	clear(h.queue[len(kept):])
	h.queue = kept
	return nil
}
