package script

import (
	"context"
	"errors"
	"fmt"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// The hooks the addon forwards, by bit in Addon.hooks.
const (
	hRequestHeaders = iota
	hRequest
	hResponseHeaders
	hResponse
	hError
	hHTTPConnect
	hHTTPConnectUpstream
	hHTTPConnected
	hHTTPConnectError
	hWebSocketStart
	hWebSocketMessage
	hWebSocketEnd
	hTCPStart
	hTCPMessage
	hTCPEnd
	hTCPError
	hClientConnected
	hClientDisconnected
	hServerConnect
	hServerConnected
	hServerDisconnected
	hServerConnectError
	hTLSClientHello
	hTLSStartClient
	hTLSStartServer
	hTLSEstablishedClient
	hTLSEstablishedServer
	hTLSFailedClient
	hTLSFailedServer
	hUDPStart
	hUDPMessage
	hUDPEnd
	hUDPError
	hDNSRequest
	hDNSResponse
	hDNSError
	numHooks
)

// hookNames are mitmproxy's names of the hooks above, in order.
var hookNames = [numHooks]string{
	"requestheaders", "request", "responseheaders", "response", "error",
	"http_connect", "http_connect_upstream", "http_connected", "http_connect_error",
	"websocket_start", "websocket_message", "websocket_end",
	"tcp_start", "tcp_message", "tcp_end", "tcp_error",
	"client_connected", "client_disconnected",
	"server_connect", "server_connected", "server_disconnected", "server_connect_error",
	"tls_clienthello", "tls_start_client", "tls_start_server",
	"tls_established_client", "tls_established_server", "tls_failed_client", "tls_failed_server",
	"udp_start", "udp_message", "udp_end", "udp_error", // hooks_dns.go
	"dns_request", "dns_response", "dns_error",
}

var hookIndex = func() map[string]int {
	m := make(map[string]int, numHooks)
	for i, n := range hookNames {
		m[n] = i
	}
	return m
}()

var (
	_ addon.RequestHeadersHook       = (*Addon)(nil)
	_ addon.RequestHook              = (*Addon)(nil)
	_ addon.ResponseHeadersHook      = (*Addon)(nil)
	_ addon.ResponseHook             = (*Addon)(nil)
	_ addon.ErrorHook                = (*Addon)(nil)
	_ addon.HTTPConnectHook          = (*Addon)(nil)
	_ addon.HTTPConnectUpstreamHook  = (*Addon)(nil)
	_ addon.HTTPConnectedHook        = (*Addon)(nil)
	_ addon.HTTPConnectErrorHook     = (*Addon)(nil)
	_ addon.WebSocketStartHook       = (*Addon)(nil)
	_ addon.WebSocketMessageHook     = (*Addon)(nil)
	_ addon.WebSocketEndHook         = (*Addon)(nil)
	_ addon.TCPStartHook             = (*Addon)(nil)
	_ addon.TCPMessageHook           = (*Addon)(nil)
	_ addon.TCPEndHook               = (*Addon)(nil)
	_ addon.TCPErrorHook             = (*Addon)(nil)
	_ addon.ClientConnectedHook      = (*Addon)(nil)
	_ addon.ClientDisconnectedHook   = (*Addon)(nil)
	_ addon.ServerConnectHook        = (*Addon)(nil)
	_ addon.ServerConnectedHook      = (*Addon)(nil)
	_ addon.ServerDisconnectedHook   = (*Addon)(nil)
	_ addon.ServerConnectErrorHook   = (*Addon)(nil)
	_ addon.TLSClientHelloHook       = (*Addon)(nil)
	_ addon.TLSStartClientHook       = (*Addon)(nil)
	_ addon.TLSStartServerHook       = (*Addon)(nil)
	_ addon.TLSEstablishedClientHook = (*Addon)(nil)
	_ addon.TLSEstablishedServerHook = (*Addon)(nil)
	_ addon.TLSFailedClientHook      = (*Addon)(nil)
	_ addon.TLSFailedServerHook      = (*Addon)(nil)
)

// wants reports whether some script defines hook i. It is the whole cost of
// a hook no script defines.
func (a *Addon) wants(i int) bool { return a.hooks.Load()&(1<<i) != 0 }

// HTTP ---------------------------------------------------------------------

func (a *Addon) RequestHeaders(f *flow.HTTPFlow)  { a.httpHook(hRequestHeaders, f) }
func (a *Addon) Request(f *flow.HTTPFlow)         { a.httpHook(hRequest, f) }
func (a *Addon) ResponseHeaders(f *flow.HTTPFlow) { a.httpHook(hResponseHeaders, f) }
func (a *Addon) HTTPConnect(f *flow.HTTPFlow)     { a.httpHook(hHTTPConnect, f) }
func (a *Addon) HTTPConnectUpstream(f *flow.HTTPFlow) {
	a.httpHook(hHTTPConnectUpstream, f)
}
func (a *Addon) HTTPConnected(f *flow.HTTPFlow)    { a.httpHook(hHTTPConnected, f) }
func (a *Addon) HTTPConnectError(f *flow.HTTPFlow) { a.httpHook(hHTTPConnectError, f) }
func (a *Addon) WebSocketStart(f *flow.HTTPFlow)   { a.httpHook(hWebSocketStart, f) }
func (a *Addon) WebSocketMessage(f *flow.HTTPFlow) { a.httpHook(hWebSocketMessage, f) }

func (a *Addon) Response(f *flow.HTTPFlow) {
	a.httpHook(hResponse, f)
	if f.Response == nil || f.Response.StatusCode != 101 {
		a.forget(&f.Flow)
		a.forgetFlow(f)
	}
}

func (a *Addon) Error(f *flow.HTTPFlow) {
	a.httpHook(hError, f)
	a.forget(&f.Flow)
	a.forgetFlow(f)
}

func (a *Addon) WebSocketEnd(f *flow.HTTPFlow) {
	a.httpHook(hWebSocketEnd, f)
	a.forget(&f.Flow)
	a.forgetFlow(f)
}

func (a *Addon) httpHook(i int, f *flow.HTTPFlow) {
	if !a.wants(i) {
		return
	}
	h := a.hostForCall()
	if h == nil {
		a.flowFailed(i, nil, nil, &f.Flow, describeHTTP(f))
		return
	}
	base := a.wsBase(f, h)
	msg, err := a.httpMessage(hookNames[i], f, base)
	if err != nil {
		a.log.Error(fmt.Sprintf("Script host: cannot send flow %s to the %s hook: %v", f.ID, hookNames[i], err))
		return
	}
	a.refs.add(f)
	reply, err := h.call(hookCall(f), msg, func(req *tnetstring.Dict) (any, error) {
		switch req.Str("op") {
		case "filter":
			return h.filterOp(req, f)
		case "ws":
			return wsMessages(f)
		}
		return serveBody(f, req)
	})
	if err != nil {
		a.flowFailed(i, h, err, &f.Flow, describeHTTP(f))
		return
	}
	if ws := f.WebSocket; ws != nil {
		// The child keeps the messages it was sent (see stream.go).
		n := len(ws.Messages)
		a.pyFlows.update(f.ID, h, func(p *pyFlow) { p.wsSent = n })
	}
	if ch := reply.Dict("changes"); ch.Len() > 0 {
		if err := applyHTTP(f, ch); err != nil {
			a.log.Error(fmt.Sprintf("Script host: applying the changes of %s to flow %s: %v", hookNames[i], f.ID, err))
		}
		a.applyStreams(f, h, ch)
		a.track(&f.Flow, ch)
	}
}

// httpMessage builds a hook call for f: the parts of its state dict, each a
// nested tnetstring, with bodies above the inline limit left out, and the
// WebSocket messages from wsBase on (the child has the others). A message
// that will be streamed says so ("stream": true, not part of mitmproxy's
// state).
func (a *Addon) httpMessage(hook string, f *flow.HTTPFlow, wsBase int) (*tnetstring.Dict, error) {
	return a.httpEnvelope(hook, f, wsBase, a.limit)
}

// httpEnvelope is httpMessage with bodies above limit left out (a negative
// limit leaves every body out; math.MaxInt64 sends them all).
func (a *Addon) httpEnvelope(hook string, f *flow.HTTPFlow, wsBase int, limit int64) (*tnetstring.Dict, error) {
	if m, err := a.httpEnvelopeFast(hook, f, wsBase, limit); err == nil {
		return m, nil
	}
	return a.httpEnvelopeState(hook, f, wsBase, limit)
}

// httpEnvelopeState is httpEnvelope by way of the flow's state dict.
func (a *Addon) httpEnvelopeState(hook string, f *flow.HTTPFlow, wsBase int, limit int64) (*tnetstring.Dict, error) {
	st := stateFrom(f, wsBase)
	m := newMsg("hook")
	m.Set("hook", hook)
	m.Set("fid", f.ID)
	m.Set("live", f.IsLive())
	var lazy []any
	for _, p := range [...]struct {
		key, short string
		m          *flow.Message
	}{{"request", "rq", reqMsg(f)}, {"response", "rs", respMsg(f)}} {
		v, _ := st.Pop(p.key)
		d, _ := v.(*tnetstring.Dict)
		if d == nil || p.m == nil {
			continue
		}
		if body := p.m.RawContent; len(body) > 0 && (limit < 0 || int64(len(body)) > limit) {
			d.Set("content", nil)
			lazy = append(lazy, p.short)
		}
		if p.m.Stream {
			d.Set("stream", true)
		}
		b, err := encodePart(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.key, err)
		}
		m.Set(p.short, b)
	}
	if err := moveSection(st, "websocket", m, "ws"); err != nil {
		return nil, err
	}
	if f.WebSocket != nil {
		m.Set("wsbase", int64(wsBase))
	}
	if err := moveSection(st, "client_conn", m, "cc"); err != nil {
		return nil, err
	}
	if err := moveSection(st, "server_conn", m, "sc"); err != nil {
		return nil, err
	}
	b, err := encodePart(st)
	if err != nil {
		return nil, err
	}
	m.Set("f", b)
	if len(lazy) > 0 {
		m.Set("lazy", lazy)
	}
	return m, nil
}

// moveSection moves st[key] into m[short] as a nested tnetstring (nil is
// left out).
func moveSection(st *tnetstring.Dict, key string, m *tnetstring.Dict, short string) error {
	v, _ := st.Pop(key)
	if v == nil {
		return nil
	}
	b, err := encodePart(v)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	m.Set(short, b)
	return nil
}

// serveBody answers the child's request for a body left out of the call.
func serveBody(f *flow.HTTPFlow, req *tnetstring.Dict) (any, error) {
	if req.Str("op") != "body" {
		return nil, fmt.Errorf("unknown request %q", req.Str("op"))
	}
	switch req.Str("part") {
	case "rq":
		if f.Request != nil {
			return bodyValue(f.Request.RawContent), nil
		}
	case "rs":
		if f.Response != nil {
			return bodyValue(f.Response.RawContent), nil
		}
	}
	return nil, fmt.Errorf("flow %s has no %s body", f.ID, req.Str("part"))
}

func bodyValue(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Failing closed ---------------------------------------------------------
//
// A hook call that does not complete (the child died or was stopped, a
// handler ran past script_hook_timeout, no child is there to take it) ends
// its flow: a script may enforce a policy, and a flow that its handlers did
// not finish with must not go on as if they had.

// failure says why hook i did not run to completion, naming the script.
func (a *Addon) failure(i int, h *host, err error) string {
	hook := hookNames[i]
	var od *overdueError
	switch {
	case errors.As(err, &od):
		script := od.script
		if script == "" {
			script = a.scriptsFor(hook)
		}
		return fmt.Sprintf("in script %s: the %s hook ran for more than %d s (script_hook_timeout)", script, hook, od.secs)
	case h == nil:
		return fmt.Sprintf("in script %s: no Python script host is running to handle the %s hook "+
			"(it is being restarted, or mitmgo is shutting down)", a.scriptsFor(hook), hook)
	case errors.Is(err, errHostGone):
		return fmt.Sprintf("in script %s: the Python script host %s while the %s hook was in progress",
			a.scriptsFor(hook), h.endReason(), hook)
	}
	return fmt.Sprintf("in script %s: the %s hook failed: %v", a.scriptsFor(hook), hook, err)
}

// flowFailed kills f (what describes it) after hook i failed.
func (a *Addon) flowFailed(i int, h *host, err error, f *flow.Flow, what string) {
	msg := a.failure(i, h, err)
	if f.Kill() == nil {
		a.log.Error(fmt.Sprintf("%s; flow %s killed", msg, what))
		return
	}
	// Not live (read from a file, or over already).
	a.log.Error(fmt.Sprintf("%s (flow %s)", msg, what))
}

// connFailed ends what can be ended after connection hook i failed: the
// client (client_connected) or the server connection (server_connect).
func (a *Addon) connFailed(i int, h *host, err error, c *flow.Client, s *flow.Server) {
	msg := a.failure(i, h, err)
	switch {
	case i == hClientConnected && c != nil:
		c.Error = msg
		a.log.Error(msg + "; client refused")
	case i == hServerConnect && s != nil:
		s.Error = msg
		a.log.Error(msg + "; server connection refused")
	default:
		a.log.Error(msg)
	}
}

func describeHTTP(f *flow.HTTPFlow) string {
	if f.Request == nil {
		return f.ID
	}
	return fmt.Sprintf("%s (%s %s)", f.ID, f.Request.Method, f.Request.PrettyURL())
}

// Intercepted flows --------------------------------------------------------

// track remembers flows a script intercepted, so that resume() or kill()
// called after the hook returned (from a timer, another flow's hook) can
// reach them.
func (a *Addon) track(f *flow.Flow, ch *tnetstring.Dict) {
	if ch.List("actions") == nil {
		return
	}
	a.flowsMu.Lock()
	defer a.flowsMu.Unlock()
	if f.IsIntercepted() {
		if _, ok := a.intercepted[f.ID]; !ok {
			a.intercepted[f.ID] = f
			a.nIntercept.Add(1)
		}
	} else if _, ok := a.intercepted[f.ID]; ok {
		delete(a.intercepted, f.ID)
		a.nIntercept.Add(-1)
	}
}

func (a *Addon) forget(f *flow.Flow) {
	if a.nIntercept.Load() == 0 {
		return
	}
	a.flowsMu.Lock()
	defer a.flowsMu.Unlock()
	if _, ok := a.intercepted[f.ID]; ok {
		delete(a.intercepted, f.ID)
		a.nIntercept.Add(-1)
	}
}

// flowop resumes or kills a flow a script intercepted earlier.
func (a *Addon) flowop(id, op string) {
	a.flowsMu.Lock()
	f, ok := a.intercepted[id]
	if ok && (op == "resume" || op == "kill") {
		delete(a.intercepted, id)
		a.nIntercept.Add(-1)
	}
	a.flowsMu.Unlock()
	if !ok {
		a.log.Debug(fmt.Sprintf("Script host: %s of flow %s ignored: mitmgo can only act on a flow after its hook "+
			"returned while the flow is intercepted", op, id))
		return
	}
	switch op {
	case "resume":
		f.Resume()
	case "kill":
		_ = f.Kill()
	}
}

// TCP ----------------------------------------------------------------------

func (a *Addon) TCPStart(f *flow.TCPFlow)   { a.tcpHook(hTCPStart, f) }
func (a *Addon) TCPMessage(f *flow.TCPFlow) { a.tcpHook(hTCPMessage, f) }

func (a *Addon) TCPEnd(f *flow.TCPFlow) {
	a.tcpHook(hTCPEnd, f)
	a.forget(&f.Flow)
}

func (a *Addon) TCPError(f *flow.TCPFlow) {
	a.tcpHook(hTCPError, f)
	a.forget(&f.Flow)
}

func (a *Addon) tcpHook(i int, f *flow.TCPFlow) {
	if !a.wants(i) {
		return
	}
	h := a.hostForCall()
	if h == nil {
		a.flowFailed(i, nil, nil, &f.Flow, "TCP "+f.ID)
		return
	}
	m, err := tcpMessage(hookNames[i], f)
	if err != nil {
		a.log.Error(fmt.Sprintf("Script host: cannot send flow %s to the %s hook: %v", f.ID, hookNames[i], err))
		return
	}
	a.refs.add(f)
	reply, err := h.call(hookCall(f), m, func(req *tnetstring.Dict) (any, error) {
		if req.Str("op") == "filter" {
			return h.filterOp(req, f)
		}
		return nil, fmt.Errorf("unknown request %q", req.Str("op"))
	})
	if err != nil {
		a.flowFailed(i, h, err, &f.Flow, "TCP "+f.ID)
		return
	}
	if ch := reply.Dict("changes"); ch.Len() > 0 {
		if err := applyTCP(f, ch); err != nil {
			a.log.Error(fmt.Sprintf("Script host: applying the changes of %s to flow %s: %v", hookNames[i], f.ID, err))
		}
		a.track(&f.Flow, ch)
	}
}

// tcpMessage builds a hook call for f, its state's parts as nested
// tnetstrings.
func tcpMessage(hook string, f *flow.TCPFlow) (*tnetstring.Dict, error) {
	st := f.State()
	m := newMsg("hook")
	m.Set("hook", hook)
	m.Set("fid", f.ID)
	m.Set("live", f.IsLive())
	for _, s := range [...][2]string{{"messages", "tm"}, {"client_conn", "cc"}, {"server_conn", "sc"}} {
		if err := moveSection(st, s[0], m, s[1]); err != nil {
			return nil, err
		}
	}
	b, err := encodePart(st)
	if err != nil {
		return nil, err
	}
	m.Set("f", b)
	return m, nil
}

// Connections --------------------------------------------------------------

func (a *Addon) ClientConnected(c *flow.Client)    { a.connHook(hClientConnected, c, nil, nil) }
func (a *Addon) ClientDisconnected(c *flow.Client) { a.connHook(hClientDisconnected, c, nil, nil) }
func (a *Addon) ServerConnect(d *addon.ServerConnectionData) {
	a.connHook(hServerConnect, d.Client, d.Server, nil)
}
func (a *Addon) ServerConnected(d *addon.ServerConnectionData) {
	a.connHook(hServerConnected, d.Client, d.Server, nil)
}
func (a *Addon) ServerDisconnected(d *addon.ServerConnectionData) {
	a.connHook(hServerDisconnected, d.Client, d.Server, nil)
}
func (a *Addon) ServerConnectError(d *addon.ServerConnectionData) {
	a.connHook(hServerConnectError, d.Client, d.Server, nil)
}

func (a *Addon) TLSClientHello(d *addon.ClientHelloData) {
	a.connHook(hTLSClientHello, d.Client, d.Server, func(m *tnetstring.Dict) func(*tnetstring.Dict) {
		m.Set("sni", wireStr(d.SNI))
		alpn := make([]any, len(d.ALPNProtocols))
		for i, p := range d.ALPNProtocols {
			alpn[i] = []byte(p)
		}
		m.Set("alpn", alpn)
		return func(ch *tnetstring.Dict) {
			if v, ok := ch.Get("ignore_connection"); ok {
				d.IgnoreConnection, _ = v.(bool)
			}
			if v, ok := ch.Get("establish_server_tls_first"); ok {
				d.EstablishServerTLSFirst, _ = v.(bool)
			}
		}
	})
}

func (a *Addon) tlsHook(i int, d *addon.TLSData) {
	a.connHook(i, d.Client, d.Server, func(m *tnetstring.Dict) func(*tnetstring.Dict) {
		m.Set("is_client", d.IsClient)
		if d.Err != nil {
			m.Set("err", wireStr(d.Err.Error()))
		}
		return nil
	})
}

func (a *Addon) TLSStartClient(d *addon.TLSData)       { a.tlsHook(hTLSStartClient, d) }
func (a *Addon) TLSStartServer(d *addon.TLSData)       { a.tlsHook(hTLSStartServer, d) }
func (a *Addon) TLSEstablishedClient(d *addon.TLSData) { a.tlsHook(hTLSEstablishedClient, d) }
func (a *Addon) TLSEstablishedServer(d *addon.TLSData) { a.tlsHook(hTLSEstablishedServer, d) }
func (a *Addon) TLSFailedClient(d *addon.TLSData)      { a.tlsHook(hTLSFailedClient, d) }
func (a *Addon) TLSFailedServer(d *addon.TLSData)      { a.tlsHook(hTLSFailedServer, d) }

// connHook sends a hook whose arguments are connections. extra adds fields
// to the message and may return a function that applies the reply's other
// changes.
func (a *Addon) connHook(i int, c *flow.Client, s *flow.Server, extra func(*tnetstring.Dict) func(*tnetstring.Dict)) {
	if !a.wants(i) {
		return
	}
	h := a.hostForCall()
	if h == nil {
		a.connFailed(i, nil, nil, c, s)
		return
	}
	m := newMsg("hook")
	m.Set("hook", hookNames[i])
	m.Set("live", true)
	cc, sc, err := connParts(c, s)
	if cc != nil {
		m.Set("cc", cc)
	}
	if sc != nil {
		m.Set("sc", sc)
	}
	if err != nil {
		a.log.Error(fmt.Sprintf("Script host: cannot send the %s hook: %v", hookNames[i], err))
		return
	}
	var apply func(*tnetstring.Dict)
	if extra != nil {
		apply = extra(m)
	}
	reply, err := h.call(context.Background(), m, nil)
	if err != nil {
		a.connFailed(i, h, err, c, s)
		return
	}
	ch := reply.Dict("changes")
	if ch.Len() == 0 {
		return
	}
	if d := ch.Dict("client"); d != nil && c != nil {
		applyClient(c, d)
	}
	if d := ch.Dict("server"); d != nil && s != nil {
		applyServer(s, d)
	}
	if apply != nil {
		apply(ch)
	}
}

// connParts returns the parts of a hook call for c and s (nil for nil),
// written straight from them (pystate.go) or, for what marshal cannot
// carry there, by way of their state dicts.
func connParts(c *flow.Client, s *flow.Server) (cc, sc []byte, err error) {
	if c != nil {
		if cc, err = pyPart(512, func(w *pyw) { w.client(c) }); err != nil {
			st, _ := connStates(c, nil)
			if cc, err = encodePart(st); err != nil {
				return nil, nil, err
			}
		}
	}
	if s != nil {
		if sc, err = pyPart(512, func(w *pyw) { w.server(s) }); err != nil {
			_, st := connStates(nil, s)
			if sc, err = encodePart(st); err != nil {
				return nil, nil, err
			}
		}
	}
	return cc, sc, nil
}

// connStates returns the state dicts of c and s (nil for nil), the shape
// they have inside a flow's state.
func connStates(c *flow.Client, s *flow.Server) (cc, sc *tnetstring.Dict) {
	tmp := &flow.HTTPFlow{}
	tmp.ClientConn, tmp.ServerConn = c, s
	st := tmp.State()
	if c != nil {
		cc = st.Dict("client_conn")
	}
	if s != nil {
		sc = st.Dict("server_conn")
	}
	return cc, sc
}

// KeepsFlows reports whether a script intercepted a flow it may still
// resume or kill (see addon.FlowKeeper). Nothing else of a flow stays with
// the script host after a hook: the script works on a copy in the Python
// process, and a body left out of a call can be fetched only during it.
func (a *Addon) KeepsFlows() bool { return a.nIntercept.Load() > 0 }
