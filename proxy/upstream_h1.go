package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
	"github.com/mitmgo/mitmgo/internal/h2"
)

// roundTripError is a round trip that failed before a response head came:
// msg is the flow's error, status the page the client gets (0 for none: the
// client itself went away).
type roundTripError struct {
	status int
	msg    string
}

func (e *roundTripError) Error() string { return e.msg }

// serverExchange is one request's round trip with a server, over HTTP/1
// or HTTP/2: the response head is in the flow, its body still to be read.
type serverExchange interface {
	responseBody() bodyReader
	// reusable reports whether the server connection may carry another
	// request once the body is read: framing and Connection headers allow
	// it, whatever the addons do to the headers afterwards.
	reusable() bool
	// finish ends the exchange: done says it completed (response read,
	// request sent). The server connection is then kept for reuse when the
	// exchange allows it, else closed (an HTTP/2 stream not done yet is
	// reset).
	finish(done bool)
	server() *flow.Server
	// framingName says how the response body is delimited, for debug logs.
	framingName() string
	// serverStream is the server connection's stream, for a 101 Switching
	// Protocols; nil over HTTP/2.
	serverStream() *stream
	// waitRequest waits until the request body has gone to the server
	// (over HTTP/2 a streamed one goes on while the response comes) and
	// returns how that went.
	waitRequest() error
	// abort ends the exchange at once, from any goroutine: the client's
	// side is gone.
	abort()
}

// h1Exchange is one request's round trip with a server over HTTP/1.
type h1Exchange struct {
	u       *upstream
	sc      *serverConn
	framing h1.Framing
	body    h1Body
	reuse   bool
	limit   int
}

func (x *h1Exchange) responseBody() bodyReader { return &x.body }
func (x *h1Exchange) reusable() bool           { return x.reuse }
func (x *h1Exchange) server() *flow.Server     { return x.sc.server }
func (x *h1Exchange) framingName() string      { return x.framing.String() }
func (x *h1Exchange) serverStream() *stream    { return x.sc.st }
func (x *h1Exchange) waitRequest() error       { return nil }
func (x *h1Exchange) abort()                   { x.sc.raw.Close() }

func (x *h1Exchange) finish(done bool) {
	if done && x.reuse {
		x.u.keep(x.sc, x.limit)
		return
	}
	if done {
		// Nothing reads or writes the stream any more: its buffers go
		// back, as a kept connection's do. Dropped, they were 32 KiB of
		// garbage per new HTTPS connection (Connection: close), a fifth
		// of what the proxy allocated for it (BenchmarkNewConnTLS).
		x.sc.st.park()
	}
	x.u.closeServer(x.sc)
}

// interimFunc passes an interim (1xx) response on to the client.
type interimFunc func(status int, reason string, h flow.Headers) error

// roundTrip sends f's request to its server, over a kept connection or a
// new one, in HTTP/2 where the server chose it, and reads the response head
// into f.Response. A kept HTTP/1 connection that the server closed before
// our request reached it is retried once on a new one, as is a request an
// HTTP/2 server refused or never saw (GOAWAY). body is set when the request
// body is streamed.
// abort, when not nil, is given the HTTP/1 server connection in use, so
// that a client that goes away can end the exchange.
func (u *upstream) roundTrip(ctx context.Context, f *flow.HTTPFlow, d dialSpec, body *bodyStream, cfg *Config, interim interimFunc, abort *abortSlot) (serverExchange, error) {
	u.withVia(f, &d)
	h2c, sc := u.takeConn(d.key())
	if sc == nil || cfg.Debug {
		return u.roundTripFrom(ctx, 0, h2c, sc, f, d, body, cfg, interim, abort)
	}
	// A kept HTTP/1 connection, as for most requests: only this and what
	// it calls are on their path (see flowRun.forward on why the rest is
	// out of line).
	f.ServerConn = sc.server
	var rh h1.ResponseHead
	// framing is found with the head's validation (validate_inbound_headers),
	// else after it.
	framing := h1.Framing{Kind: -1}
	if err := u.exchangeHead(sc, f.Request, body, cfg, interim, abort, &rh, &framing); err != nil {
		return u.keptConnFailed(ctx, sc, err, f, d, body, cfg, interim, abort)
	}
	return u.h1Response(f, sc, &rh, framing, cfg)
}

// keptConnFailed goes on from an exchange on a kept HTTP/1 connection that
// failed with err: a connection the server closed before our request
// reached it is retried once on a new one.
//
//go:noinline
func (u *upstream) keptConnFailed(ctx context.Context, sc *serverConn, err error, f *flow.HTTPFlow, d dialSpec, body *bodyStream, cfg *Config, interim interimFunc, abort *abortSlot) (serverExchange, error) {
	if retry, err := u.h1ExchangeFailed(sc, err, true, 0, body, cfg); !retry {
		return nil, err
	}
	h2c, sc := u.takeConn(d.key())
	return u.roundTripFrom(ctx, 1, h2c, sc, f, d, body, cfg, interim, abort)
}

// h1ExchangeFailed ends an exchange on the HTTP/1 connection sc that
// failed with err: it reports whether the request is to go again on a new
// connection (sc was a kept one the server closed before the first
// attempt's request reached it), else the error to answer with.
func (u *upstream) h1ExchangeFailed(sc *serverConn, err error, reused bool, attempt int, body *bodyStream, cfg *Config) (retry bool, _ error) {
	u.closeServer(sc)
	if rte := requestBodyError(err); rte != nil {
		return false, rte
	}
	if reused && body == nil && attempt == 0 && ioDone(err) && !isTimeout(err) {
		if cfg.Debug {
			u.log().Debug("the kept connection was closed by the server (" + describeIOError(err) + "); retrying on a new one")
		}
		return true, nil
	}
	return false, &roundTripError{502, "server " + sc.server.Address.String() + ": " + describeResponseError(err)}
}

// roundTripFrom is roundTrip from attempt on (0 or 1), with the connection
// takeConn gave for it, for all but the common case roundTrip handles.
//
//go:noinline
func (u *upstream) roundTripFrom(ctx context.Context, attempt int, h2c *h2Upstream, sc *serverConn, f *flow.HTTPFlow, d dialSpec, body *bodyStream, cfg *Config, interim interimFunc, abort *abortSlot) (serverExchange, error) {
	req := f.Request
	var rh h1.ResponseHead
	framing := h1.Framing{Kind: -1}
	for first := attempt; ; attempt++ {
		if attempt > first {
			h2c, sc = u.takeConn(d.key())
		}
		reused := sc != nil || h2c != nil
		if reused && cfg.Debug {
			u.log().Debug("reusing the kept connection to " + d.key().String())
		}
		if !reused {
			var err error
			if sc, err = u.connect(f, d, cfg); err != nil {
				return nil, &roundTripError{502, err.Error()}
			}
			if sc.server.ALPN == "h2" {
				if h2c, err = u.adoptH2(sc, cfg); err != nil {
					return nil, &roundTripError{502, err.Error()}
				}
			}
		}
		if h2c != nil {
			ex, err := u.h2RoundTrip(ctx, h2c, f, body, interim)
			if err == nil {
				return ex, nil
			}
			if rte := requestBodyError(err); rte != nil {
				return nil, rte
			}
			switch {
			case ctx.Err() != nil:
				return nil, &roundTripError{0, "client disconnected"}
			case body == nil && attempt == 0 && h2.Retryable(err):
				continue
			}
			return nil, &roundTripError{502, "server " + h2c.sc.server.Address.String() + ": " + err.Error()}
		}
		f.ServerConn = sc.server
		err := u.exchangeHead(sc, req, body, cfg, interim, abort, &rh, &framing)
		if err == nil {
			break
		}
		retry, err := u.h1ExchangeFailed(sc, err, reused, attempt, body, cfg)
		if !retry {
			return nil, err
		}
	}
	return u.h1Response(f, sc, &rh, framing, cfg)
}

// h1Response puts the response head rh, read from sc, into f.Response and
// returns the exchange that goes on with its body.
func (u *upstream) h1Response(f *flow.HTTPFlow, sc *serverConn, rh *h1.ResponseHead, framing h1.Framing, cfg *Config) (serverExchange, error) {
	req := f.Request
	if framing.Kind < 0 {
		var err error
		if framing, err = h1.ResponseFraming(req.Method, rh.Status, rh.Headers); err != nil {
			u.closeServer(sc)
			return nil, &roundTripError{502, fmt.Sprintf("server %s sent an invalid response: %v", sc.server.Address, err)}
		}
	}
	f.Response = &flow.Response{
		Message:    flow.Message{HTTPVersion: rh.Proto, Headers: rh.Headers, TimestampStart: nowSeconds()},
		StatusCode: rh.Status,
		Reason:     rh.Reason,
	}
	return &h1Exchange{
		u: u, sc: sc, framing: framing, body: h1Body{br: sc.st.r, framing: framing}, limit: cfg.MaxUpstreamPerClient,
		reuse: framing.Kind != h1.UntilClose && !wantsClose(rh.Proto, rh.Headers) && !wantsClose(req.HTTPVersion, req.Headers),
	}, nil
}

// exchangeHead sends the request over sc and reads the response head, with
// sc in abort (when not nil) meanwhile. A function of its own so that its
// deferred clear is open-coded: deferred in roundTrip's retry loop, it was
// a heap-allocated defer record on every request.
func (u *upstream) exchangeHead(sc *serverConn, req *flow.Request, body *bodyStream, cfg *Config, interim interimFunc, abort *abortSlot, rh *h1.ResponseHead, framing *h1.Framing) error {
	if abort != nil {
		abort.set(sc)
		defer abort.set(nil)
	}
	if err := u.writeRequest(sc, req, body); err != nil {
		return err
	}
	return readResponseHead(sc, req.Method, cfg, interim, rh, framing)
}

// requestBodyError is the failure of a round trip whose streamed request
// body could not be read from the client: a malformed body gets a 400 that
// says what is wrong, a client that went away nothing. It is nil for other
// errors.
func requestBodyError(err error) *roundTripError {
	var se *streamError
	if !errors.As(err, &se) || !se.read {
		return nil
	}
	var fe *streamFuncError
	if errors.As(err, &fe) {
		return &roundTripError{0, fe.Error()}
	}
	if pe := protocolError(err); pe != nil {
		return &roundTripError{400, "Bad HTTP request: " + pe.Msg}
	}
	return &roundTripError{0, "client disconnected while sending the request body: " + describeIOError(err)}
}

// writeRequest sends the request head and body to the server.
func (u *upstream) writeRequest(sc *serverConn, req *flow.Request, body *bodyStream) error {
	proto, headers := asHTTP1Request(req, body != nil)
	if proto != "HTTP/1.0" && proto != "HTTP/1.1" {
		proto = "HTTP/1.1"
	}
	w := sc.st.w
	target := req.Path
	if sc.absForm {
		target = absoluteTarget(req)
	}
	head := h1.AppendRequestHead(w.AvailableBuffer(), req.Method, target, proto, headers)
	if body != nil {
		return u.writeStreamedRequest(w, head, req, headers, body)
	}
	if err := writeMessage(w, sc.st.direct, head, req.RawContent, req.Trailers, h1.IsChunked(headers)); err != nil {
		return err
	}
	return w.Flush()
}

// writeStreamedRequest sends the request head and then body, as it
// arrives from the client (writeRequest, out of line: few requests stream).
//
//go:noinline
func (u *upstream) writeStreamedRequest(w *bufio.Writer, head []byte, req *flow.Request, headers flow.Headers, body *bodyStream) error {
	w.Write(head)
	if err := w.Flush(); err != nil {
		return err
	}
	trailers, err := body.copyTo(h1Sink{w: w, chunked: h1.IsChunked(headers)}, &u.s.bodies)
	req.Trailers = trailers
	if body.store {
		req.RawContent = body.stored
	}
	req.TimestampEnd = nowSeconds()
	return err
}

// readResponseHead reads the final response head to a method request
// into rh, handing interim (1xx) responses other than 101 to interim. With
// validate_inbound_headers on, framing is set to the body's, found with the
// validation; with it off, framing is left as it was.
func readResponseHead(sc *serverConn, method string, cfg *Config, interim interimFunc, rh *h1.ResponseHead, framing *h1.Framing) error {
	for {
		err := h1.ReadResponseHeadInto(sc.st.r, h1.DefaultMaxHeaderBytes, rh, cfg.headOptions()...)
		if err == nil && cfg.ValidateInboundHeaders {
			*framing, err = h1.ValidateResponseFraming(method, rh.Proto, rh.Status, rh.Headers)
		}
		if err != nil {
			return err
		}
		if rh.Status/100 == 1 && rh.Status != 101 {
			if interim != nil {
				if err := interim(rh.Status, rh.Reason, rh.Headers); err != nil {
					return &streamError{err: err}
				}
			}
			continue
		}
		return nil
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
