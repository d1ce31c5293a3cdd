package proxy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http2"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h2"
)

// h2Settings are the HTTP/2 settings of our connections. Keepalive PINGs
// go to servers only, as mitmproxy's http2_ping_keepalive.
func h2Settings(cfg *Config, toServer bool) h2.Settings {
	s := h2.Settings{}
	if toServer {
		s.PingInterval = cfg.H2PingKeepalive
	}
	return s
}

// serveHTTP2 is the HTTP/2 layer towards a client: every stream the client
// opens is a flow, run on its own goroutine, so that one slow stream never
// holds the others. t is where the requests go (nil: a proxy connection,
// where :authority says).
func (cc *clientConn) serveHTTP2(st *stream, t *target) {
	if !cc.setState(stateBusy) {
		return
	}
	conn := st.framedConn()
	// st.r, not conn: see startH2.
	sc := h2.NewServerConn(conn, st.r, h2Settings(cc.s.Config(), false), cc.log().Logger())
	// Shutdown sends GOAWAY: streams in flight finish, new ones are
	// refused, and Serve returns when the last one is done.
	cc.setOnShutdown(sc.Shutdown)
	err := sc.Serve(cc.ctx, func(s *h2.Stream) { cc.h2Stream(s, t) })
	var ce *h2.ConnError
	switch {
	case errors.As(err, &ce):
		// As mitmproxy: a client that breaks the protocol is named.
		cc.log().Info(ce.Error())
	case err != nil && cc.s.Config().Debug:
		cc.log().Debug("HTTP/2 connection closed: " + err.Error())
	}
}

// h2Stream runs one client stream as a flow.
func (cc *clientConn) h2Stream(s *h2.Stream, t *target) {
	cfg := cc.s.Config()
	f := flow.NewHTTPFlow(cc.client, nil)
	cs := &h2Responder{s: s, cc: cc}
	req, err := h2Request(s.Header(), t)
	if err != nil {
		cc.log().Info(fmt.Sprintf("Bad HTTP/2 request: %v", err))
		cs.errorPage(400, "Bad HTTP request: "+err.Error())
		return
	}
	f.Request = req
	if t != nil && t.server != nil {
		f.ServerConn = t.server
	} else if c := cc.up.peek(upstreamKey{req.Scheme, req.Host, req.Port}); c != nil {
		f.ServerConn = c.server
	} else {
		f.ServerConn = flow.NewServer(flow.Address{Host: req.Host, Port: req.Port})
	}
	// The flow's context ends when the client resets its stream, so that
	// the server's stream is reset too, and the flow's error says why.
	ctx, cancel := context.WithCancelCause(cc.ctx)
	defer cancel(nil)
	s.OnReset(cancel)
	run := cc.newFlowRun(f, cs, t, cfg)
	run.ctx = ctx
	run.run(newH2Body(s))
	if !cs.ended {
		// The exchange broke off (a failed server, a kill): the client's
		// stream must not wait for the rest.
		code := http2.ErrCodeCancel
		if f.Killed() {
			code = http2.ErrCodeInternal
		}
		s.Reset(code)
	}
}

// h2Request builds a request from a client's header block, mapping the
// pseudo-header fields as mitmproxy does: :method, :scheme, :path and
// :authority; host and port come from the authority, or from the tunnel
// the stream runs in.
func h2Request(fields []h2.Field, t *target) (*flow.Request, error) {
	req := &flow.Request{Message: flow.Message{HTTPVersion: "HTTP/2.0", TimestampStart: nowSeconds()}}
	i := 0
	for ; i < len(fields) && strings.HasPrefix(fields[i].Name, ":"); i++ {
		switch v := fields[i].Value; fields[i].Name {
		case ":method":
			req.Method = v
		case ":scheme":
			req.Scheme = v
		case ":path":
			req.Path = v
		case ":authority":
			req.Authority = v
		default:
			return nil, fmt.Errorf("unknown pseudo header %s", fields[i].Name)
		}
	}
	if req.Method == "" || req.Scheme == "" || req.Path == "" {
		// HTTP/2 CONNECT (RFC 9113 §8.5) has neither :scheme nor :path.
		return nil, errors.New("required pseudo header is missing (:method, :scheme and :path)")
	}
	req.Headers = make(flow.Headers, 0, len(fields)-i)
	for _, fl := range fields[i:] {
		req.Headers = append(req.Headers, flow.Field{Name: fl.Name, Value: fl.Value})
	}
	authority := req.Authority
	if authority == "" {
		authority = req.Headers.Get("host")
	}
	if t != nil {
		req.Scheme, req.Host, req.Port = t.scheme, t.host, t.port
		return req, nil
	}
	if authority == "" {
		return nil, errors.New("HTTP/2 request has no :authority, destination unknown")
	}
	host, port, err := splitAuthority(authority, defaultPortFor(req.Scheme))
	if err != nil {
		return nil, err
	}
	req.Host, req.Port = host, port
	return req, nil
}

// h2Body is an HTTP/2 message body: the stream's DATA frames, its length
// from content-length where the sender gave one.
type h2Body struct {
	s *h2.Stream
	n int64
}

func newH2Body(s *h2.Stream) *h2Body { return &h2Body{s: s, n: contentLength(s.Header())} }

func (b *h2Body) Read(p []byte) (int, error) { return b.s.Read(p) }
func (b *h2Body) size() int64                { return b.n }
func (b *h2Body) trailers() flow.Headers     { return toHeaders(b.s.Trailers()) }

// contentLength is a header block's content-length, or -1. The h2 package
// has checked that it is well formed and matches the DATA.
func contentLength(fields []h2.Field) int64 {
	for _, f := range fields {
		if f.Name == "content-length" {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func toHeaders(fields []h2.Field) flow.Headers {
	if len(fields) == 0 {
		return nil
	}
	h := make(flow.Headers, 0, len(fields))
	for _, f := range fields {
		if !strings.HasPrefix(f.Name, ":") {
			h = append(h, flow.Field{Name: f.Name, Value: f.Value})
		}
	}
	return h
}

// h2Fields turns message headers into HTTP/2 fields after the pseudo-header
// fields given: names lowercased (HTTP/2 allows no capitals, and HTTP/1
// servers send them), connection-specific fields dropped (RFC 9113
// §8.2.2).
func h2Fields(pseudo []h2.Field, h flow.Headers) []h2.Field {
	out := make([]h2.Field, 0, len(pseudo)+len(h))
	out = append(out, pseudo...)
	for _, f := range h {
		name := strings.ToLower(f.Name)
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
			if name == "host" && hasPseudo(pseudo, ":authority") || name != "host" {
				continue
			}
		case "te":
			if !strings.EqualFold(strings.TrimSpace(f.Value), "trailers") {
				continue
			}
		}
		out = append(out, h2.Field{Name: name, Value: f.Value})
	}
	return out
}

func hasPseudo(fields []h2.Field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// h2Responder answers one request on a client's HTTP/2 stream.
type h2Responder struct {
	s  *h2.Stream
	cc *clientConn
	// headersSent is set once the response head went out; ended once the
	// stream's sending half is closed.
	headersSent, ended bool
}

func (w *h2Responder) interim(status int, _ string, h flow.Headers) error {
	return w.s.WriteHeader(h2Fields([]h2.Field{{Name: ":status", Value: strconv.Itoa(status)}}, h), false)
}

func responseFields(r *flow.Response) []h2.Field {
	return h2Fields([]h2.Field{{Name: ":status", Value: strconv.Itoa(r.StatusCode)}}, r.Headers)
}

func (w *h2Responder) respond(r *flow.Response, headRequest bool) error {
	body := r.RawContent
	if headRequest || !bodyAllowed(r.StatusCode) {
		body = nil
	}
	var trailers []h2.Field
	if len(r.Trailers) > 0 && !headRequest {
		trailers = h2Fields(nil, r.Trailers)
	}
	w.headersSent = true
	if err := w.s.WriteMessage(responseFields(r), body, trailers); err != nil {
		return err
	}
	w.ended = true
	return nil
}

func (w *h2Responder) endStream(trailers flow.Headers) error {
	var err error
	if len(trailers) > 0 {
		err = w.s.WriteTrailers(h2Fields(nil, trailers))
	} else {
		err = w.s.CloseWrite()
	}
	if err == nil {
		w.ended = true
	}
	return err
}

func (w *h2Responder) startBody(r *flow.Response) (bodySink, error) {
	w.headersSent = true
	if err := w.s.WriteHeader(responseFields(r), false); err != nil {
		return nil, err
	}
	return h2Sink{s: w.s, end: w.endStream}, nil
}

// errorPage answers with the error page while no response head went out,
// as mitmproxy; after that only a reset can tell the client.
func (w *h2Responder) errorPage(status int, msg string) {
	if w.headersSent {
		return
	}
	page := errorPage(status, msg)
	page.Headers.Del("connection")
	_ = w.respond(page, false)
}

// watch does nothing: a client that leaves resets its stream, which ends
// the flow's context (see h2Stream).
func (w *h2Responder) watch(*flowRun) {}
func (w *h2Responder) unwatch()       {}

func (w *h2Responder) switchProtocols(*flow.Response, func(*stream)) error {
	return errors.New("a 101 Switching Protocols response cannot be sent over HTTP/2")
}

// h2Sink writes a streamed body as DATA frames; the flow control of the
// stream paces it.
type h2Sink struct {
	s   *h2.Stream
	end func(flow.Headers) error
}

func (k h2Sink) write(p []byte) error {
	_, err := k.s.Write(p)
	return err
}

func (k h2Sink) close(trailers flow.Headers) error { return k.end(trailers) }

// The round trip over HTTP/2 to a server.

// h2Upstream is a server connection that speaks HTTP/2: every flow to its
// server opens a stream on it.
type h2Upstream struct {
	cc     *h2.ClientConn
	sc     *serverConn
	closed sync.Once
}

// close fires the server connection's end once, whoever sees it first.
func (c *h2Upstream) close(u *upstream) {
	c.closed.Do(func() { u.closeServer(c.sc) })
}

// h2Exchange is one request's round trip over an HTTP/2 server connection.
type h2Exchange struct {
	s    *h2.Stream
	conn *h2Upstream
	body *h2Body
	// sent reports the end of a streamed request body, which goes on
	// while the response comes; nil when the request was sent whole.
	sent    chan requestSent
	req     *flow.Request
	reqBody *bodyStream
}

// requestSent is how a streamed request body ended.
type requestSent struct {
	trailers flow.Headers
	err      error
	end      float64
}

// waitRequest waits until a streamed request body has gone to the server
// and records its end in the request.
func (x *h2Exchange) waitRequest() error {
	if x.sent == nil {
		return nil
	}
	sent := <-x.sent
	x.sent = nil
	x.applySent(x.req, x.reqBody, sent)
	return sent.err
}

func (x *h2Exchange) applySent(req *flow.Request, body *bodyStream, sent requestSent) {
	req.Trailers = sent.trailers
	if body.store {
		req.RawContent = body.stored
	}
	req.TimestampEnd = sent.end
}

func (x *h2Exchange) responseBody() bodyReader { return x.body }
func (x *h2Exchange) reusable() bool           { return true }
func (x *h2Exchange) server() *flow.Server     { return x.conn.sc.server }
func (x *h2Exchange) framingName() string      { return "HTTP/2 DATA" }
func (x *h2Exchange) serverStream() *stream    { return nil }
func (x *h2Exchange) abort()                   { x.s.Reset(http2.ErrCodeCancel) }

// finish ends the exchange; a stream the server has not finished is reset
// (the client went away, an addon killed the flow), which also ends a
// streamed request body still being sent.
func (x *h2Exchange) finish(bool) {
	select {
	case <-x.s.Done():
	default:
		x.s.Reset(http2.ErrCodeCancel)
	}
	if x.sent != nil {
		<-x.sent
		x.sent = nil
	}
}

// requestFields are the HTTP/2 fields of a request, as mitmproxy forms
// them: :authority from the request, or else from its Host header, which
// then goes.
func requestFields(req *flow.Request) []h2.Field {
	pseudo := []h2.Field{
		{Name: ":method", Value: req.Method},
		{Name: ":scheme", Value: req.Scheme},
		{Name: ":path", Value: req.Path},
	}
	authority := req.Authority
	if authority == "" {
		authority = req.Headers.Get("host")
	}
	if authority != "" {
		pseudo = append(pseudo, h2.Field{Name: ":authority", Value: authority})
	}
	return h2Fields(pseudo, req.Headers)
}

// h2RoundTrip sends the request on a new stream of c and reads the
// response head into f.Response.
func (u *upstream) h2RoundTrip(ctx context.Context, c *h2Upstream, f *flow.HTTPFlow, body *bodyStream, interim interimFunc) (*h2Exchange, error) {
	req := f.Request
	f.ServerConn = c.sc.server
	full := req.RawContent
	end := body == nil && len(full) == 0 && len(req.Trailers) == 0
	s, err := c.cc.OpenStream(ctx, requestFields(req), end)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*h2Exchange, error) {
		s.Reset(http2.ErrCodeCancel)
		return nil, err
	}
	x := &h2Exchange{s: s, conn: c}
	if !end {
		sink := h2Sink{s: s, end: func(tr flow.Headers) error {
			if len(tr) > 0 {
				return s.WriteTrailers(h2Fields(nil, tr))
			}
			return s.CloseWrite()
		}}
		if body != nil {
			// A streamed request goes on while the response comes:
			// gRPC's bidirectional streams answer each message before
			// the request ends. The flow learns how it ended in
			// waitRequest, on its own goroutine.
			x.sent = make(chan requestSent, 1)
			go func() {
				trailers, err := body.copyTo(sink, &u.s.bodies)
				if err != nil {
					s.Reset(http2.ErrCodeCancel)
				}
				x.sent <- requestSent{trailers, err, nowSeconds()}
			}()
		} else {
			if len(full) > 0 {
				if err := sink.write(full); err != nil {
					return fail(err)
				}
			}
			if err := sink.close(req.Trailers); err != nil {
				return fail(err)
			}
		}
	}
	for {
		fields, err := s.ReadHeader(ctx)
		if err != nil {
			if x.sent != nil {
				if sent := <-x.sent; sent.err != nil {
					x.applySent(req, body, sent)
					return nil, sent.err
				}
			}
			return fail(err)
		}
		status, headers, err := h2Response(fields)
		if err != nil {
			s.Reset(http2.ErrCodeProtocol)
			return nil, err
		}
		if status/100 == 1 {
			if interim != nil && status != 101 {
				if err := interim(status, flow.ReasonPhrase(status), headers); err != nil {
					return fail(&streamError{err: err})
				}
			}
			continue
		}
		f.Response = &flow.Response{
			Message:    flow.Message{HTTPVersion: "HTTP/2.0", Headers: headers, TimestampStart: nowSeconds()},
			StatusCode: status,
		}
		x.body = &h2Body{s: s, n: contentLength(fields)}
		x.req, x.reqBody = req, body
		return x, nil
	}
}

// h2Response splits a response header block into its status and headers.
func h2Response(fields []h2.Field) (int, flow.Headers, error) {
	status := -1
	i := 0
	for ; i < len(fields) && strings.HasPrefix(fields[i].Name, ":"); i++ {
		if fields[i].Name != ":status" {
			return 0, nil, fmt.Errorf("unknown pseudo header %s in response", fields[i].Name)
		}
		n, err := strconv.Atoi(fields[i].Value)
		if err != nil || n < 100 || n > 999 {
			return 0, nil, fmt.Errorf("invalid :status %q", fields[i].Value)
		}
		status = n
	}
	if status < 0 {
		return 0, nil, errors.New("required pseudo header is missing: :status")
	}
	h := make(flow.Headers, 0, len(fields)-i)
	for _, fl := range fields[i:] {
		h = append(h, flow.Field{Name: fl.Name, Value: fl.Value})
	}
	return status, h, nil
}

// startH2 makes sc, whose server chose h2 in ALPN, an HTTP/2 connection.
func (u *upstream) startH2(sc *serverConn, cfg *Config) (*h2Upstream, error) {
	// The h2 layer reads the stream's reader itself: a reader of its own
	// on top would copy every frame once more (a 64 KiB body crossed
	// seven copies, memmove 16% of the proxy's CPU).
	cc, err := h2.NewClientConn(sc.st.framedConn(), sc.st.r, h2Settings(cfg, true), u.log().Logger())
	if err != nil {
		return nil, fmt.Errorf("HTTP/2 with %s failed: %w", sc.server.Address, err)
	}
	return &h2Upstream{cc: cc, sc: sc}, nil
}
