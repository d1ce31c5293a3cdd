package proxy

import (
	"errors"
	"fmt"
	"io"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// roundTripError is a round trip that failed before a response head came:
// msg is the flow's error, status the page the client gets (0 for none: the
// client itself went away).
type roundTripError struct {
	status int
	msg    string
}

func (e *roundTripError) Error() string { return e.msg }

// h1Exchange is one request's round trip with a server over HTTP/1: the
// response head is in the flow, its body still to be read.
type h1Exchange struct {
	u       *upstream
	sc      *serverConn
	framing h1.Framing
	body    bodyReader
	// reusable reports whether the server connection may carry another
	// request once the body is read: framing and Connection headers
	// allow it, whatever the addons do to the headers afterwards.
	reusable bool
	limit    int
}

// finish ends the exchange: the server connection is kept for reuse when
// reuse is asked for and the exchange allows it, else closed.
func (x *h1Exchange) finish(reuse bool) {
	if reuse && x.reusable {
		x.u.keep(x.sc, x.limit)
		return
	}
	x.u.closeServer(x.sc)
}

// interimFunc passes an interim (1xx) response on to the client.
type interimFunc func(status int, reason string, h flow.Headers) error

// roundTrip sends f's request over a kept connection to its server, or a
// new one, and reads the response head into f.Response. A kept connection
// that the server closed before our request reached it is retried once on
// a new one. body is set when the request body is streamed.
func (u *upstream) roundTrip(f *flow.HTTPFlow, d dialSpec, body *bodyStream, cfg *Config, interim interimFunc) (*h1Exchange, error) {
	req := f.Request
	var sc *serverConn
	var rh *h1.ResponseHead
	for attempt := 0; ; attempt++ {
		sc = u.take(d.key())
		reused := sc != nil
		if reused && cfg.Debug {
			u.log.Debug("reusing the kept connection to " + sc.server.Address.String())
		}
		if sc == nil {
			var err error
			if sc, err = u.connect(f, d, cfg); err != nil {
				return nil, &roundTripError{502, err.Error()}
			}
		}
		f.ServerConn = sc.server
		err := u.writeRequest(sc, req, body)
		if err == nil {
			rh, err = readResponseHead(sc, cfg, interim)
		}
		if err == nil {
			break
		}
		u.closeServer(sc)
		var se *streamError
		if errors.As(err, &se) && se.read {
			return nil, &roundTripError{0, "client disconnected while sending the request body: " + describeIOError(err)}
		}
		if reused && body == nil && attempt == 0 && ioDone(err) && !isTimeout(err) {
			// The server closed a kept-alive connection before we used it:
			// the request never reached it, so retry on a new connection.
			if cfg.Debug {
				u.log.Debug("the kept connection was closed by the server (" + describeIOError(err) + "); retrying on a new one")
			}
			continue
		}
		return nil, &roundTripError{502, "server " + sc.server.Address.String() + ": " + describeResponseError(err)}
	}
	framing, err := h1.ResponseFraming(req.Method, rh.Status, rh.Headers)
	if err != nil {
		u.closeServer(sc)
		return nil, &roundTripError{502, fmt.Sprintf("server %s sent an invalid response: %v", sc.server.Address, err)}
	}
	f.Response = &flow.Response{
		Message:    flow.Message{HTTPVersion: rh.Proto, Headers: rh.Headers, TimestampStart: nowSeconds()},
		StatusCode: rh.Status,
		Reason:     rh.Reason,
	}
	return &h1Exchange{
		u: u, sc: sc, framing: framing, body: newH1Body(sc.st.r, framing), limit: cfg.MaxUpstreamPerClient,
		reusable: framing.Kind != h1.UntilClose && !wantsClose(rh.Proto, rh.Headers) && !wantsClose(req.HTTPVersion, req.Headers),
	}, nil
}

// writeRequest sends the request head and body to the server.
func (u *upstream) writeRequest(sc *serverConn, req *flow.Request, body *bodyStream) error {
	proto := req.HTTPVersion
	if proto != "HTTP/1.0" && proto != "HTTP/1.1" {
		proto = "HTTP/1.1"
	}
	w := sc.st.w
	head := h1.AppendRequestHead(w.AvailableBuffer(), req.Method, req.Path, proto, req.Headers)
	if body != nil {
		w.Write(head)
		if err := w.Flush(); err != nil {
			return err
		}
		_, chunked := transferChunked(req.Headers)
		trailers, err := body.copyTo(h1Sink{w: w, chunked: chunked}, &u.s.bodies)
		req.Trailers = trailers
		if body.store {
			req.RawContent = body.stored
		}
		req.TimestampEnd = nowSeconds()
		return err
	}
	if err := writeMessage(w, sc.st.direct, head, req.RawContent, req.Trailers, req.Headers); err != nil {
		return err
	}
	return w.Flush()
}

// readResponseHead reads the final response head, handing interim (1xx)
// responses other than 101 to interim.
func readResponseHead(sc *serverConn, cfg *Config, interim interimFunc) (*h1.ResponseHead, error) {
	for {
		rh, err := h1.ReadResponseHead(sc.st.r, h1.DefaultMaxHeaderBytes, cfg.headOptions()...)
		if err == nil {
			err = cfg.validate(rh.Headers)
		}
		if err != nil {
			return nil, err
		}
		if rh.Status/100 == 1 && rh.Status != 101 {
			if interim != nil {
				if err := interim(rh.Status, rh.Reason, rh.Headers); err != nil {
					return nil, &streamError{err: err}
				}
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
