package script

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// Streams and WebSocket sessions keep state in the Python child between
// hook calls of a flow:
//
//   - A callable request.stream or response.stream stays in the child (in
//     a registry by flow id and part). The flow's message gets a StreamFunc
//     that sends each chunk to the child ("chunk": fid, part, data) and
//     forwards what the callable returned; a hook that runs later finds the
//     same callable in .stream, as mitmproxy's scripts expect
//     (save_streamed_data checks isinstance(flow.response.stream, ...)).
//   - The child keeps the messages of a WebSocket flow, so that each hook
//     call carries only the messages it has not seen ("wsbase" says how
//     many it should have); a child that lacks them asks for the whole list
//     (op "ws"). A long session costs each websocket_message call the same.
//
// Both are dropped ("forget") when the flow is over for the scripts: after
// response (other than a 101), error or websocket_end.

// pyFlow is what the child holds for one flow.
type pyFlow struct {
	h       *host // the child that holds it (a restarted one holds nothing)
	wsSent  int   // WebSocket messages the child has
	streams bool  // a stream callable is registered
}

// flowState is the child's state of the flows it holds something for.
type flowState struct {
	n  atomic.Int32 // len(m), read without the lock
	mu sync.Mutex
	m  map[string]*pyFlow
}

func (s *flowState) get(id string) (pyFlow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return pyFlow{}, false
	}
	return *p, true
}

// update records what the child h holds for flow id after a call.
func (s *flowState) update(id string, h *host, fn func(p *pyFlow)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*pyFlow{}
	}
	p := s.m[id]
	if p == nil || p.h != h {
		if p == nil {
			s.n.Add(1)
		}
		p = &pyFlow{h: h}
		s.m[id] = p
	}
	fn(p)
}

// take removes flow id and returns what the child held.
func (s *flowState) take(id string) (pyFlow, bool) {
	if s.n.Load() == 0 {
		return pyFlow{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return pyFlow{}, false
	}
	delete(s.m, id)
	s.n.Add(-1)
	return *p, true
}

// forgetFlow tells the child to drop what it holds for f: its stream
// callables and WebSocket messages.
func (a *Addon) forgetFlow(f *flow.HTTPFlow) {
	p, ok := a.pyFlows.take(f.ID)
	if !ok || !p.h.alive() {
		return
	}
	m := newMsg("forget")
	m.Set("fid", f.ID)
	if ws := f.WebSocket; ws != nil {
		// How the connection ended, for the flow objects scripts keep
		// (they poll flow.websocket.timestamp_end).
		st := stateFrom(f, len(ws.Messages))
		if d := st.Dict("websocket"); d != nil {
			d.Delete("messages")
			m.Set("ws", d)
		}
	}
	_ = p.h.send(m) // a child that is gone holds nothing
}

// pyStreamFunc is the StreamFunc of a flow's request (part "rq") or
// response ("rs") whose stream a script set to a callable. Each chunk is
// one call to the child; an exception there (logged with its traceback by
// the child), or a child that goes away, ends the exchange.
func (a *Addon) pyStreamFunc(fid, part string) func([]byte) ([]byte, error) {
	what := "response"
	if part == "rq" {
		what = "request"
	}
	return func(chunk []byte) ([]byte, error) {
		h := a.hostForCall()
		if h == nil {
			return nil, fmt.Errorf("no Python script host is running for the script's %s stream function", what)
		}
		m := newMsg("chunk")
		m.Set("fid", fid)
		m.Set("part", part)
		m.Set("data", chunk)
		reply, err := h.call(context.Background(), m, nil)
		if err != nil {
			var re *replyError
			var od *overdueError
			switch {
			case errors.As(err, &re):
				script := reply.Str("script")
				if script == "" {
					script = "(unknown)"
				}
				return nil, fmt.Errorf("in script %s: the %s stream function raised %s", script, what, re.msg)
			case errors.As(err, &od):
				script := od.script
				if script == "" {
					script = "(unknown)"
				}
				return nil, fmt.Errorf("in script %s: the %s stream function ran for more than %d s (script_hook_timeout)",
					script, what, od.secs)
			case errors.Is(err, errHostGone):
				return nil, fmt.Errorf("the Python script host %s while the script's %s stream function ran", h.endReason(), what)
			}
			return nil, fmt.Errorf("the script's %s stream function: %w", what, err)
		}
		return reply.Bytes("data"), nil
	}
}

// applyStreams gives the flow's messages a StreamFunc where the reply set
// a stream callable, and records that the child holds one.
func (a *Addon) applyStreams(f *flow.HTTPFlow, h *host, ch *tnetstring.Dict) {
	fn := false
	for _, p := range [...]struct {
		key, short string
		m          *flow.Message
	}{{"request", "rq", reqMsg(f)}, {"response", "rs", respMsg(f)}} {
		d := ch.Dict(p.key)
		if d == nil || p.m == nil {
			continue
		}
		if v, ok := d.Get("stream"); ok && isCallableMark(v) {
			p.m.StreamFunc = a.pyStreamFunc(f.ID, p.short)
			fn = true
		}
	}
	if fn {
		a.pyFlows.update(f.ID, h, func(p *pyFlow) { p.streams = true })
	}
}

func reqMsg(f *flow.HTTPFlow) *flow.Message {
	if f.Request == nil {
		return nil
	}
	return &f.Request.Message
}

func respMsg(f *flow.HTTPFlow) *flow.Message {
	if f.Response == nil {
		return nil
	}
	return &f.Response.Message
}

// streamCallable is how the wire marks a stream set to a callable.
const streamCallable = "fn"

func isCallableMark(v any) bool {
	switch s := v.(type) {
	case string:
		return s == streamCallable
	case []byte:
		return string(s) == streamCallable
	}
	return false
}

// WebSocket messages -------------------------------------------------------

// wsBase is how many of f's WebSocket messages the child h holds already
// (0: send them all).
func (a *Addon) wsBase(f *flow.HTTPFlow, h *host) int {
	if f.WebSocket == nil {
		return 0
	}
	p, ok := a.pyFlows.get(f.ID)
	if !ok || p.h != h || p.wsSent > len(f.WebSocket.Messages) {
		return 0
	}
	return p.wsSent
}

// stateFrom is f's state dict with only the WebSocket messages from index
// base on (f.State() would encode every message of the session for every
// call).
func stateFrom(f *flow.HTTPFlow, base int) *tnetstring.Dict {
	ws := f.WebSocket
	if ws == nil || base == 0 {
		return f.State()
	}
	tmp := &flow.HTTPFlow{
		Flow: flow.Flow{
			ID: f.ID, Error: f.Error, ClientConn: f.ClientConn, ServerConn: f.ServerConn,
			IsReplay: f.IsReplay, Metadata: f.Metadata,
			TimestampCreated: f.TimestampCreated,
		},
		Request:  f.Request,
		Response: f.Response,
		WebSocket: &flow.WebSocketData{
			Messages:       ws.Messages[base:],
			ClosedByClient: ws.ClosedByClient,
			CloseCode:      ws.CloseCode,
			CloseReason:    ws.CloseReason,
			TimestampEnd:   ws.TimestampEnd,
		},
	}
	tmp.SetMarked(f.Marked())
	tmp.SetComment(f.Comment())
	if f.IsIntercepted() {
		tmp.Intercept()
	}
	return tmp.State()
}

// wsMessages answers the child's request for all of a flow's WebSocket
// messages (it lacks the ones a call assumed it had).
func wsMessages(f *flow.HTTPFlow) (any, error) {
	if f.WebSocket == nil {
		return nil, fmt.Errorf("flow %s has no WebSocket messages", f.ID)
	}
	return f.State().Dict("websocket").List("messages"), nil
}
