package flow

import (
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// StateVersion is the flow format version that State produces and FromState
// expects: mitmproxy 11 and later write 21.
const StateVersion = 21

// State converts the flow to mitmproxy's get_state() dict (format version 21).
// It is the one serialisation of a flow: flow files and the Python script
// host's pipe both carry it.
func (f *HTTPFlow) State() *tnetstring.Dict {
	d := f.Flow.state("http")
	d.Set("request", requestState(f.Request))
	if f.Response != nil {
		d.Set("response", responseState(f.Response))
	} else {
		d.Set("response", nil)
	}
	if f.WebSocket != nil {
		d.Set("websocket", webSocketState(f.WebSocket))
	} else {
		d.Set("websocket", nil)
	}
	return d
}

// State converts a TCP flow to mitmproxy's state dict.
func (f *TCPFlow) State() *tnetstring.Dict {
	d := f.Flow.state("tcp")
	d.Set("messages", messagesState(f.Messages))
	return d
}

func (f *Flow) state(typ string) *tnetstring.Dict {
	d := tnetstring.NewDict()
	d.Set("version", int64(StateVersion))
	d.Set("type", typ)
	d.Set("id", f.ID)
	if f.Error != nil {
		e := tnetstring.NewDict()
		e.Set("msg", f.Error.Msg)
		e.Set("timestamp", f.Error.Timestamp)
		d.Set("error", e)
	} else {
		d.Set("error", nil)
	}
	d.Set("client_conn", clientState(f.ClientConn))
	d.Set("server_conn", serverState(f.ServerConn))
	d.Set("intercepted", f.IsIntercepted())
	d.Set("is_replay", optStr(f.IsReplay))
	d.Set("marked", f.Marked())
	md := tnetstring.NewDict()
	for _, k := range f.Metadata.Keys {
		md.Set(k, f.Metadata.Values[k])
	}
	d.Set("metadata", md)
	d.Set("comment", f.Comment())
	d.Set("timestamp_created", f.TimestampCreated)
	d.Set("backup", nil)
	return d
}

func optStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func optFloat(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func headersState(h Headers) []any {
	out := make([]any, len(h))
	for i, f := range h {
		out[i] = []any{[]byte(f.Name), []byte(f.Value)}
	}
	return out
}

func messageState(d *tnetstring.Dict, m *Message) {
	d.Set("http_version", []byte(m.HTTPVersion))
	d.Set("headers", headersState(m.Headers))
	if m.RawContent == nil {
		d.Set("content", nil)
	} else {
		d.Set("content", m.RawContent)
	}
	if m.Trailers == nil {
		d.Set("trailers", nil)
	} else {
		d.Set("trailers", headersState(m.Trailers))
	}
	d.Set("timestamp_start", m.TimestampStart)
	d.Set("timestamp_end", optFloat(m.TimestampEnd))
}

func requestState(r *Request) any {
	if r == nil {
		return nil
	}
	d := tnetstring.NewDict()
	messageState(d, &r.Message)
	d.Set("host", r.Host)
	d.Set("port", int64(r.Port))
	d.Set("method", []byte(r.Method))
	d.Set("scheme", []byte(r.Scheme))
	d.Set("authority", []byte(r.Authority))
	d.Set("path", []byte(r.Path))
	return d
}

func responseState(r *Response) any {
	d := tnetstring.NewDict()
	messageState(d, &r.Message)
	d.Set("status_code", int64(r.StatusCode))
	d.Set("reason", []byte(r.Reason))
	return d
}

func webSocketState(ws *WebSocketData) any {
	d := tnetstring.NewDict()
	msgs := make([]any, len(ws.Messages))
	for i, m := range ws.Messages {
		msgs[i] = []any{int64(m.Type), m.FromClient, nonNilBytes(m.Content), m.Timestamp, m.Dropped, m.Injected}
	}
	d.Set("messages", msgs)
	if ws.ClosedByClient == nil {
		d.Set("closed_by_client", nil)
	} else {
		d.Set("closed_by_client", *ws.ClosedByClient)
	}
	if ws.CloseCode == 0 {
		d.Set("close_code", nil)
	} else {
		d.Set("close_code", int64(ws.CloseCode))
	}
	if ws.CloseCode != 0 {
		// A closed connection has a reason, "" when the peer gave none
		// (mitmproxy sets close_code and close_reason together); an open
		// one has neither.
		d.Set("close_reason", ws.CloseReason)
	} else {
		d.Set("close_reason", optStr(ws.CloseReason))
	}
	d.Set("timestamp_end", optFloat(ws.TimestampEnd))
	return d
}

func addrState(a Address) any {
	if a.IsZero() {
		return nil
	}
	return []any{a.Host, int64(a.Port)}
}

func certsToPEM(certs [][]byte) []any {
	out := make([]any, len(certs))
	for i, c := range certs {
		out[i] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})
	}
	return out
}

func strList(ss []string, asBytes bool) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		if asBytes {
			out[i] = []byte(s)
		} else {
			out[i] = s
		}
	}
	return out
}

// connState writes the fields Client and Server share. A server's peername,
// sockname and timestamp_start may be null (not connected yet); a client's
// may not: mitmproxy's Client types them Address and float, and its files
// hold ["", 0] for an unknown client address (io/compat.py).
func connState(d *tnetstring.Dict, peer, sock Address, id, transport, errMsg string, t *TLSInfo, tsStart, tsEnd float64, isServer bool) {
	if isServer {
		d.Set("peername", addrState(peer))
		d.Set("sockname", addrState(sock))
	} else {
		d.Set("peername", []any{peer.Host, int64(peer.Port)})
		d.Set("sockname", []any{sock.Host, int64(sock.Port)})
	}
	d.Set("id", id)
	if transport == "" {
		transport = "tcp"
	}
	d.Set("transport_protocol", transport)
	d.Set("error", optStr(errMsg))
	d.Set("tls", t.TLS)
	d.Set("certificate_list", certsToPEM(t.CertificateList))
	if t.ALPN == "" {
		d.Set("alpn", nil)
	} else {
		d.Set("alpn", []byte(t.ALPN))
	}
	d.Set("alpn_offers", strList(t.ALPNOffers, true))
	d.Set("cipher", optStr(t.Cipher))
	d.Set("cipher_list", strList(t.CipherList, false))
	d.Set("tls_version", optStr(t.TLSVersion))
	d.Set("sni", optStr(t.SNI))
	if isServer {
		d.Set("timestamp_start", optFloat(tsStart))
	} else {
		d.Set("timestamp_start", tsStart)
	}
	d.Set("timestamp_end", optFloat(tsEnd))
	d.Set("timestamp_tls_setup", optFloat(t.TimestampTLSSetup))
}

func clientState(c *Client) any {
	if c == nil {
		c = &Client{ProxyMode: "regular"}
	}
	d := tnetstring.NewDict()
	connState(d, c.Peername, c.Sockname, c.ID, c.TransportProtocol, c.Error, &c.TLSInfo, c.TimestampStart, c.TimestampEnd(), false)
	if c.MitmCert == nil {
		d.Set("mitmcert", nil)
	} else {
		d.Set("mitmcert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.MitmCert}))
	}
	mode := c.ProxyMode
	if mode == "" {
		mode = "regular"
	}
	d.Set("proxy_mode", mode)
	return d
}

func serverState(s *Server) any {
	if s == nil {
		s = &Server{}
	}
	d := tnetstring.NewDict()
	connState(d, s.Peername, s.Sockname, s.ID, s.TransportProtocol, s.Error, &s.TLSInfo, s.TimestampStart, s.TimestampEnd(), true)
	d.Set("address", addrState(s.Address))
	d.Set("timestamp_tcp_setup", optFloat(s.TimestampTCPSetup))
	if s.Via == nil {
		d.Set("via", nil)
	} else {
		d.Set("via", []any{s.Via.Scheme, addrState(s.Via.Address)})
	}
	return d
}

// FromState converts a version-21 state dict (as flowfile's reader returns
// it) to a flow: *HTTPFlow, *TCPFlow, *DNSFlow or *UDPFlow. Flows read from
// state are not live.
func FromState(d *tnetstring.Dict) (any, error) {
	if v := d.Int("version"); v != StateVersion {
		return nil, fmt.Errorf("flow state has version %d, want %d", v, StateVersion)
	}
	var base Flow
	base.ID = d.Str("id")
	if e := d.Dict("error"); e != nil {
		base.Error = &Error{Msg: e.Str("msg"), Timestamp: e.Float("timestamp")}
	}
	base.ClientConn = clientFromState(d.Dict("client_conn"))
	base.ServerConn = serverFromState(d.Dict("server_conn"))
	base.setControl(d.Bool("intercepted"), base.Error != nil && base.Error.Msg == KilledMessage)
	base.IsReplay = d.Str("is_replay")
	base.SetMarked(d.Str("marked"))
	if md := d.Dict("metadata"); md != nil {
		for _, e := range md.Entries {
			base.Metadata.Set(e.Key, tnetstring.Clone(e.Value))
		}
	}
	base.SetComment(d.Str("comment"))
	base.TimestampCreated = d.Float("timestamp_created")

	switch typ := d.Str("type"); typ {
	case "http":
		f := &HTTPFlow{}
		moveFlow(&f.Flow, &base)
		rq := d.Dict("request")
		if rq == nil {
			return nil, fmt.Errorf("http flow %s has no request", base.ID)
		}
		f.Request = &Request{
			Message:   messageFromState(rq),
			Method:    rq.Str("method"),
			Scheme:    rq.Str("scheme"),
			Host:      rq.Str("host"),
			Port:      int(rq.Int("port")),
			Authority: rq.Str("authority"),
			Path:      rq.Str("path"),
		}
		if rs := d.Dict("response"); rs != nil {
			f.Response = &Response{Message: messageFromState(rs), StatusCode: int(rs.Int("status_code")), Reason: rs.Str("reason")}
		}
		if ws := d.Dict("websocket"); ws != nil {
			f.WebSocket = webSocketFromState(ws)
		}
		return f, nil
	case "tcp":
		msgs, err := messagesFromState[TCPMessage](d, "tcp", base.ID)
		if err != nil {
			return nil, err
		}
		f := &TCPFlow{Messages: msgs}
		moveFlow(&f.Flow, &base)
		return f, nil
	case "dns":
		return dnsFlowFromState(d, &base)
	case "udp":
		return udpFlowFromState(d, &base)
	default:
		return nil, fmt.Errorf("flow type %q is not supported yet", typ)
	}
}

// moveFlow copies the serialisable fields of src into dst (Flow holds a
// mutex, so it is never copied whole).
func moveFlow(dst, src *Flow) {
	dst.restoreFrom(src)
	dst.setControl(src.IsIntercepted(), src.Killed())
}

// ownBytes returns a copy of b for a flow to keep. The []byte values of a
// decoded state dict point into the buffer of the whole record they were
// read from (tnetstring.Decoder allocates one per flow), so a flow keeping
// even a short slice of it would keep all of it alive: a loaded small flow
// would hold its ~2 KB record besides its own fields. nil stays nil.
func ownBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// anyBytes returns a []byte or string value as bytes the caller owns.
func anyBytes(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return ownBytes(b)
	case string:
		return []byte(b)
	}
	return nil
}

func anyFloat(v any) float64 {
	switch f := v.(type) {
	case float64:
		return f
	case int64:
		return float64(f)
	}
	return 0
}

func anyStr(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

func headersFromState(l []any) Headers {
	h := make(Headers, 0, len(l))
	for _, item := range l {
		kv, ok := item.([]any)
		if !ok || len(kv) != 2 {
			continue
		}
		h = append(h, Field{anyStr(kv[0]), anyStr(kv[1])})
	}
	return h
}

func messageFromState(d *tnetstring.Dict) Message {
	m := Message{
		HTTPVersion:    d.Str("http_version"),
		Headers:        headersFromState(d.List("headers")),
		TimestampStart: d.Float("timestamp_start"),
		TimestampEnd:   d.Float("timestamp_end"),
	}
	if !d.IsNull("content") {
		// Copied at any size: a body kept in place would keep, besides the
		// rest of the record, the record's rounding up to a size class or
		// page, and beyond 1 MiB the decoder's room for growth (measured by
		// flowfile's BenchmarkLoadBodies: a 1 MiB body kept 2.5 MB).
		m.RawContent = nonNilBytes(ownBytes(d.Bytes("content")))
	}
	if !d.IsNull("trailers") && d.Has("trailers") {
		m.Trailers = headersFromState(d.List("trailers"))
	}
	return m
}

func webSocketFromState(d *tnetstring.Dict) *WebSocketData {
	ws := &WebSocketData{CloseCode: int(d.Int("close_code")), CloseReason: d.Str("close_reason"), TimestampEnd: d.Float("timestamp_end")}
	if !d.IsNull("closed_by_client") && d.Has("closed_by_client") {
		b := d.Bool("closed_by_client")
		ws.ClosedByClient = &b
	}
	for _, item := range d.List("messages") {
		l, ok := item.([]any)
		if !ok || len(l) < 4 {
			continue
		}
		m := &WebSocketMessage{Content: anyBytes(l[2]), Timestamp: anyFloat(l[3])}
		if t, ok := l[0].(int64); ok {
			m.Type = int(t)
		}
		m.FromClient, _ = l[1].(bool)
		if len(l) > 4 {
			m.Dropped, _ = l[4].(bool)
		}
		if len(l) > 5 {
			m.Injected, _ = l[5].(bool)
		}
		ws.Messages = append(ws.Messages, m)
	}
	return ws
}

func addrFromState(v any) Address {
	l, ok := v.([]any)
	if !ok || len(l) < 2 {
		return Address{}
	}
	a := Address{Host: anyStr(l[0])}
	if p, ok := l[1].(int64); ok {
		a.Port = int(p)
	}
	return a
}

// pemToDER returns the DER bytes of a PEM certificate (pem.Decode decodes
// them into a new slice), or a copy of v when it is not PEM.
func pemToDER(v any) []byte {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes
	}
	return ownBytes(b)
}

func tlsFromState(d *tnetstring.Dict) TLSInfo {
	t := TLSInfo{
		TLS: d.Bool("tls"), ALPN: d.Str("alpn"), Cipher: d.Str("cipher"),
		TLSVersion: d.Str("tls_version"), SNI: d.Str("sni"), TimestampTLSSetup: d.Float("timestamp_tls_setup"),
	}
	for _, c := range d.List("certificate_list") {
		t.CertificateList = append(t.CertificateList, pemToDER(c))
	}
	for _, a := range d.List("alpn_offers") {
		t.ALPNOffers = append(t.ALPNOffers, anyStr(a))
	}
	for _, c := range d.List("cipher_list") {
		t.CipherList = append(t.CipherList, anyStr(c))
	}
	return t
}

func clientFromState(d *tnetstring.Dict) *Client {
	if d == nil {
		return &Client{ID: NewID(), ProxyMode: "regular", TransportProtocol: "tcp"}
	}
	peer, _ := d.Get("peername")
	sock, _ := d.Get("sockname")
	c := &Client{
		ID: d.Str("id"), Peername: addrFromState(peer), Sockname: addrFromState(sock),
		TransportProtocol: d.Str("transport_protocol"), Error: d.Str("error"), TLSInfo: tlsFromState(d),
		TimestampStart: d.Float("timestamp_start"), ProxyMode: d.Str("proxy_mode"),
	}
	c.SetTimestampEnd(d.Float("timestamp_end"))
	if !d.IsNull("mitmcert") && d.Has("mitmcert") {
		c.MitmCert = pemToDER(d.Bytes("mitmcert"))
	}
	return c
}

func serverFromState(d *tnetstring.Dict) *Server {
	if d == nil {
		return &Server{ID: NewID(), TransportProtocol: "tcp"}
	}
	peer, _ := d.Get("peername")
	sock, _ := d.Get("sockname")
	addr, _ := d.Get("address")
	s := &Server{
		ID: d.Str("id"), Address: addrFromState(addr), Peername: addrFromState(peer), Sockname: addrFromState(sock),
		TransportProtocol: d.Str("transport_protocol"), Error: d.Str("error"), TLSInfo: tlsFromState(d),
		TimestampStart: d.Float("timestamp_start"), TimestampTCPSetup: d.Float("timestamp_tcp_setup"),
	}
	s.SetTimestampEnd(d.Float("timestamp_end"))
	if via, ok := d.Get("via"); ok {
		if l, ok := via.([]any); ok && len(l) == 2 {
			s.Via = &ServerSpec{Scheme: strings.ToLower(anyStr(l[0])), Address: addrFromState(l[1])}
		}
	}
	return s
}
