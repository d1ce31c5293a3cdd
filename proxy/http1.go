package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"html"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// serveHTTP1 is the HTTP/1 layer: it reads requests from st until the
// connection closes and runs each as a flow, one at a time. t is where
// origin-form requests go (nil: a proxy connection, outside a tunnel).
//
// A CONNECT request makes the connection a tunnel: serveHTTP1 answers it
// and returns the tunnel's layers to run, for its caller to run once this
// layer's frames are off the stack. An idle connection in a tunnel waits at
// the bottom of that stack, and the runtime halves a goroutine's stack
// only while less than a quarter of it is used: run from inside this
// layer, the tunnel kept 1.5 KiB of frames (this layer, h1Request,
// handleConnect) under every idle HTTPS connection.
//
// moved: the wait for the next request was interrupted to move the
// connection to the idle watch (see serveRegular and parkIn); only a
// movable connection is, outside a tunnel or in an intercepted TLS one
// (clientConn.tunnelMovable).
func (cc *clientConn) serveHTTP1(st *stream, t *target) (tunnel tunnelLayers, moved bool) {
	watcher := &clientWatch{st: st, idle: cc.s.Config().IdleTimeout}
	defer watcher.release()
	movable := cc.movable && (t == nil || cc.tunnelMovable(st))
	// Each request's head is read into this one, which stays on the stack
	// (nothing keeps a pointer to it past its request).
	var headBuf h1.RequestHead
	for {
		if !cc.setState(stateIdle) {
			return
		}
		cfg := cc.s.Config()
		if movable {
			// The deadline is refreshed before the wait is marked
			// movable, so that the wait's own refresh finds nothing to
			// do: it would push out the deadline in the past with which
			// Server.moveIdle interrupts the wait, and the connection
			// would stay in its wait, counted as moving.
			cc.conn.refresh()
			cc.park.Store(parkIdle)
		}
		// Between requests the connection holds no buffers, and one that
		// ends there (most do: the client closes an idle connection) does
		// not take them again.
		err := st.idleUntilReadable(movable)
		// A wait the move interrupted ends in a timeout, or with data
		// that came just then. Any other error ends the connection here,
		// moved or not: on an intercepted TLS connection it may live only
		// in the TLS session (a close_notify), with nothing left on the
		// socket to wake the idle watch (review).
		if movable && cc.unpark() && (err == nil || isTimeout(err)) {
			return nil, true
		}
		if err != nil {
			cc.idleDone(err)
			return
		}
		// Bound the time a head may take to arrive, unless it is here
		// already: setting and lifting the bound costs two read
		// deadlines, which are runtime timer updates under a lock.
		limited := cfg.RequestHeadTimeout > 0 && !h1.HeadBuffered(st.r)
		if limited {
			cc.conn.limitHead(time.Now().Add(cfg.RequestHeadTimeout))
		}
		head := &headBuf
		err = h1.ReadRequestHeadInto(st.r, h1.DefaultMaxHeaderBytes, head, cfg.headOptions()...)
		if limited {
			cc.conn.limitHead(time.Time{})
		}
		// With validate_inbound_headers on, the head is validated and
		// its body framed in one look at its fields; with it off, it is
		// framed later, after the 100 Continue some clients wait for.
		var framing *h1.Framing
		if err == nil && cfg.ValidateInboundHeaders {
			var fr h1.Framing
			fr, err = h1.ValidateRequestFraming(head.Proto, head.Headers)
			framing = &fr
		}
		if err != nil {
			cc.headFailed(st, err, cfg)
			return
		}
		if !cc.setState(stateBusy) {
			return
		}
		if cfg.Debug {
			cc.logRequestHead(head)
		}
		more, clean, next := cc.h1Request(st, head, framing, t, cfg, watcher)
		// An idle connection keeps nothing of its last request.
		headBuf = h1.RequestHead{}
		if next != nil {
			return next, false
		}
		if !more {
			if cfg.Debug {
				cc.log().Debug("client connection not kept alive after this request")
			}
			if clean {
				// The stream's buffers go back for the next connection (a
				// new TLS connection per request took eight 32 KiB buffers
				// and gave four back). Only after a flow that completed:
				// one that failed may leave a goroutine reading the
				// client's request body until the connection closes.
				st.park()
			}
			return
		}
	}
}

// The rare outcomes of serveHTTP1 and h1Request are out of line: see
// flowRun.forward.

// headFailed ends a connection whose next request head could not be read.
//
//go:noinline
func (cc *clientConn) headFailed(st *stream, err error, cfg *Config) {
	if ioDone(err) {
		if cfg.Debug {
			cc.log().Debug("client connection done: " + describeIOError(err))
		}
		return
	}
	cc.badRequest(st, err)
}

// badRequest answers a request that cannot be served with 400.
//
//go:noinline
func (cc *clientConn) badRequest(st *stream, err error) {
	cc.log().Info(fmt.Sprintf("Bad HTTP request: %v", err))
	sendErrorPage(st, 400, fmt.Sprintf("Bad HTTP request: %v", err))
}

// logRequestHead logs a request head (debug).
//
//go:noinline
func (cc *clientConn) logRequestHead(head *h1.RequestHead) {
	cc.log().Debug(fmt.Sprintf("request head: %s %s %s, %d header fields", head.Method, truncateString(head.Target, 200), head.Proto, len(head.Headers)))
}

// h1Connect serves a CONNECT request (h1Request).
//
//go:noinline
func (cc *clientConn) h1Connect(st *stream, f *flow.HTTPFlow, head *h1.RequestHead, t *target, cfg *Config) (more, clean bool, tunnel tunnelLayers) {
	if t != nil {
		sendErrorPage(st, 400, cc.connectInTunnelMessage())
		return false, true, nil
	}
	return false, false, cc.handleConnect(st, f, head, cfg)
}

// continue100 answers a request's Expect: 100-continue itself, as
// mitmproxy, so that the body arrives before the addons see the request,
// and takes the expectation off the request. It reports false when the
// client went away.
//
//go:noinline
func (cc *clientConn) continue100(st *stream, f *flow.HTTPFlow) bool {
	st.w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	if err := st.flush(); err != nil {
		f.Error = flow.NewError("client disconnected")
		f.SetLive(false)
		cc.s.m.Error(f)
		return false
	}
	f.Request.Headers.Del("expect")
	return true
}

// requestFraming frames a request body the head's validation did not
// (validate_inbound_headers off), answering 400 when it cannot be.
//
//go:noinline
func (cc *clientConn) requestFraming(st *stream, h flow.Headers) (*h1.Framing, bool) {
	fr, err := h1.RequestFraming(h)
	if err != nil {
		cc.badRequest(st, err)
		return nil, false
	}
	return &fr, true
}

// h1Request runs one HTTP/1 request as a flow. It reports whether the
// client connection may carry another request, and whether the exchange
// ended cleanly (its flow completed: nothing reads the stream any more);
// for a CONNECT request that opened a tunnel, the tunnel to serve.
// framing is the request body's, when the head's validation found it
// (nil: not framed yet).
func (cc *clientConn) h1Request(st *stream, head *h1.RequestHead, framing *h1.Framing, t *target, cfg *Config, watcher *clientWatch) (more, clean bool, tunnel tunnelLayers) {
	f := flow.NewHTTPFlow(cc.client, nil)
	req := &flow.Request{
		Message: flow.Message{HTTPVersion: head.Proto, Headers: head.Headers, TimestampStart: nowSeconds()},
		Method:  head.Method,
	}
	f.Request = req
	if head.Method == "CONNECT" {
		return cc.h1Connect(st, f, head, t, cfg)
	}
	if !cc.h1Destination(st, req, head, t) {
		return false, true, nil
	}
	// Whether the client's connection may carry another request follows
	// what the client sent, whatever the addons do to the headers.
	reqClose := wantsClose(req.HTTPVersion, req.Headers)
	// The flow's server is the connection the request will most likely go
	// over: the tunnel's, a kept one to the same server (as in mitmproxy,
	// flows on one server connection share its id), else the one to be
	// opened.
	if t != nil && t.server != nil {
		f.ServerConn = t.server
	} else if sc := cc.up.peek(upstreamKey{req.Scheme, req.Host, req.Port}); sc != nil {
		f.ServerConn = sc.server
	} else {
		f.ServerConn = flow.NewServer(flow.Address{Host: req.Host, Port: req.Port})
	}

	if head.Proto == "HTTP/1.1" && strings.EqualFold(req.Headers.Get("expect"), "100-continue") && !cc.continue100(st, f) {
		return false, true, nil
	}

	// The body is framed as the client sent it, whatever the addons do to
	// the headers.
	if framing == nil {
		var ok bool
		if framing, ok = cc.requestFraming(st, req.Headers); !ok {
			return false, true, nil
		}
	}
	// One allocation for the exchange's parts: this runs for every
	// request.
	x := &struct {
		run  flowRun
		cs   h1Responder
		body h1Body
	}{cs: h1Responder{st: st, watcher: watcher}, body: h1Body{br: st.r, framing: *framing}}
	cs := &x.cs
	cc.initFlowRun(&x.run, f, cs, t, cfg)
	ok := x.run.run(&x.body)
	// The flow is not read once it is done: a command may be editing it.
	return ok && !cs.closeAfter && !reqClose, ok, nil
}

// h1Destination fills in where req goes from its target: absolute form, or
// origin form inside a tunnel or with a Host header. It answers the client
// itself and reports false when the request cannot go anywhere.
func (cc *clientConn) h1Destination(st *stream, req *flow.Request, head *h1.RequestHead, t *target) bool {
	switch {
	case t != nil && (strings.HasPrefix(head.Target, "/") || head.Target == "*"):
		req.Scheme, req.Host, req.Port, req.Path = t.scheme, t.host, t.port, head.Target
	case strings.HasPrefix(head.Target, "/") || head.Target == "*":
		// Origin form outside a tunnel. As mitmproxy, the Host header
		// says where it goes, unless it names the proxy itself: then it is
		// a plain request to the proxy, most likely a browser pointed at
		// the proxy as if it were a web server.
		hostHeader, ok := req.Headers.Lookup("host")
		if !ok {
			cc.noHostHeader(st, head)
			return false
		}
		host, port, err := splitAuthority(hostHeader, 80)
		// The address the client reached us at counts as our own too: a
		// proxy listening on all interfaces, asked for itself by a LAN
		// address, would otherwise connect to itself, again and again.
		own := err == nil && (cc.s.self.isOwn(flow.Address{Host: host, Port: port}) ||
			sameAddr(host, cc.client.Sockname.Host) && port == cc.client.Sockname.Port)
		if err != nil || own {
			cc.notProxyRequest(st, head)
			return false
		}
		req.Scheme, req.Host, req.Port, req.Path = "http", host, port, head.Target
	default:
		scheme, authority, host, port, path, err := parseTarget(head.Target)
		if err != nil {
			cc.badRequest(st, err)
			return false
		}
		req.Scheme, req.Authority, req.Host, req.Port, req.Path = scheme, authority, host, port, path
	}
	return true
}

// noHostHeader answers an origin-form request without a Host header.
//
//go:noinline
func (cc *clientConn) noHostHeader(st *stream, head *h1.RequestHead) {
	cc.log().Info(fmt.Sprintf("Bad HTTP request: %s %s without a Host header", head.Method, truncateString(head.Target, 100)))
	sendErrorPage(st, 400, "HTTP request has no host header, destination unknown.")
}

// notProxyRequest answers a request to the proxy itself.
//
//go:noinline
func (cc *clientConn) notProxyRequest(st *stream, head *h1.RequestHead) {
	cc.log().Info(fmt.Sprintf("Not a proxy request: %s %s", head.Method, truncateString(head.Target, 100)))
	sendErrorPage(st, 400, "This is mitmgo, an HTTP proxy, not a web server. Configure your client to use "+
		cc.client.Sockname.String()+" as its HTTP(S) proxy; requests to it must use absolute URLs (GET http://example.com/ HTTP/1.1).")
}

// h1Responder answers one HTTP/1 request on the client's stream.
type h1Responder struct {
	st      *stream
	watcher *clientWatch
	// closeAfter is set when what was sent ends only with the connection
	// (a body without Content-Length or chunking), or nothing could be.
	closeAfter bool
}

func (w *h1Responder) interim(status int, reason string, h flow.Headers) error {
	h1.WriteResponseHead(w.st.w, "HTTP/1.1", status, reason, h)
	return w.st.flush()
}

func (w *h1Responder) respond(r *flow.Response, headRequest bool) error {
	r = asHTTP1Response(r, false)
	if wantsClose(r.HTTPVersion, r.Headers) {
		w.closeAfter = true
	}
	chunked := h1.IsChunked(r.Headers)
	if !headRequest && bodyAllowed(r.StatusCode) && !chunked && !hasLength(r.Headers) {
		w.closeAfter = true
	}
	err := writeResponseChunked(w.st, r, headRequest, chunked)
	if err == nil {
		err = w.st.flush()
	}
	if err != nil {
		w.closeAfter = true
	}
	return err
}

func (w *h1Responder) startBody(r *flow.Response) (bodySink, error) {
	r = asHTTP1Response(r, true)
	if wantsClose(r.HTTPVersion, r.Headers) {
		w.closeAfter = true
	}
	h1.WriteResponseHead(w.st.w, r.HTTPVersion, r.StatusCode, r.Reason, r.Headers)
	chunked := h1.IsChunked(r.Headers)
	if !chunked && !hasLength(r.Headers) {
		w.closeAfter = true
	}
	// The head goes out now, as the server sent it: an event stream may
	// stay quiet for minutes before its first event, and its client waits
	// for the head to know the stream is open.
	if err := w.st.flush(); err != nil {
		w.closeAfter = true
		return nil, err
	}
	return h1Sink{w: w.st.w, chunked: chunked}, nil
}

// asHTTP1Response is how a response that came over HTTP/2 goes to an
// HTTP/1 client: version HTTP/1.1, the reason phrase for its status (as
// mitmproxy), and a Content-Length, or chunks when streamed, where it has
// neither (an HTTP/2 body needs none; without one the connection would
// have to close after it). The flow's response is left as it came.
func asHTTP1Response(r *flow.Response, streamed bool) *flow.Response {
	if r.HTTPVersion != "HTTP/2.0" && r.HTTPVersion != "HTTP/3" {
		return r
	}
	return h2AsHTTP1Response(r, streamed)
}

// h2AsHTTP1Response is asHTTP1Response of an HTTP/2 or HTTP/3 response (out
// of line: every HTTP/1 response asks, few are).
//
//go:noinline
func h2AsHTTP1Response(r *flow.Response, streamed bool) *flow.Response {
	c := *r
	c.HTTPVersion, c.Reason = "HTTP/1.1", flow.ReasonPhrase(r.StatusCode)
	if bodyAllowed(r.StatusCode) && !hasFraming(r.Headers) {
		c.Headers = r.Headers.Clone()
		if streamed || len(r.Trailers) > 0 {
			c.Headers.Add("transfer-encoding", "chunked")
		} else {
			c.Headers.Add("content-length", strconv.Itoa(len(r.RawContent)))
		}
	}
	return &c
}

// asHTTP1Request is the head of a request that came over HTTP/2 as it goes
// to an HTTP/1 server, as mitmproxy forms it: HTTP/1.1, a Host header from
// the authority, Cookie headers joined into one (HTTP/1 allows only one);
// and a Content-Length, or chunks when streamed or with trailers, where
// it has neither. The flow's request is left as it came.
func asHTTP1Request(req *flow.Request, streamed bool) (proto string, h flow.Headers) {
	if req.HTTPVersion != "HTTP/2.0" && req.HTTPVersion != "HTTP/3" {
		return req.HTTPVersion, req.Headers
	}
	return "HTTP/1.1", h2AsHTTP1Headers(req, streamed)
}

// h2AsHTTP1Headers is the header part of asHTTP1Request for an HTTP/2 or
// HTTP/3 request (out of line, as h2AsHTTP1Response).
//
//go:noinline
func h2AsHTTP1Headers(req *flow.Request, streamed bool) flow.Headers {
	h := req.Headers.Clone()
	if !h.Has("host") && req.Authority != "" {
		h.Insert(0, "Host", req.Authority)
	}
	if cookies := h.GetAll("cookie"); len(cookies) > 1 {
		h.Set("cookie", strings.Join(cookies, "; "))
	}
	if !hasFraming(h) {
		switch {
		case streamed || len(req.Trailers) > 0:
			h.Add("transfer-encoding", "chunked")
		case len(req.RawContent) > 0:
			h.Add("content-length", strconv.Itoa(len(req.RawContent)))
		}
	}
	return h
}

func (w *h1Responder) errorPage(status int, msg string) {
	w.closeAfter = true
	sendErrorPage(w.st, status, msg)
}

func (w *h1Responder) watch(r *flowRun) { w.watcher.start(r) }
func (w *h1Responder) unwatch()         { w.watcher.stop() }

func (w *h1Responder) switchProtocols(r *flow.Response, carry func(client *stream)) error {
	w.closeAfter = true
	h1.WriteResponseHead(w.st.w, r.HTTPVersion, r.StatusCode, r.Reason, r.Headers)
	if err := w.st.flush(); err != nil {
		return err
	}
	carry(w.st)
	return nil
}

// bodyAllowed reports whether a response with this status may have a body.
func bodyAllowed(status int) bool {
	return status/100 != 1 && status != 204 && status != 304
}

// hasFraming reports whether headers delimit a body by themselves.
func hasFraming(h flow.Headers) bool {
	return hasLength(h) || h1.IsChunked(h)
}

// hasLength reports whether headers have a Content-Length, as
// h.Has("content-length") would ("content-length" has no k or s, see
// h1.IsFieldName).
func hasLength(h flow.Headers) bool {
	for _, f := range h {
		if h1.IsFieldName(f.Name, "content-length") {
			return true
		}
	}
	return false
}

// errorPage builds the small HTML page the proxy answers with when it
// cannot forward a request, in mitmproxy's shape.
func errorPage(status int, msg string) *flow.Response {
	reason := flow.ReasonPhrase(status)
	body := fmt.Sprintf("<html>\n<head>\n    <title>%d %s</title>\n</head>\n<body>\n    <h1>%d %s</h1>\n    <p>%s</p>\n</body>\n</html>\n",
		status, reason, status, reason, html.EscapeString(msg))
	r := flow.NewResponse(status, []byte(body), flow.NewHeaders(
		"Server", "mitmgo "+Version,
		"Connection", "close",
		"Content-Type", "text/html",
	))
	return r
}

// sendErrorPage answers an HTTP/1 client with an error page; the connection
// is closed afterwards.
func sendErrorPage(st *stream, status int, msg string) {
	if writeResponse(st, errorPage(status, msg), false) == nil {
		_ = st.flush()
	}
}

// writeResponse writes a complete HTTP/1 response. What it leaves in st.w
// is not flushed.
func writeResponse(st *stream, r *flow.Response, headRequest bool) error {
	return writeResponseChunked(st, r, headRequest, h1.IsChunked(r.Headers))
}

// writeResponseChunked is writeResponse for a caller that knows whether
// r's headers ask for chunks (h1.IsChunked): read once per response.
func writeResponseChunked(st *stream, r *flow.Response, headRequest, chunked bool) error {
	head := h1.AppendResponseHead(st.w.AvailableBuffer(), r.HTTPVersion, r.StatusCode, r.Reason, r.Headers)
	if headRequest || !bodyAllowed(r.StatusCode) {
		_, err := st.w.Write(head)
		return err
	}
	return writeMessage(st.w, st.direct, head, r.RawContent, r.Trailers, chunked)
}

// largeBody is the body size from which a message goes out through the
// connection's directWriter instead of being copied through its
// bufio.Writer.
const largeBody = 16 << 10

// directWriter sends a message head and a large body at once, with one
// system call, bypassing the connection's bufio.Writer (which would copy
// the body and take two writes): idleConn with writev, tlsWriter by
// gathering the records.
type directWriter interface {
	writeHeadBody(head, body []byte) error
}

// writeMessage writes a message head (which may point into bw's free space,
// as from bw.AvailableBuffer) and its whole body, in chunks when its
// headers say so (chunked: h1.IsChunked of them). What it leaves in bw is
// not flushed.
func writeMessage(bw *bufio.Writer, direct directWriter, head, body []byte, trailers flow.Headers, chunked bool) error {
	if !chunked && len(body) >= largeBody && bw.Buffered() == 0 && direct != nil {
		return direct.writeHeadBody(head, body)
	}
	if _, err := bw.Write(head); err != nil {
		return err
	}
	if chunked || len(body) > 0 {
		h1.WriteBody(bw, chunked, body, trailers)
	}
	return nil
}

// wantsClose reports whether a message asks for its connection to close
// after it (RFC 9112 §9.3).
//
// It runs for every message, several times: the fields are looked at one
// by one instead of through Headers.Get, which folds names with
// strings.EqualFold and joins the values. The same answer: "connection"
// has no k or s (see h1.IsFieldName), and neither token spans the ", " Get
// would join fields with.
func wantsClose(proto string, h flow.Headers) bool {
	want := "close"
	if proto == "HTTP/1.0" {
		want = "keep-alive"
	}
	found := false
	for _, f := range h {
		if h1.IsFieldName(f.Name, "connection") && strings.Contains(strings.ToLower(f.Value), want) {
			found = true
			break
		}
	}
	if proto == "HTTP/1.0" {
		return !found
	}
	return found
}

// parseTarget splits an absolute-form request target.
func parseTarget(target string) (scheme, authority, host string, port int, path string, err error) {
	i := strings.Index(target, "://")
	if i <= 0 {
		return "", "", "", 0, "", fmt.Errorf("invalid request target %q", target)
	}
	scheme = strings.ToLower(target[:i])
	if scheme != "http" && scheme != "https" {
		return "", "", "", 0, "", fmt.Errorf("unsupported scheme %q in request target", scheme)
	}
	rest := target[i+3:]
	j := authorityEnd(rest)
	if j < 0 {
		authority, path = rest, "/"
	} else {
		authority, path = rest[:j], rest[j:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	if k := strings.LastIndexByte(authority, '@'); k >= 0 {
		authority = authority[k+1:]
	}
	host, port, err = splitAuthority(authority, defaultPortFor(scheme))
	return scheme, authority, host, port, path, err
}

func defaultPortFor(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// authorityEnd is the index of the first '/' or '?' in s, or -1: where the
// authority of an absolute-form target ends. (strings.IndexAny builds its
// set of bytes on every call, and this runs for every proxied request.)
func authorityEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == '?' {
			return i
		}
	}
	return -1
}

// splitAuthority parses host[:port], with bracketed IPv6 literals.
func splitAuthority(a string, defPort int) (string, int, error) {
	if a == "" {
		return "", 0, errors.New("empty host in request target")
	}
	if host, port, ok := splitHostPortFast(a); ok {
		return host, port, nil
	}
	return splitAuthoritySlow(a, defPort)
}

// splitAuthoritySlow is splitAuthority for any authority.
func splitAuthoritySlow(a string, defPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(a)
	if err != nil {
		// No port.
		h := strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
		if strings.ContainsAny(h, "/ ") {
			return "", 0, fmt.Errorf("invalid host %q", a)
		}
		return h, defPort, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port in %q", a)
	}
	if host == "" {
		return "", 0, fmt.Errorf("empty host in %q", a)
	}
	return host, port, nil
}

// splitHostPortFast is splitAuthority for what nearly every request
// names, a host without brackets or other colons and a port of one to
// five digits in range: the answer net.SplitHostPort and strconv.Atoi
// give, without their general cases (350 of a proxied request's
// instructions, callgrind). ok is false for anything else.
func splitHostPortFast(a string) (host string, port int, ok bool) {
	colon := -1
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case ':':
			if colon >= 0 {
				return "", 0, false
			}
			colon = i
		case '[', ']':
			return "", 0, false
		}
	}
	if colon <= 0 || len(a)-colon-1 < 1 || len(a)-colon-1 > 5 {
		return "", 0, false
	}
	for i := colon + 1; i < len(a); i++ {
		c := a[i]
		if c < '0' || c > '9' {
			return "", 0, false
		}
		port = port*10 + int(c-'0')
	}
	if port == 0 || port > 65535 {
		return "", 0, false
	}
	return a[:colon], port, true
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
