package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/h1"
)

// Send does the upstream round trip of a replayed request (client replay):
// it connects to the request's scheme, host and port on a new connection,
// sends the request and reads the response into f.Response. It fires the
// server connection and TLS hooks but none of the HTTP hooks; the caller
// (the clientplayback addon) does.
func (s *Server) Send(ctx context.Context, f *flow.HTTPFlow) error {
	if f.Request == nil {
		return errors.New("flow has no request")
	}
	cfg := s.Config()
	client := f.ClientConn
	if client == nil {
		client = flow.NewClient(flow.Address{}, flow.Address{}, "regular")
		f.ClientConn = client
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cc := &clientConn{
		s: s, client: client, log: s.log.With(addon.ClientKey, "replay"),
		ctx: func() context.Context { return cctx }, cancel: cancel,
		bw: bufio.NewWriter(io.Discard), state: stateBusy,
	}
	req := f.Request
	sc, err := cc.connectUpstream(f, req.Scheme, req.Host, req.Port, cfg)
	if err != nil {
		return err
	}
	defer cc.closeServer(sc)
	stop := context.AfterFunc(cctx, func() { sc.raw.Close() })
	defer stop()
	if err := cc.writeRequest(sc, req, nil); err != nil {
		return fmt.Errorf("server %s: %s", sc.server.Address, describeIOError(err))
	}
	rh, err := cc.readResponseHead(sc)
	if err != nil {
		return fmt.Errorf("server %s: %s", sc.server.Address, describeResponseError(err))
	}
	resp := &flow.Response{
		Message:    flow.Message{HTTPVersion: rh.Proto, Headers: rh.Headers, TimestampStart: nowSeconds()},
		StatusCode: rh.Status, Reason: rh.Reason,
	}
	framing, err := h1.ResponseFraming(req.Method, rh.Status, rh.Headers)
	if err != nil {
		return fmt.Errorf("server %s sent an invalid response: %w", sc.server.Address, err)
	}
	body, trailers, err := h1.ReadBody(sc.br, framing, cfg.BodySizeLimit)
	if err != nil {
		return fmt.Errorf("server %s: reading the response body: %s", sc.server.Address, describeIOError(err))
	}
	resp.RawContent, resp.Trailers = body, trailers
	resp.TimestampEnd = nowSeconds()
	f.Response = resp
	return nil
}
