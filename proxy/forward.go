package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// forward sends the request upstream and the response back, firing the
// response hooks. reqStream is set when the request body is streamed.
func (cc *clientConn) forward(f *flow.HTTPFlow, reqStream *bodyStream, cfg *Config) bool {
	m := cc.s.m
	req := f.Request
	key := upstreamKey{req.Scheme, req.Host, req.Port}
	var sc *serverConn
	var rh *h1.ResponseHead
	if cc.tunnelErr != nil {
		return cc.failFlow(f, cc.tunnelErr.Error(), 502)
	}
	for attempt := 0; ; attempt++ {
		sc = cc.takeUpstream(key)
		reused := sc != nil
		if reused && cc.debug() {
			cc.log.Debug("reusing the kept connection to " + sc.server.Address.String())
		}
		if sc == nil {
			var err error
			sc, err = cc.connectUpstream(f, req.Scheme, req.Host, req.Port, cfg)
			if err != nil {
				return cc.failFlow(f, err.Error(), 502)
			}
		}
		f.ServerConn = sc.server
		err := cc.writeRequest(sc, req, reqStream)
		if err == nil {
			rh, err = cc.readResponseHead(sc)
		}
		if err == nil {
			break
		}
		cc.closeServer(sc)
		var se *streamError
		if errors.As(err, &se) && se.read {
			return cc.failFlow(f, "client disconnected while sending the request body: "+describeIOError(err), 0)
		}
		if reused && reqStream == nil && attempt == 0 && ioDone(err) && !isTimeout(err) {
			// The server closed a kept-alive connection before we used it:
			// the request never reached it, so retry on a new connection.
			if cc.debug() {
				cc.log.Debug("the kept connection was closed by the server (" + describeIOError(err) + "); retrying on a new one")
			}
			continue
		}
		return cc.failFlow(f, "server "+sc.server.Address.String()+": "+describeResponseError(err), 502)
	}

	resp := &flow.Response{
		Message:    flow.Message{HTTPVersion: rh.Proto, Headers: rh.Headers, TimestampStart: nowSeconds()},
		StatusCode: rh.Status,
		Reason:     rh.Reason,
	}
	f.Response = resp
	// Framing and connection reuse follow what the server sent, whatever the
	// addons do to the headers afterwards.
	framing, ferr := h1.ResponseFraming(req.Method, rh.Status, rh.Headers)
	serverKeep := ferr == nil && framing.Kind != h1.UntilClose && !wantsClose(rh.Proto, rh.Headers) && !wantsClose(req.HTTPVersion, req.Headers)
	if ferr != nil {
		cc.closeServer(sc)
		f.Response = nil
		return cc.failFlow(f, fmt.Sprintf("server %s sent an invalid response: %v", sc.server.Address, ferr), 502)
	}

	if cc.debug() {
		cc.log.Debug(fmt.Sprintf("response head: %s %d %s, %d header fields, body %s, server connection %s", rh.Proto, rh.Status, rh.Reason,
			len(rh.Headers), framing, map[bool]string{true: "reusable", false: "closed after it"}[serverKeep]))
	}
	m.ResponseHeaders(f)
	if !cc.afterHook(f) {
		cc.closeServer(sc)
		return false
	}
	if rh.Status == 101 {
		return cc.upgrade(f, sc)
	}

	if resp.Stream || exceeds(framing, cfg.StreamLargeBodies) {
		if cc.debug() {
			cc.log.Debug("streaming the response body (" + framing.String() + ")")
		}
		return cc.streamResponse(f, sc, newBodyStream(sc.br, framing, nil, cfg), serverKeep)
	}
	body, trailers, tail, err := cc.readBody(sc.br, framing, cfg)
	switch {
	case errors.Is(err, h1.ErrBodyTooLarge):
		cc.closeServer(sc)
		return cc.failFlow(f, fmt.Sprintf("HTTP response body too large (body_size_limit is %d bytes)", cfg.BodySizeLimit), 502)
	case err != nil:
		cc.closeServer(sc)
		return cc.failFlow(f, "server "+sc.server.Address.String()+" disconnected while sending the response body: "+describeIOError(err), 502)
	case tail != nil:
		if cc.debug() {
			cc.log.Debug(fmt.Sprintf("streaming the response body: more than stream_large_bodies (%d bytes) arrived", cfg.StreamLargeBodies))
		}
		return cc.streamResponse(f, sc, tail, serverKeep)
	}
	resp.RawContent, resp.Trailers = body, trailers
	resp.TimestampEnd = nowSeconds()
	if serverKeep {
		cc.keepUpstream(sc, cfg.MaxUpstreamPerClient)
	}

	m.Response(f)
	if !serverKeep {
		// After the hook, as mitmproxy: the flow is printed before the
		// "server disconnect" line.
		cc.closeServer(sc)
	}
	if !cc.afterHook(f) {
		return false
	}
	resp = f.Response
	if err := cc.writeResponse(resp, req.Method == "HEAD"); err != nil {
		return false
	}
	if err := cc.bw.Flush(); err != nil {
		return false
	}
	f.SetLive(false)
	return framing.Kind != h1.UntilClose && !wantsClose(req.HTTPVersion, req.Headers) && !wantsClose(resp.HTTPVersion, resp.Headers)
}

// streamResponse forwards a response body as it arrives.
func (cc *clientConn) streamResponse(f *flow.HTTPFlow, sc *serverConn, body *bodyStream, serverKeep bool) bool {
	resp := f.Response
	req := f.Request
	h1.WriteResponseHead(cc.bw, resp.HTTPVersion, resp.StatusCode, resp.Reason, resp.Headers)
	_, chunked := transferChunked(resp.Headers)
	trailers, err := body.copyTo(cc.bw, chunked, &cc.s.bodies)
	if err != nil {
		cc.closeServer(sc)
		var se *streamError
		if errors.As(err, &se) && se.read {
			if errors.Is(err, h1.ErrBodyTooLarge) {
				return cc.failFlow(f, "HTTP response body too large", 0)
			}
			return cc.failFlow(f, "server "+sc.server.Address.String()+" disconnected while sending the response body: "+describeIOError(err), 0)
		}
		return cc.failFlow(f, "client disconnected while receiving the response: "+describeIOError(err), 0)
	}
	resp.Trailers = trailers
	if body.store {
		resp.RawContent = body.stored
		if resp.RawContent == nil {
			resp.RawContent = []byte{}
		}
	}
	resp.TimestampEnd = nowSeconds()
	if serverKeep {
		cc.keepUpstream(sc, cc.s.Config().MaxUpstreamPerClient)
	}
	cc.s.m.Response(f)
	if !serverKeep {
		cc.closeServer(sc)
	}
	f.SetLive(false)
	return serverKeep && !wantsClose(req.HTTPVersion, req.Headers) && !wantsClose(resp.HTTPVersion, resp.Headers)
}

// writeRequest sends the request head and body to the server.
func (cc *clientConn) writeRequest(sc *serverConn, req *flow.Request, body *bodyStream) error {
	proto := req.HTTPVersion
	if proto != "HTTP/1.0" && proto != "HTTP/1.1" {
		proto = "HTTP/1.1"
	}
	head := h1.AppendRequestHead(sc.bw.AvailableBuffer(), req.Method, req.Path, proto, req.Headers)
	if body != nil {
		sc.bw.Write(head)
		if err := sc.bw.Flush(); err != nil {
			return err
		}
		_, chunked := transferChunked(req.Headers)
		trailers, err := body.copyTo(sc.bw, chunked, &cc.s.bodies)
		req.Trailers = trailers
		if body.store {
			req.RawContent = body.stored
		}
		req.TimestampEnd = nowSeconds()
		return err
	}
	if err := writeMessage(sc.bw, sc.direct, head, req.RawContent, req.Trailers, req.Headers); err != nil {
		return err
	}
	return sc.bw.Flush()
}

// readResponseHead reads the final response head, passing interim (1xx)
// responses other than 101 through to the client.
func (cc *clientConn) readResponseHead(sc *serverConn) (*h1.ResponseHead, error) {
	for {
		cfg := cc.s.Config()
		rh, err := h1.ReadResponseHead(sc.br, h1.DefaultMaxHeaderBytes, cfg.headOptions()...)
		if err == nil {
			err = cfg.validate(rh.Headers)
		}
		if err != nil {
			return nil, err
		}
		if rh.Status/100 == 1 && rh.Status != 101 {
			h1.WriteResponseHead(cc.bw, rh.Proto, rh.Status, rh.Reason, rh.Headers)
			if err := cc.bw.Flush(); err != nil {
				return nil, &streamError{err: err}
			}
			continue
		}
		return rh, nil
	}
}

func describeResponseError(err error) string {
	var pe *h1.ProtocolError
	var ce *clientCertError
	switch {
	case errors.As(err, &ce):
		return ce.Error()
	case errors.As(err, &pe):
		return "invalid response: " + pe.Msg
	case errors.Is(err, h1.ErrHeaderTooLarge):
		return "response header section too large"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection without sending a complete response"
	case isConnReset(err):
		return "server reset the connection"
	case isTimeout(err):
		return "server timed out (no data within tcp_timeout)"
	}
	return err.Error()
}

// upgrade forwards a 101 Switching Protocols response and then relays raw
// bytes both ways (WebSocket message interception comes later).
func (cc *clientConn) upgrade(f *flow.HTTPFlow, sc *serverConn) bool {
	resp := f.Response
	resp.RawContent = []byte{}
	resp.TimestampEnd = nowSeconds()
	m := cc.s.m
	isWebSocket := strings.EqualFold(resp.Headers.Get("upgrade"), "websocket") && cc.s.m.Options().Bool("websocket")
	if isWebSocket {
		// As mitmproxy, the flow carries its WebSocket data from the
		// response hook on. Messages are relayed but not yet parsed.
		f.WebSocket = &flow.WebSocketData{}
	}
	m.Response(f)
	if !cc.afterHook(f) {
		cc.closeServer(sc)
		return false
	}
	h1.WriteResponseHead(cc.bw, resp.HTTPVersion, resp.StatusCode, resp.Reason, resp.Headers)
	if err := cc.bw.Flush(); err != nil {
		cc.closeServer(sc)
		return false
	}
	if isWebSocket {
		m.WebSocketStart(f)
	}
	if cc.debug() {
		cc.log.Debug("protocol switched: relaying bytes both ways until both sides close")
	}
	relay(cc.br, cc.stream, sc.br, sc.conn, &cc.s.bodies)
	cc.closeServer(sc)
	if isWebSocket {
		f.WebSocket.TimestampEnd = nowSeconds()
		m.WebSocketEnd(f)
	}
	f.SetLive(false)
	return false
}

// relay copies bytes both ways until both directions are done. When one side
// finishes sending, the other side's write half is closed so it sees EOF.
func relay(clientR io.Reader, clientW net.Conn, serverR io.Reader, serverW net.Conn, pool *bodyPool) {
	relayThrough(clientR, clientW, serverR, serverW, pool, nil)
}

// relayThrough is relay with a look at every piece: pass, when not nil, is
// handed each piece and the side it came from, and returns what to send on
// (nothing drops it) or an error that ends the relay. It returns the first
// error either direction met, nil when both ended cleanly.
func relayThrough(clientR io.Reader, clientW net.Conn, serverR io.Reader, serverW net.Conn, pool *bodyPool,
	pass func(fromClient bool, p []byte) ([]byte, error)) error {
	var first struct {
		sync.Mutex
		err error
	}
	note := func(err error) {
		first.Lock()
		if first.err == nil {
			first.err = err
		}
		first.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := copyAndHalfClose(serverW, clientR, pool, pass, true); err != nil {
			note(err)
		}
	}()
	if err := copyAndHalfClose(clientW, serverR, pool, pass, false); err != nil {
		note(err)
	}
	wg.Wait()
	return first.err
}

type closeWriter interface{ CloseWrite() error }

// copyAndHalfClose copies src to dst (through pass, see relayThrough) and
// then closes dst's write half; on an error it closes dst entirely, which
// ends the other direction too. It returns the error.
func copyAndHalfClose(dst net.Conn, src io.Reader, pool *bodyPool, pass func(bool, []byte) ([]byte, error), fromClient bool) error {
	err := pump(src, pool, func(p []byte) error {
		if pass != nil {
			var err error
			if p, err = pass(fromClient, p); err != nil || len(p) == 0 {
				return err
			}
		}
		_, err := dst.Write(p)
		return err
	})
	if err == nil {
		if cw, ok := unwrapConn(dst).(closeWriter); ok {
			if cw.CloseWrite() == nil {
				return nil
			}
		}
	}
	// An error on either side ends both directions.
	dst.Close()
	if c, ok := src.(net.Conn); ok {
		c.Close()
	}
	return err
}

func unwrapConn(c net.Conn) net.Conn {
	if ic, ok := c.(*idleConn); ok {
		return ic.Conn
	}
	return c
}

// handleConnect answers a CONNECT request and tunnels the connection.
func (cc *clientConn) handleConnect(f *flow.HTTPFlow, head *h1.RequestHead) bool {
	m := cc.s.m
	cfg := cc.s.Config()
	req := f.Request
	host, port, err := splitAuthority(head.Target, 0)
	if err != nil || port == 0 {
		cc.sendErrorPage(400, fmt.Sprintf("Bad CONNECT request: target %q must be host:port", head.Target))
		return false
	}
	req.Authority, req.Host, req.Port, req.Scheme, req.Path = head.Target, host, port, "http", ""
	req.RawContent = []byte{}
	req.TimestampEnd = nowSeconds()
	server := flow.NewServer(flow.Address{Host: host, Port: port})
	f.ServerConn = server
	m.HTTPConnect(f)
	if !cc.afterHook(f) {
		return false
	}
	var sc *serverConn
	if f.Response == nil && !cfg.Lazy {
		// Eager connection strategy: connect upstream before accepting
		// the tunnel, so that an unreachable server is reported to the
		// client, and TLS can mirror the server's certificate and ALPN.
		sc, err = cc.connectUpstream(f, "tcp", host, port, cfg)
		if err != nil {
			f.Response = flow.NewResponse(502, []byte(fmt.Sprintf("Cannot connect to %s: %v "+
				"If you plan to redirect requests away from this server, consider setting `connection_strategy` to `lazy` to suppress early connections.",
				net.JoinHostPort(host, strconv.Itoa(port)), err)), nil)
		}
	}
	if f.Response == nil {
		// As mitmproxy: no header at all, which some clients (Android
		// emulators' -http-proxy) need.
		now := nowSeconds()
		f.Response = &flow.Response{
			Message:    flow.Message{HTTPVersion: req.HTTPVersion, Headers: flow.Headers{}, RawContent: []byte{}, TimestampStart: now, TimestampEnd: now},
			StatusCode: 200, Reason: "Connection established",
		}
	}
	f.SetLive(false)
	if f.Response.StatusCode/100 != 2 {
		m.HTTPConnectError(f)
		if cc.writeResponse(f.Response, false) == nil {
			_ = cc.bw.Flush()
		}
		return false
	}
	m.HTTPConnected(f)
	if err := cc.writeResponse(f.Response, false); err != nil || cc.bw.Flush() != nil {
		cc.closeServer(sc)
		return false
	}
	cc.setState(stateBusy)
	cc.interceptTunnel(f, sc, server)
	return false
}
