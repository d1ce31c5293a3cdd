package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// target is where origin-form requests on a client stream go, and how to
// reach it: set by the layer that knows (a CONNECT tunnel) when it starts
// the HTTP layer, and fixed for that layer's life.
type target struct {
	scheme string
	host   string
	port   int
	// server is the tunnel's server connection as flows show it.
	server *flow.Server
	// sni and alpn are what the client's TLS said, for a server connection
	// made later (connection_strategy=lazy).
	sni  string
	alpn []string
	// err is set when the server could not be reached over TLS: every
	// request gets it as a 502.
	err error
}

// responder is the client side of one HTTP exchange, as the wire layer that
// read the request offers it: the flow runner answers through it without
// knowing the HTTP version.
type responder interface {
	// interim forwards an interim (1xx) response other than 101.
	interim(status int, reason string, h flow.Headers) error
	// respond sends a whole response.
	respond(r *flow.Response, headRequest bool) error
	// startBody sends a response head; its body follows through the sink.
	startBody(r *flow.Response) (bodySink, error)
	// errorPage answers with the proxy's error page. Nothing of a response
	// may have been sent yet.
	errorPage(status int, msg string)
	// watch notices, while the server makes the client wait, a client that
	// goes away: r.clientGone is called then, from another goroutine.
	// unwatch ends the watch; it must be called before the client is read
	// again.
	watch(r *flowRun)
	unwatch()
	// switchProtocols sends a 101 response and then hands the client's
	// stream to carry, which relays the connection until both sides are
	// done. Only HTTP/1 can.
	switchProtocols(r *flow.Response, carry func(client *stream)) error
}

// flowRun carries one HTTP flow through its hooks, from the request head to
// the response's last byte, whatever HTTP version either side speaks: hook
// order, addon answers, intercept and kill, streaming, body limits, errors.
type flowRun struct {
	cc  *clientConn
	m   *addon.Manager
	cfg *Config // the options this flow runs with, read once
	f   *flow.HTTPFlow
	cs  responder
	t   *target // nil outside a tunnel
	// ctx ends when the client's side of the exchange is gone: the
	// connection, or an HTTP/2 stream the client reset.
	ctx context.Context
	// abort ends the server side when the client goes away; gone is set
	// then.
	abort abortSlot
	gone  atomic.Bool
	// pooled are the recycled buffers holding the flow's bodies (at most
	// one per message, in pooledArr).
	pooled    []*[]byte
	pooledArr [2]*[]byte
}

func (cc *clientConn) newFlowRun(f *flow.HTTPFlow, cs responder, t *target, cfg *Config) *flowRun {
	r := &flowRun{}
	cc.initFlowRun(r, f, cs, t, cfg)
	return r
}

// initFlowRun sets up r, a zero flowRun, which the caller may have
// allocated with other parts of its exchange. Field by field: assigning
// a whole flowRun wrote its zero fields too, each pointer with its write
// barrier check.
func (cc *clientConn) initFlowRun(r *flowRun, f *flow.HTTPFlow, cs responder, t *target, cfg *Config) {
	r.cc, r.m, r.cfg, r.f, r.cs, r.t, r.ctx = cc, cc.s.m, cfg, f, cs, t, cc.ctx
	r.pooled = r.pooledArr[:0]
}

// run takes the flow from its request head on: requestheaders, the body,
// request, the server (or an addon's answer), responseheaders, the body,
// response. It reports whether the exchange ended cleanly, so that the
// client's connection may carry another.
func (r *flowRun) run(body bodyReader) bool {
	defer r.recycle()
	f, req, cfg := r.f, r.f.Request, r.cfg
	if exceeds(body.size(), cfg.StreamLargeBodies) {
		// Decided before the hook, so that the hook sees it (and may
		// still say no).
		req.Stream = true
	}
	// What the proxy mode does to a request (modes.go).
	r.cc.modeRequest(f, r.t, cfg)
	r.m.RequestHeaders(f)
	if !r.afterHook() {
		return false
	}
	var stream *bodyStream
	if req.Stream {
		stream = newBodyStream(body, cfg, req.StreamFunc)
	} else {
		data, trailers, tail, err := r.readBody(body)
		if err != nil {
			return r.requestBodyNotRead(err)
		}
		if tail != nil {
			// Streamed from here on: the flow says so (as mitmproxy's),
			// and a StreamFunc applies.
			req.Stream, tail.fn = true, req.StreamFunc
			stream = tail
		} else {
			req.RawContent, req.Trailers = data, trailers
			req.TimestampEnd = nowSeconds()
		}
	}
	if stream == nil {
		r.m.Request(f)
		if !r.afterHook() {
			return false
		}
		if f.Response != nil {
			return r.answerFromAddon()
		}
	}
	return r.forward(stream)
}

// requestBodyNotRead ends a flow whose request body could not be read (out
// of line, see forward).
//
//go:noinline
func (r *flowRun) requestBodyNotRead(err error) bool {
	switch {
	case errors.Is(err, h1.ErrBodyTooLarge):
		r.cs.errorPage(413, fmt.Sprintf("Request body exceeds the body_size_limit (%d bytes)", r.cfg.BodySizeLimit))
		return r.fail(fmt.Sprintf("HTTP request body too large (body_size_limit is %d bytes)", r.cfg.BodySizeLimit), 0)
	case protocolError(err) != nil:
		msg := "Bad HTTP request: " + protocolError(err).Msg
		r.cc.log().Info(msg)
		return r.fail(msg, 400)
	}
	return r.fail("client disconnected while sending the request body: "+describeIOError(err), 0)
}

// recycle gives the flow's body buffers back to the pool, unless an addon
// may still hold the flow.
func (r *flowRun) recycle() {
	if len(r.pooled) == 0 {
		return
	}
	if !r.m.KeepsFlows() {
		for _, b := range r.pooled {
			r.cc.s.bodies.put(b)
		}
	}
	clear(r.pooled)
	r.pooled = r.pooled[:0]
}

// afterHook checks the flow after a hook: waits while it is intercepted and
// reports false (the exchange ends) when it was killed.
func (r *flowRun) afterHook() bool {
	f := r.f
	if err := f.WaitForResume(r.ctx); err != nil {
		r.fail("connection closed while the flow was intercepted", 0)
		return false
	}
	if f.Killed() {
		f.SetLive(false)
		r.m.Error(f)
		return false
	}
	return true
}

// fail records an error on the flow, fires the error hook, and (when status
// is non-zero) sends the client an error page. The exchange ends.
func (r *flowRun) fail(msg string, status int) bool {
	f := r.f
	if r.gone.Load() {
		msg, status = "Client disconnected.", 0
	} else if cause := context.Cause(r.ctx); r.ctx.Err() != nil && cause != context.Canceled {
		// What ended the client's side says best what happened
		// ("stream reset by client (CANCEL)").
		msg, status = cause.Error(), 0
	}
	if f.Error == nil {
		f.Error = flow.NewError(msg)
	}
	f.SetLive(false)
	if status != 0 {
		r.cs.errorPage(status, msg)
	}
	r.m.Error(f)
	return false
}

// clientGone ends the exchange of a client that went away while the server
// made it wait: the server connection is closed, and the flow's error says
// "Client disconnected.", as mitmproxy's. As mitmproxy, a client that only
// closed its sending half counts as gone: it is taken as not interested
// in more data.
func (r *flowRun) clientGone(err error) {
	if r.cfg.Debug {
		r.cc.log().Debug("the client went away while waiting for the server: " + describeIOError(err))
	}
	r.gone.Store(true)
	r.abort.fire()
}

// answerFromAddon sends a response an addon set in the request hook.
func (r *flowRun) answerFromAddon() bool {
	f := r.f
	resp := f.Response
	if resp.RawContent == nil {
		resp.RawContent = []byte{}
	}
	if resp.TimestampStart == 0 {
		resp.TimestampStart = nowSeconds()
	}
	if resp.TimestampEnd == 0 {
		resp.TimestampEnd = nowSeconds()
	}
	// As mitmproxy: an addon's response goes through responseheaders and
	// response like one from a server (modify_headers applies to it).
	r.m.ResponseHeaders(f)
	if !r.afterHook() {
		return false
	}
	r.m.Response(f)
	if !r.afterHook() {
		return false
	}
	// The flow is over whether or not the client took the answer: its
	// last hook ran, so no error is written to it now (readers may look).
	err := r.cs.respond(f.Response, f.Request.Method == "HEAD")
	f.SetLive(false)
	return err == nil
}

// isEventStream reports a server-sent events response.
func isEventStream(r *flow.Response) bool {
	ct := r.Headers.Get("content-type")
	if notEventStream(ct) {
		return false
	}
	return isEventStreamType(ct) && bodyAllowed(r.StatusCode)
}

// isEventStreamType reports a Content-Type of text/event-stream.
//
//go:noinline
func isEventStreamType(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(ct), eventStream)
}

const eventStream = "text/event-stream"

// notEventStream is a quick look at a Content-Type that rules out most
// that are not text/event-stream, for every response's sake; false when
// only isEventStreamType can tell. It looks at the first len(eventStream)
// bytes after leading ASCII white space when they are ASCII: then
// TrimSpace would start there too, and EqualFold compares bytes.
func notEventStream(ct string) bool {
	i := 0
	for i < len(ct) && (ct[i] == ' ' || ct[i] == '\t' || ct[i] == '\n' || ct[i] == '\v' || ct[i] == '\f' || ct[i] == '\r') {
		i++
	}
	rest := ct[i:]
	n := min(len(rest), len(eventStream))
	for j := 0; j < n; j++ {
		if rest[j] >= 0x80 {
			return false
		}
	}
	return n < len(eventStream) || !strings.EqualFold(rest[:n], eventStream)
}

func exceeds(size, threshold int64) bool {
	return threshold >= 0 && size > threshold
}

// requestDialSpec is how req reaches its server: for https, HTTP/2 is
// offered when the request came over HTTP/2 (a replayed HTTP/2 flow goes
// out over HTTP/2 where the server can), and a lazily connected tunnel's
// server gets the SNI and ALPN offers the client sent.
func requestDialSpec(req *flow.Request, t *target, cfg *Config) dialSpec {
	d := dialSpec{scheme: req.Scheme, host: req.Host, port: req.Port}
	if d.scheme != "https" {
		return d
	}
	d.sni, d.alpn = req.Host, []string{"http/1.1"}
	if req.HTTPVersion == "HTTP/2.0" && cfg.HTTP2 {
		d.alpn = []string{"h2", "http/1.1"}
	}
	if t != nil && t.host == req.Host && t.port == req.Port && t.sni != "" {
		d.sni = t.sni
		if len(t.alpn) > 0 {
			d.alpn = t.alpn
		}
	}
	return d
}

// forward sends the request to its server and the response back, firing
// the response hooks. reqStream is set when the request body is streamed.
//
// forward and respondFrom hold only what every keep-alive exchange runs;
// what few do (errors, debug logs, streaming, an HTTP/2 stream's reset) is
// in functions of their own, kept out of line: inlined, it spread the hot
// code over twice the cache lines, and a keep-alive request touches about
// as much code as the instruction cache holds (callgrind --cache-sim=yes,
// mitmdump, 200-byte responses: forward touched 2.4 KiB a request).
func (r *flowRun) forward(reqStream *bodyStream) bool {
	if r.t != nil && r.t.err != nil {
		return r.fail(r.t.err.Error(), 502)
	}
	if reqStream != nil {
		reqStream.live = new(flow.BodyProgress)
		r.f.SetStreamProgress(false, reqStream.live)
	} else {
		// While the server makes the client wait for the response head,
		// notice a client that leaves (HTTP/1; HTTP/2 has the stream's
		// reset). A streamed request body is read from the client all
		// along, which shows the same.
		r.cs.watch(r)
	}
	ex, err := r.cc.up.roundTrip(r.ctx, r.f, requestDialSpec(r.f.Request, r.t, r.cfg), reqStream, r.cfg, r.cs.interim, &r.abort)
	r.cs.unwatch()
	if err != nil {
		return r.roundTripFailed(err)
	}
	if r.ctx != r.cc.ctx {
		return r.respondFromStream(ex)
	}
	return r.respondFrom(ex)
}

// roundTripFailed ends a flow whose request got no response.
//
//go:noinline
func (r *flowRun) roundTripFailed(err error) bool {
	var rte *roundTripError
	if errors.As(err, &rte) {
		return r.fail(rte.msg, rte.status)
	}
	return r.fail(err.Error(), 502)
}

// respondFromStream is respondFrom for a flow with a context of its own
// (an HTTP/2 stream): a client that goes away while the server is still
// answering (the stream's reset) ends the server's side too. The end of
// the whole connection closes its server connections already (see
// upstream.connect).
//
//go:noinline
func (r *flowRun) respondFromStream(ex serverExchange) bool {
	defer context.AfterFunc(r.ctx, ex.abort)()
	return r.respondFrom(ex)
}

// respondFrom takes the response of ex to the client, with its hooks.
func (r *flowRun) respondFrom(ex serverExchange) bool {
	f, cfg, m := r.f, r.cfg, r.m
	resp := f.Response
	if cfg.Debug {
		r.logResponseHead(ex)
	}
	// Whether to stream is decided before the hook, so that the hook sees
	// it and may still say no: bodies over stream_large_bodies, and event
	// streams, whose events must reach the client as they come.
	events := cfg.StreamEventStreams && isEventStream(resp)
	if events || exceeds(ex.responseBody().size(), cfg.StreamLargeBodies) {
		resp.Stream = true
	}
	m.ResponseHeaders(f)
	if !r.afterHook() {
		ex.finish(false)
		return false
	}
	if resp.StatusCode == 101 {
		return r.switchProtocols(ex)
	}
	if resp.Stream {
		return r.streamFrom(ex, events)
	}
	// And while it sends the body, which the client gets only whole,
	// unless it is here already (most small responses come with their
	// head): a watch costs a timer check and two lock pairs.
	watch := !bodyArrived(ex.responseBody())
	if watch {
		r.cs.watch(r)
		r.abort.set(ex)
	}
	body, trailers, tail, err := r.readBody(ex.responseBody())
	if watch {
		r.abort.set(nil)
		r.cs.unwatch()
	}
	if err != nil || tail != nil {
		return r.responseBodyNotRead(ex, err, tail)
	}
	resp.RawContent, resp.Trailers = body, trailers
	resp.TimestampEnd = nowSeconds()
	if err := ex.waitRequest(); err != nil {
		ex.finish(false)
		return r.requestFailed(err)
	}
	// A connection kept for reuse is kept before the hook, one that closes
	// is closed after it, as mitmproxy: the flow is printed before the
	// "server disconnect" line.
	reusable := ex.reusable()
	if reusable {
		ex.finish(true)
	}
	m.Response(f)
	if !reusable {
		// Completed: closed, its buffers back for the next connection.
		ex.finish(true)
	}
	if !r.afterHook() {
		return false
	}
	// Over either way (see answerFromAddon).
	err = r.cs.respond(f.Response, f.Request.Method == "HEAD")
	f.SetLive(false)
	return err == nil
}

// logResponseHead logs a response head (debug).
//
//go:noinline
func (r *flowRun) logResponseHead(ex serverExchange) {
	resp := r.f.Response
	r.cc.log().Debug(fmt.Sprintf("response head: %s %d %s, %d header fields, body %s, server connection %s", resp.HTTPVersion, resp.StatusCode, resp.Reason,
		len(resp.Headers), ex.framingName(), map[bool]string{true: "reusable", false: "closed after it"}[ex.reusable()]))
}

// streamFrom streams the response body of ex, which the hook left to
// stream (events: an event stream).
//
//go:noinline
func (r *flowRun) streamFrom(ex serverExchange, events bool) bool {
	cfg := r.cfg
	if cfg.Debug {
		r.cc.log().Debug("streaming the response body (" + ex.framingName() + ")")
	}
	body := newBodyStream(ex.responseBody(), cfg, r.f.Response.StreamFunc)
	if events && !body.store {
		// The flow keeps what passed, up to a limit, so that the
		// response hook, the dumper and saved flows see the events.
		body.store, body.storeLimit = cfg.EventStreamStore != 0, cfg.EventStreamStore
	}
	return r.streamResponse(ex, body)
}

// responseBodyNotRead goes on from a response body that readBody did not
// read whole: it failed (err), or it turned out larger than
// stream_large_bodies and streams from tail on.
//
//go:noinline
func (r *flowRun) responseBodyNotRead(ex serverExchange, err error, tail *bodyStream) bool {
	cfg := r.cfg
	switch {
	case errors.Is(err, h1.ErrBodyTooLarge):
		ex.finish(false)
		return r.fail(fmt.Sprintf("HTTP response body too large (body_size_limit is %d bytes)", cfg.BodySizeLimit), 502)
	case err != nil:
		ex.finish(false)
		return r.fail(responseBodyError(ex, err), 502)
	}
	if cfg.Debug {
		r.cc.log().Debug(fmt.Sprintf("streaming the response body: more than stream_large_bodies (%d bytes) arrived", cfg.StreamLargeBodies))
	}
	resp := r.f.Response
	resp.Stream, tail.fn = true, resp.StreamFunc
	return r.streamResponse(ex, tail)
}

// requestFailed ends a flow whose streamed request body could not be sent
// while its response came.
func (r *flowRun) requestFailed(err error) bool {
	if rte := requestBodyError(err); rte != nil {
		return r.fail(rte.msg, 0)
	}
	return r.fail("server disconnected while receiving the request body: "+describeIOError(err), 0)
}

// protocolError is the *h1.ProtocolError in err's chain, or nil. (A
// function of its own: the variable errors.As fills escapes, and the hot
// path has no error to look at.)
func protocolError(err error) *h1.ProtocolError {
	var pe *h1.ProtocolError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// responseBodyError says why a response body could not be read.
func responseBodyError(ex serverExchange, err error) string {
	if pe := protocolError(err); pe != nil {
		return "server " + ex.server().Address.String() + " sent an invalid response body: " + pe.Msg
	}
	return "server " + ex.server().Address.String() + " disconnected while sending the response body: " + describeIOError(err)
}

// streamResponse forwards a response body as it arrives.
func (r *flowRun) streamResponse(ex serverExchange, body *bodyStream) bool {
	f := r.f
	resp := f.Response
	body.live = new(flow.BodyProgress)
	f.SetStreamProgress(true, body.live)
	sink, err := r.cs.startBody(resp)
	if err != nil {
		ex.finish(false)
		return r.fail("client disconnected while receiving the response: "+describeIOError(err), 0)
	}
	trailers, err := body.copyTo(sink, &r.cc.s.bodies)
	if err != nil {
		ex.finish(false)
		var se *streamError
		var fe *streamFuncError
		switch {
		case errors.As(err, &fe):
			return r.fail(fe.Error(), 0)
		case errors.As(err, &se) && se.read && errors.Is(err, h1.ErrBodyTooLarge):
			return r.fail("HTTP response body too large", 0)
		case errors.As(err, &se) && se.read:
			return r.fail(responseBodyError(ex, err), 0)
		}
		return r.fail("client disconnected while receiving the response: "+describeIOError(err), 0)
	}
	resp.Trailers = trailers
	if body.store {
		resp.RawContent = body.stored
		if resp.RawContent == nil {
			resp.RawContent = []byte{}
		}
	}
	resp.TimestampEnd = nowSeconds()
	if err := ex.waitRequest(); err != nil {
		ex.finish(false)
		return r.requestFailed(err)
	}
	if ex.reusable() {
		ex.finish(true)
	}
	r.m.Response(f)
	if !ex.reusable() {
		// Completed: closed, its buffers back for the next connection.
		ex.finish(true)
	}
	f.SetLive(false)
	return ex.reusable()
}

// switchProtocols completes a 101 Switching Protocols exchange: the
// response hook, then the WebSocket layer (websocket.go) for a WebSocket
// handshake with the websocket option on, else bytes relayed both ways.
func (r *flowRun) switchProtocols(ex serverExchange) bool {
	f, m := r.f, r.m
	resp := f.Response
	resp.RawContent = []byte{}
	resp.TimestampEnd = nowSeconds()
	// A WebSocket handshake, as mitmproxy tells one.
	isWebSocket := strings.EqualFold(resp.Headers.Get("upgrade"), "websocket") &&
		f.Request.Headers.Get("sec-websocket-version") == "13" && r.cfg.WebSocket
	if isWebSocket {
		// As mitmproxy, the flow carries its WebSocket data from the
		// response hook on.
		f.WebSocket = &flow.WebSocketData{}
	}
	m.Response(f)
	if !r.afterHook() {
		ex.finish(false)
		return false
	}
	server := ex.serverStream()
	_ = r.cs.switchProtocols(resp, func(client *stream) {
		if isWebSocket {
			r.webSocket(client, server)
			return
		}
		if r.cfg.Debug {
			r.cc.log().Debug("protocol switched: relaying bytes both ways until both sides close")
		}
		relay(client, server, &r.cc.s.bodies)
	})
	ex.finish(false)
	f.SetLive(false)
	return false
}
