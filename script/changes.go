package script

import (
	"fmt"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// A hook's reply carries what handlers changed, named as in mitmproxy's
// state dict:
//
//	request, response   the fields that changed (a new message: all of
//	                    them; response None: removed), plus "stream"
//	                    when it changed: true, false, or "fn" (a
//	                    callable, which stays in the child)
//	error               the flow's error, or None
//	marked, comment, is_replay, metadata
//	websocket           {"messages": [[index, message state], ...]}
//	messages            TCP: [[index, message state], ...]
//	actions             ["kill", "intercept", "resume"], in order
//	client, server      connection fields a script may set (error,
//	                    address, via, sni); an HTTP flow's server also
//	                    "new" when the script replaced server_conn

// applyHTTP applies a reply's changes to the live flow.
func applyHTTP(f *flow.HTTPFlow, ch *tnetstring.Dict) error {
	applyActions(&f.Flow, ch.List("actions"))
	if err := applyFlowFields(&f.Flow, ch); err != nil {
		return err
	}
	if v, ok := ch.Get("request"); ok {
		d, _ := v.(*tnetstring.Dict)
		if d == nil {
			return fmt.Errorf("a flow's request cannot be removed")
		}
		if f.Request == nil {
			f.Request = &flow.Request{}
		}
		if err := applyRequest(f.Request, d); err != nil {
			return err
		}
	}
	if v, ok := ch.Get("response"); ok {
		d, _ := v.(*tnetstring.Dict)
		if d == nil {
			f.Response = nil
		} else {
			if f.Response == nil {
				f.Response = &flow.Response{}
			}
			if err := applyResponse(f.Response, d); err != nil {
				return err
			}
		}
	}
	if d := ch.Dict("server"); d != nil && f.ServerConn != nil {
		// server_conn.via and the like, set before the server is
		// connected; "new": the script replaced server_conn with a new
		// Server (mitmproxy's change_upstream_proxy example does when
		// the connection is open), which leaves the open one alone.
		if v, _ := d.Get("new"); v == true {
			f.ServerConn = flow.NewServer(f.ServerConn.Address)
		}
		applyServer(f.ServerConn, d)
	}
	if ws := ch.Dict("websocket"); ws != nil && f.WebSocket != nil {
		for _, item := range ws.List("messages") {
			i, st, ok := indexed(item)
			if !ok || i >= len(f.WebSocket.Messages) || len(st) < 6 {
				continue
			}
			m := f.WebSocket.Messages[i]
			if t, ok := tnetstring.AsInt(st[0]); ok {
				m.Type = int(t)
			}
			m.FromClient, _ = st[1].(bool)
			m.Content = bytesOf(st[2])
			m.Timestamp, _ = tnetstring.AsFloat(st[3])
			m.Dropped, _ = st[4].(bool)
			m.Injected, _ = st[5].(bool)
		}
	}
	return nil
}

// applyTCP applies a reply's changes to a TCP flow.
func applyTCP(f *flow.TCPFlow, ch *tnetstring.Dict) error {
	return applyMessageFlow(&f.Flow, ch, len(f.Messages), func(i int) (*bool, *[]byte, *float64) {
		m := f.Messages[i]
		return &m.FromClient, &m.Content, &m.Timestamp
	})
}

// applyMessageFlow applies a reply's changes to a flow of messages (TCP,
// UDP): its actions, its flow-level fields, and each changed message
// ([index, [from_client, content, timestamp]]) through the pointers that
// message(i) gives to the i-th of its n messages.
func applyMessageFlow(base *flow.Flow, ch *tnetstring.Dict, n int, message func(i int) (*bool, *[]byte, *float64)) error {
	applyActions(base, ch.List("actions"))
	if err := applyFlowFields(base, ch); err != nil {
		return err
	}
	for _, item := range ch.List("messages") {
		i, st, ok := indexed(item)
		if !ok || i >= n || len(st) < 3 {
			continue
		}
		fromClient, content, ts := message(i)
		*fromClient, _ = st[0].(bool)
		*content = bytesOf(st[1])
		*ts, _ = tnetstring.AsFloat(st[2])
	}
	return nil
}

func indexed(item any) (int, []any, bool) {
	l, ok := item.([]any)
	if !ok || len(l) != 2 {
		return 0, nil, false
	}
	i, ok := tnetstring.AsInt(l[0])
	st, ok2 := l[1].([]any)
	if !ok || !ok2 || i < 0 {
		return 0, nil, false
	}
	return int(i), st, true
}

func applyActions(f *flow.Flow, actions []any) {
	for _, a := range actions {
		switch anyStr(a) {
		case "kill":
			_ = f.Kill() // a flow that is not live any more has nothing to kill
		case "intercept":
			f.Intercept()
		case "resume":
			f.Resume()
		}
	}
}

func applyFlowFields(f *flow.Flow, ch *tnetstring.Dict) error {
	for _, e := range ch.Entries {
		switch e.Key {
		case "error":
			if e.Value == nil {
				f.Error = nil
				continue
			}
			d, ok := e.Value.(*tnetstring.Dict)
			if !ok {
				return fmt.Errorf("error: unexpected %T", e.Value)
			}
			f.Error = &flow.Error{Msg: d.Str("msg"), Timestamp: d.Float("timestamp")}
		case "marked":
			f.SetMarked(anyStr(e.Value))
		case "comment":
			f.SetComment(anyStr(e.Value))
		case "is_replay":
			f.IsReplay = anyStr(e.Value)
		case "metadata":
			d, ok := e.Value.(*tnetstring.Dict)
			if !ok && e.Value != nil {
				return fmt.Errorf("metadata: unexpected %T", e.Value)
			}
			f.Metadata = flow.Metadata{}
			for _, me := range d.Entries {
				f.Metadata.Set(me.Key, me.Value)
			}
		}
	}
	return nil
}

func applyMessage(m *flow.Message, key string, v any) (bool, error) {
	switch key {
	case "http_version":
		m.HTTPVersion = anyStr(v)
	case "headers":
		h, err := headersOf(v)
		if err != nil {
			return true, fmt.Errorf("headers: %w", err)
		}
		m.Headers = h
	case "trailers":
		if v == nil {
			m.Trailers = nil
			return true, nil
		}
		h, err := headersOf(v)
		if err != nil {
			return true, fmt.Errorf("trailers: %w", err)
		}
		m.Trailers = h
	case "content":
		m.RawContent = bytesOf(v)
		if v != nil && m.RawContent == nil {
			m.RawContent = []byte{}
		}
	case "timestamp_start":
		m.TimestampStart, _ = tnetstring.AsFloat(v)
	case "timestamp_end":
		m.TimestampEnd, _ = tnetstring.AsFloat(v)
	case "stream":
		// True, False, or "fn": a callable, whose StreamFunc the addon
		// sets (applyStreams). A script's change replaces a Go addon's
		// function.
		m.Stream = v == true || isCallableMark(v)
		m.StreamFunc = nil
	default:
		return false, nil
	}
	return true, nil
}

func applyRequest(r *flow.Request, d *tnetstring.Dict) error {
	for _, e := range d.Entries {
		done, err := applyMessage(&r.Message, e.Key, e.Value)
		if err != nil {
			return fmt.Errorf("request %w", err)
		}
		if done {
			continue
		}
		switch e.Key {
		case "host":
			r.Host = anyStr(e.Value)
		case "port":
			n, _ := tnetstring.AsInt(e.Value)
			r.Port = int(n)
		case "method":
			r.Method = anyStr(e.Value)
		case "scheme":
			r.Scheme = anyStr(e.Value)
		case "authority":
			r.Authority = anyStr(e.Value)
		case "path":
			r.Path = anyStr(e.Value)
		}
	}
	return nil
}

func applyResponse(r *flow.Response, d *tnetstring.Dict) error {
	for _, e := range d.Entries {
		done, err := applyMessage(&r.Message, e.Key, e.Value)
		if err != nil {
			return fmt.Errorf("response %w", err)
		}
		if done {
			continue
		}
		switch e.Key {
		case "status_code":
			n, _ := tnetstring.AsInt(e.Value)
			r.StatusCode = int(n)
		case "reason":
			r.Reason = anyStr(e.Value)
		}
	}
	return nil
}

func applyClient(c *flow.Client, d *tnetstring.Dict) {
	if v, ok := d.Get("error"); ok {
		c.Error = anyStr(v)
	}
}

func applyServer(s *flow.Server, d *tnetstring.Dict) {
	for _, e := range d.Entries {
		switch e.Key {
		case "error":
			s.Error = anyStr(e.Value)
		case "address":
			if a, ok := addrOf(e.Value); ok {
				s.Address = a
			}
		case "sni":
			s.SNI = anyStr(e.Value)
		case "via":
			l, ok := e.Value.([]any)
			if !ok || len(l) != 2 {
				s.Via = nil
				continue
			}
			if a, ok := addrOf(l[1]); ok {
				s.Via = &flow.ServerSpec{Scheme: anyStr(l[0]), Address: a}
			}
		}
	}
}

func addrOf(v any) (flow.Address, bool) {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return flow.Address{}, false
	}
	p, ok := tnetstring.AsInt(l[1])
	if !ok {
		return flow.Address{}, false
	}
	return flow.Address{Host: anyStr(l[0]), Port: int(p)}, true
}

func headersOf(v any) (flow.Headers, error) {
	l, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("unexpected %T", v)
	}
	h := make(flow.Headers, 0, len(l))
	for _, item := range l {
		kv, ok := item.([]any)
		if !ok || len(kv) != 2 {
			return nil, fmt.Errorf("malformed header field")
		}
		h = append(h, flow.Field{Name: anyStr(kv[0]), Value: anyStr(kv[1])})
	}
	return h, nil
}

func bytesOf(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}

// codec answers the child's request to decode or encode br and zstd bodies,
// which Python's standard library lacks.
func codec(req *tnetstring.Dict) (any, error) {
	data := req.Bytes("data")
	enc := req.Str("enc")
	switch req.Str("dir") {
	case "decode":
		out, err := flow.DecodeContent(enc, data)
		if err != nil {
			return nil, err
		}
		return nonNil(out), nil
	case "encode":
		out, err := flow.EncodeContent(enc, data)
		if err != nil {
			return nil, err
		}
		return nonNil(out), nil
	}
	return nil, fmt.Errorf("unknown codec direction %q", req.Str("dir"))
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
