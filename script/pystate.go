package script

import (
	"encoding/binary"
	"encoding/pem"
	"math"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// A hook call's parts written straight from the flow in marshal's format
// (pywire.go), without building the state dict first: flow.State() costs
// a call over a hundred allocations and most of the Go side's encoding
// time. The values, and the order of every dict's keys, are those of
// flow.State() (flow/state.go), which TestPyStateMatchesState checks part
// by part on varied flows; a flow holding something marshal cannot carry
// here (an invalid UTF-8 str, an odd metadata value) goes the State() way.

type pyw struct {
	b   []byte
	err error
	// cut: large bytes values become pieces of their own (pieces holds
	// what came before them), so that they are not copied (pyPieces).
	cut    bool
	pieces pyPieces
}

func (w *pyw) key(k string) {
	// Keys are ASCII constants.
	w.b = appendU32(append(w.b, mUnicode), len(k))
	w.b = append(w.b, k...)
}

func (w *pyw) str(s string) {
	if w.err != nil {
		return
	}
	w.b, w.err = appendPyStr(w.b, s)
}

func (w *pyw) optStr(s string) {
	if s == "" {
		w.b = append(w.b, mNone)
		return
	}
	w.str(s)
}

func (w *pyw) bytesOfStr(s string) {
	w.b = appendU32(append(w.b, mBytes), len(s))
	w.b = append(w.b, s...)
}

func (w *pyw) bytes(b []byte) {
	if !w.cut || len(b) < bigBytes {
		w.b = appendPyBytes(w.b, b)
		return
	}
	w.b = appendU32(append(w.b, mBytes), len(b))
	w.pieces = append(w.pieces, w.b[:len(w.b):len(w.b)], b)
	w.b = w.b[len(w.b):]
}

func (w *pyw) int(n int64) { w.b = appendPyInt(w.b, n) }

func (w *pyw) float(f float64) {
	w.b = binary.LittleEndian.AppendUint64(append(w.b, mFloat), math.Float64bits(f))
}

func (w *pyw) optFloat(f float64) {
	if f == 0 {
		w.b = append(w.b, mNone)
		return
	}
	w.float(f)
}

func (w *pyw) bool(v bool) {
	if v {
		w.b = append(w.b, mTrue)
	} else {
		w.b = append(w.b, mFalse)
	}
}

func (w *pyw) none()      { w.b = append(w.b, mNone) }
func (w *pyw) list(n int) { w.b = appendU32(append(w.b, mList), n) }
func (w *pyw) beginDict() { w.b = append(w.b, mDict) }
func (w *pyw) endDict()   { w.b = append(w.b, mNull) }
func (w *pyw) valueDepth(v any, depth int) {
	if w.err != nil {
		return
	}
	w.b, w.err = appendPy(w.b, v, depth)
}

func (w *pyw) headers(h flow.Headers) {
	w.list(len(h))
	for _, f := range h {
		w.list(2)
		w.bytesOfStr(f.Name)
		w.bytesOfStr(f.Value)
	}
}

func (w *pyw) addr(a flow.Address) {
	if a.IsZero() {
		w.none()
		return
	}
	w.list(2)
	w.str(a.Host)
	w.int(int64(a.Port))
}

// message writes messageState's fields; content false leaves the body out
// (None), as a call does for a body fetched on demand.
func (w *pyw) message(m *flow.Message, content bool) {
	w.key("http_version")
	w.bytesOfStr(m.HTTPVersion)
	w.key("headers")
	w.headers(m.Headers)
	w.key("content")
	if m.RawContent == nil || !content {
		w.none()
	} else {
		w.bytes(m.RawContent)
	}
	w.key("trailers")
	if m.Trailers == nil {
		w.none()
	} else {
		w.headers(m.Trailers)
	}
	w.key("timestamp_start")
	w.float(m.TimestampStart)
	w.key("timestamp_end")
	w.optFloat(m.TimestampEnd)
}

func (w *pyw) request(r *flow.Request, content bool) {
	w.beginDict()
	w.message(&r.Message, content)
	w.key("host")
	w.str(r.Host)
	w.key("port")
	w.int(int64(r.Port))
	w.key("method")
	w.bytesOfStr(r.Method)
	w.key("scheme")
	w.bytesOfStr(r.Scheme)
	w.key("authority")
	w.bytesOfStr(r.Authority)
	w.key("path")
	w.bytesOfStr(r.Path)
	if r.Stream {
		w.key("stream")
		w.bool(true)
	}
	w.endDict()
}

func (w *pyw) response(r *flow.Response, content bool) {
	w.beginDict()
	w.message(&r.Message, content)
	w.key("status_code")
	w.int(int64(r.StatusCode))
	w.key("reason")
	w.bytesOfStr(r.Reason)
	if r.Stream {
		w.key("stream")
		w.bool(true)
	}
	w.endDict()
}

// conn writes connState's fields.
func (w *pyw) conn(peer, sock flow.Address, id, transport, errMsg string, t *flow.TLSInfo, tsStart, tsEnd float64, isServer bool) {
	w.key("peername")
	if isServer {
		w.addr(peer)
	} else {
		w.list(2)
		w.str(peer.Host)
		w.int(int64(peer.Port))
	}
	w.key("sockname")
	if isServer {
		w.addr(sock)
	} else {
		w.list(2)
		w.str(sock.Host)
		w.int(int64(sock.Port))
	}
	w.key("id")
	w.str(id)
	if transport == "" {
		transport = "tcp"
	}
	w.key("transport_protocol")
	w.str(transport)
	w.key("error")
	w.optStr(errMsg)
	w.key("tls")
	w.bool(t.TLS)
	w.key("certificate_list")
	w.list(len(t.CertificateList))
	for _, c := range t.CertificateList {
		w.bytes(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c}))
	}
	w.key("alpn")
	if t.ALPN == "" {
		w.none()
	} else {
		w.bytesOfStr(t.ALPN)
	}
	w.key("alpn_offers")
	w.list(len(t.ALPNOffers))
	for _, s := range t.ALPNOffers {
		w.bytesOfStr(s)
	}
	w.key("cipher")
	w.optStr(t.Cipher)
	w.key("cipher_list")
	w.list(len(t.CipherList))
	for _, s := range t.CipherList {
		w.str(s)
	}
	w.key("tls_version")
	w.optStr(t.TLSVersion)
	w.key("sni")
	w.optStr(t.SNI)
	w.key("timestamp_start")
	if isServer {
		w.optFloat(tsStart)
	} else {
		w.float(tsStart)
	}
	w.key("timestamp_end")
	w.optFloat(tsEnd)
	w.key("timestamp_tls_setup")
	w.optFloat(t.TimestampTLSSetup)
}

func (w *pyw) client(c *flow.Client) {
	if c == nil {
		c = &flow.Client{ProxyMode: "regular"}
	}
	w.beginDict()
	w.conn(c.Peername, c.Sockname, c.ID, c.TransportProtocol, c.Error, &c.TLSInfo, c.TimestampStart, c.TimestampEnd(), false)
	w.key("mitmcert")
	if c.MitmCert == nil {
		w.none()
	} else {
		w.bytes(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.MitmCert}))
	}
	mode := c.ProxyMode
	if mode == "" {
		mode = "regular"
	}
	w.key("proxy_mode")
	w.str(mode)
	w.endDict()
}

func (w *pyw) server(s *flow.Server) {
	if s == nil {
		s = &flow.Server{}
	}
	w.beginDict()
	w.conn(s.Peername, s.Sockname, s.ID, s.TransportProtocol, s.Error, &s.TLSInfo, s.TimestampStart, s.TimestampEnd(), true)
	w.key("address")
	w.addr(s.Address)
	w.key("timestamp_tcp_setup")
	w.optFloat(s.TimestampTCPSetup)
	w.key("via")
	if s.Via == nil {
		w.none()
	} else {
		w.list(2)
		w.str(s.Via.Scheme)
		w.addr(s.Via.Address)
	}
	w.endDict()
}

// flowFields writes the flow-level fields of the state (Flow.state without
// the connections), and the parts an HTTP flow adds after them are left
// to the caller.
func (w *pyw) flowFields(f *flow.Flow, typ string) {
	w.beginDict()
	w.key("version")
	w.int(flow.StateVersion)
	w.key("type")
	w.str(typ)
	w.key("id")
	w.str(f.ID)
	w.key("error")
	if f.Error != nil {
		w.beginDict()
		w.key("msg")
		w.str(f.Error.Msg)
		w.key("timestamp")
		w.float(f.Error.Timestamp)
		w.endDict()
	} else {
		w.none()
	}
	w.key("intercepted")
	w.bool(f.IsIntercepted())
	w.key("is_replay")
	w.optStr(f.IsReplay)
	w.key("marked")
	w.str(f.Marked())
	w.key("metadata")
	w.beginDict()
	for _, k := range f.Metadata.Keys {
		if w.err != nil {
			break
		}
		w.str(k)
		w.valueDepth(f.Metadata.Values[k], 2)
	}
	w.endDict()
	w.key("comment")
	w.str(f.Comment())
	w.key("timestamp_created")
	w.float(f.TimestampCreated)
	w.key("backup")
	w.none()
	w.endDict()
}

// webSocket writes webSocketState with the messages from base on.
func (w *pyw) webSocket(ws *flow.WebSocketData, base int) {
	w.beginDict()
	w.key("messages")
	msgs := ws.Messages[base:]
	w.list(len(msgs))
	for _, m := range msgs {
		w.list(6)
		w.int(int64(m.Type))
		w.bool(m.FromClient)
		w.bytes(m.Content)
		w.float(m.Timestamp)
		w.bool(m.Dropped)
		w.bool(m.Injected)
	}
	w.key("closed_by_client")
	if ws.ClosedByClient == nil {
		w.none()
	} else {
		w.bool(*ws.ClosedByClient)
	}
	w.key("close_code")
	if ws.CloseCode == 0 {
		w.none()
	} else {
		w.int(int64(ws.CloseCode))
	}
	w.key("close_reason")
	if ws.CloseCode != 0 {
		w.str(ws.CloseReason)
	} else {
		w.optStr(ws.CloseReason)
	}
	w.key("timestamp_end")
	w.optFloat(ws.TimestampEnd)
	w.endDict()
}

// part runs fn on a fresh writer and returns what it wrote.
func pyPart(size int, fn func(w *pyw)) ([]byte, error) {
	w := pyw{b: make([]byte, 0, size)}
	fn(&w)
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// piecesPart runs fn on a fresh writer that leaves large bytes values
// where they are: a []byte when there were none, a pyPieces otherwise.
func piecesPart(size int, fn func(w *pyw)) (any, error) {
	w := pyw{b: make([]byte, 0, size), cut: true}
	fn(&w)
	if w.err != nil {
		return nil, w.err
	}
	if w.pieces == nil {
		return w.b, nil
	}
	return append(w.pieces, w.b), nil
}

// sizeHint is the room to reserve for a message's part.
func sizeHint(body []byte, inline bool) int {
	if inline && len(body) < bigBytes {
		return 512 + len(body)
	}
	return 512
}

// httpEnvelopeFast is httpEnvelope written straight from the flow; an
// error means a value marshal cannot carry here (the caller then takes
// the State() way, which reports a real encoding error as before).
func (a *Addon) httpEnvelopeFast(hook string, f *flow.HTTPFlow, wsBase int, limit int64) (*tnetstring.Dict, error) {
	m := newMsg("hook")
	m.Set("hook", hook)
	m.Set("fid", f.ID)
	m.Set("live", f.IsLive())
	var lazy []any
	inline := func(body []byte) bool {
		return !(len(body) > 0 && (limit < 0 || int64(len(body)) > limit))
	}
	if r := f.Request; r != nil {
		in := inline(r.RawContent)
		b, err := piecesPart(sizeHint(r.RawContent, in), func(w *pyw) { w.request(r, in) })
		if err != nil {
			return nil, err
		}
		m.Set("rq", b)
		if !in {
			lazy = append(lazy, "rq")
		}
	}
	if r := f.Response; r != nil {
		in := inline(r.RawContent)
		b, err := piecesPart(sizeHint(r.RawContent, in), func(w *pyw) { w.response(r, in) })
		if err != nil {
			return nil, err
		}
		m.Set("rs", b)
		if !in {
			lazy = append(lazy, "rs")
		}
	}
	if ws := f.WebSocket; ws != nil {
		if wsBase > len(ws.Messages) {
			wsBase = 0
		}
		b, err := piecesPart(wsSizeHint(ws, wsBase), func(w *pyw) { w.webSocket(ws, wsBase) })
		if err != nil {
			return nil, err
		}
		if p, ok := b.(pyPieces); ok {
			// Large messages: the part goes in line (a dict, not bytes
			// holding one), so that the child copies them once.
			b = pyInline(p)
		}
		m.Set("ws", b)
		m.Set("wsbase", int64(wsBase))
	}
	// The connections and the flow's fields share one buffer (each part a
	// slice of it): one allocation for three.
	w := pyw{b: make([]byte, 0, 1280)}
	w.client(f.ClientConn)
	cc := w.b[:len(w.b):len(w.b)]
	w.server(f.ServerConn)
	sc := w.b[len(cc):len(w.b):len(w.b)]
	start := len(w.b)
	w.flowFields(&f.Flow, "http")
	if w.err != nil {
		return nil, w.err
	}
	m.Set("cc", cc)
	m.Set("sc", sc)
	m.Set("f", w.b[start:len(w.b):len(w.b)])
	if len(lazy) > 0 {
		m.Set("lazy", lazy)
	}
	return m, nil
}

// wsSizeHint is the room to reserve for the WebSocket part with the
// messages from base on (the large ones are pieces of their own).
func wsSizeHint(ws *flow.WebSocketData, base int) int {
	n := 128
	for _, m := range ws.Messages[base:] {
		n += 32
		if len(m.Content) < bigBytes {
			n += len(m.Content)
		}
	}
	return n
}
