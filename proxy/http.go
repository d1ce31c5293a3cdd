package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"html"
	"net"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// tunnel describes where origin-form requests go when HTTP runs inside a
// CONNECT tunnel (after TLS interception).
type tunnel struct {
	scheme string
	host   string
	port   int
	server *flow.Server
}

// httpLoop serves HTTP/1 requests on the client connection until it closes.
func (cc *clientConn) httpLoop(tun *tunnel) {
	for {
		if !cc.setState(stateIdle) {
			return
		}
		cfg := cc.s.Config()
		head, err := h1.ReadRequestHead(cc.br, h1.DefaultMaxHeaderBytes, cfg.headOptions()...)
		if err == nil {
			err = cfg.validate(head.Headers)
		}
		if err != nil {
			if ioDone(err) {
				if cc.debug() {
					cc.log.Debug("client connection done: " + describeIOError(err))
				}
				return
			}
			cc.log.Info(fmt.Sprintf("Bad HTTP request: %v", err))
			cc.sendErrorPage(400, fmt.Sprintf("Bad HTTP request: %v", err))
			return
		}
		if !cc.setState(stateBusy) {
			return
		}
		if cc.debug() {
			cc.log.Debug(fmt.Sprintf("request head: %s %s %s, %d header fields", head.Method, truncateString(head.Target, 200), head.Proto, len(head.Headers)))
		}
		more := cc.handleRequest(head, tun)
		if !more && cc.debug() {
			cc.log.Debug("client connection not kept alive after this request")
		}
		cc.recycleBodies()
		if !more {
			return
		}
	}
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

// sendErrorPage answers the client with an error page; the connection is
// closed afterwards.
func (cc *clientConn) sendErrorPage(status int, msg string) {
	if cc.writeResponse(errorPage(status, msg), false) == nil {
		_ = cc.bw.Flush()
	}
}

// writeResponse writes a complete response to the client. What it leaves in
// cc.bw is not flushed.
func (cc *clientConn) writeResponse(r *flow.Response, headRequest bool) error {
	head := h1.AppendResponseHead(cc.bw.AvailableBuffer(), r.HTTPVersion, r.StatusCode, r.Reason, r.Headers)
	if headRequest || r.StatusCode/100 == 1 || r.StatusCode == 204 || r.StatusCode == 304 {
		_, err := cc.bw.Write(head)
		return err
	}
	return writeMessage(cc.bw, cc.direct, head, r.RawContent, r.Trailers, r.Headers)
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
// as from bw.AvailableBuffer) and its whole body, framed as its headers say.
// What it leaves in bw is not flushed.
func writeMessage(bw *bufio.Writer, direct directWriter, head, body []byte, trailers, h flow.Headers) error {
	_, chunked := transferChunked(h)
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

func transferChunked(h flow.Headers) (present, chunked bool) {
	te, ok := h.Lookup("transfer-encoding")
	if !ok {
		return false, false
	}
	parts := strings.Split(te, ",")
	return true, strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "chunked")
}

// wantsClose reports whether a message asks for its connection to close
// after it (RFC 9112 §9.3).
func wantsClose(proto string, h flow.Headers) bool {
	c := strings.ToLower(h.Get("connection"))
	if proto == "HTTP/1.0" {
		return !strings.Contains(c, "keep-alive")
	}
	return strings.Contains(c, "close")
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
	j := strings.IndexAny(rest, "/?")
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

// splitAuthority parses host[:port], with bracketed IPv6 literals.
func splitAuthority(a string, defPort int) (string, int, error) {
	if a == "" {
		return "", 0, errors.New("empty host in request target")
	}
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

// handleRequest runs one request through the addons and upstream. It
// reports whether the client connection may carry another request.
func (cc *clientConn) handleRequest(head *h1.RequestHead, tun *tunnel) bool {
	m := cc.s.m
	cfg := cc.s.Config()
	f := flow.NewHTTPFlow(cc.client, nil)
	req := &flow.Request{
		Message: flow.Message{HTTPVersion: head.Proto, Headers: head.Headers, TimestampStart: nowSeconds()},
		Method:  head.Method,
	}
	f.Request = req

	if head.Method == "CONNECT" {
		if tun != nil {
			cc.sendErrorPage(400, "CONNECT inside a CONNECT tunnel is not supported")
			return false
		}
		return cc.handleConnect(f, head)
	}
	switch {
	case tun != nil && strings.HasPrefix(head.Target, "/") || tun != nil && head.Target == "*":
		req.Scheme, req.Host, req.Port, req.Path = tun.scheme, tun.host, tun.port, head.Target
	case strings.HasPrefix(head.Target, "/") || head.Target == "*":
		// Origin form outside a tunnel. As mitmproxy, the Host header
		// says where it goes, unless it names the proxy itself: then it is
		// a plain request to the proxy, most likely a browser pointed at
		// the proxy as if it were a web server.
		hostHeader, ok := req.Headers.Lookup("host")
		if !ok {
			cc.log.Info(fmt.Sprintf("Bad HTTP request: %s %s without a Host header", head.Method, truncateString(head.Target, 100)))
			cc.sendErrorPage(400, "HTTP request has no host header, destination unknown.")
			return false
		}
		host, port, err := splitAuthority(hostHeader, 80)
		// The address the client reached us at counts as our own too: a
		// proxy listening on all interfaces, asked for itself by a LAN
		// address, would otherwise connect to itself, again and again.
		own := err == nil && (cc.s.isOwnAddress(flow.Address{Host: host, Port: port}) ||
			host == cc.client.Sockname.Host && port == cc.client.Sockname.Port)
		if err != nil || own {
			cc.log.Info(fmt.Sprintf("Not a proxy request: %s %s", head.Method, truncateString(head.Target, 100)))
			cc.sendErrorPage(400, "This is mitmgo, an HTTP proxy, not a web server. Configure your client to use "+
				cc.client.Sockname.String()+" as its HTTP(S) proxy; requests to it must use absolute URLs (GET http://example.com/ HTTP/1.1).")
			return false
		}
		req.Scheme, req.Host, req.Port, req.Path = "http", host, port, head.Target
	default:
		scheme, authority, host, port, path, err := parseTarget(head.Target)
		if err != nil {
			cc.log.Info(fmt.Sprintf("Bad HTTP request: %v", err))
			cc.sendErrorPage(400, fmt.Sprintf("Bad HTTP request: %v", err))
			return false
		}
		req.Scheme, req.Authority, req.Host, req.Port, req.Path = scheme, authority, host, port, path
	}
	// The flow's server is the connection the request will most likely go
	// over: the tunnel's, a kept one to the same server (as in mitmproxy,
	// flows on one server connection share its id), else the one to be
	// opened.
	if tun != nil && tun.server != nil {
		f.ServerConn = tun.server
	} else if sc := cc.peekUpstream(upstreamKey{req.Scheme, req.Host, req.Port}); sc != nil {
		f.ServerConn = sc.server
	} else {
		f.ServerConn = flow.NewServer(flow.Address{Host: req.Host, Port: req.Port})
	}

	if head.Proto == "HTTP/1.1" && strings.EqualFold(req.Headers.Get("expect"), "100-continue") {
		// As mitmproxy: answer the expectation ourselves, so the body arrives
		// before the addons see the request, and do not forward it.
		cc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := cc.bw.Flush(); err != nil {
			return cc.failFlow(f, "client disconnected", 0)
		}
		req.Headers.Del("expect")
	}

	// The body is framed as the client sent it, whatever the addons do to
	// the headers.
	framing, err := h1.RequestFraming(req.Headers)
	if err != nil {
		cc.log.Info(fmt.Sprintf("Bad HTTP request: %v", err))
		cc.sendErrorPage(400, fmt.Sprintf("Bad HTTP request: %v", err))
		return false
	}
	m.RequestHeaders(f)
	if !cc.afterHook(f) {
		return false
	}
	var streamBody *bodyStream
	if req.Stream || exceeds(framing, cfg.StreamLargeBodies) {
		streamBody = newBodyStream(cc.br, framing, nil, cfg)
	} else {
		body, trailers, tail, err := cc.readBody(cc.br, framing, cfg)
		switch {
		case errors.Is(err, h1.ErrBodyTooLarge):
			cc.sendErrorPage(413, fmt.Sprintf("Request body exceeds the body_size_limit (%d bytes)", cfg.BodySizeLimit))
			return cc.failFlow(f, fmt.Sprintf("HTTP request body too large (body_size_limit is %d bytes)", cfg.BodySizeLimit), 0)
		case err != nil:
			return cc.failFlow(f, "client disconnected while sending the request body: "+describeIOError(err), 0)
		case tail != nil:
			streamBody = tail
		default:
			req.RawContent, req.Trailers = body, trailers
			req.TimestampEnd = nowSeconds()
		}
	}

	if streamBody == nil {
		m.Request(f)
		if !cc.afterHook(f) {
			return false
		}
		if f.Response != nil {
			return cc.answerFromAddon(f)
		}
	}
	return cc.forward(f, streamBody, cfg)
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// afterHook checks a flow after a hook: waits while it is intercepted and
// reports false (the connection must close) when it was killed.
func (cc *clientConn) afterHook(f *flow.HTTPFlow) bool {
	if f.IsIntercepted() {
		if err := f.WaitForResume(cc.ctx()); err != nil {
			cc.failFlow(f, "connection closed while the flow was intercepted", 0)
			return false
		}
	}
	if f.Killed() {
		f.SetLive(false)
		cc.s.m.Error(f)
		return false
	}
	return true
}

// failFlow records an error on the flow, fires the error hook, and (when
// status is non-zero) sends the client an error page. The connection closes.
func (cc *clientConn) failFlow(f *flow.HTTPFlow, msg string, status int) bool {
	if f.Error == nil {
		f.Error = flow.NewError(msg)
	}
	f.SetLive(false)
	if status != 0 {
		cc.sendErrorPage(status, msg)
	}
	cc.s.m.Error(f)
	return false
}

// answerFromAddon sends a response an addon set in the request hook.
func (cc *clientConn) answerFromAddon(f *flow.HTTPFlow) bool {
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
	cc.s.m.ResponseHeaders(f)
	if !cc.afterHook(f) {
		return false
	}
	cc.s.m.Response(f)
	if !cc.afterHook(f) {
		return false
	}
	resp = f.Response
	if resp.HTTPVersion == "" {
		resp.HTTPVersion = "HTTP/1.1"
	}
	if err := cc.writeResponse(resp, f.Request.Method == "HEAD"); err != nil {
		return false
	}
	if err := cc.bw.Flush(); err != nil {
		return false
	}
	f.SetLive(false)
	return !wantsClose(f.Request.HTTPVersion, f.Request.Headers) && !wantsClose(resp.HTTPVersion, resp.Headers)
}

func exceeds(fr h1.Framing, threshold int64) bool {
	return threshold >= 0 && fr.Kind == h1.Length && fr.Length > threshold
}
