package proxy

import (
	"context"
	"errors"
	"fmt"

	"github.com/mitmgo/mitmgo/flow"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	up := newUpstream(s, client, clientName("replay"))
	defer up.close()
	// Cancelling the replay closes its server connection (the deferred
	// cancel, at the latest).
	context.AfterFunc(ctx, up.abort)
	d := requestDialSpec(f.Request, nil, cfg)
	if len(cfg.Modes) > 0 {
		// As mitmproxy: a replay goes through the first mode's upstream
		// proxy when that mode is upstream mode, else directly, whatever
		// the recorded flow went through.
		up.via = modeVia(cfg.Modes[0])
	}
	d.via, d.viaSet = up.via, true
	ex, err := up.roundTrip(ctx, f, d, nil, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer ex.finish(false)
	body, trailers, err := readWhole(ex.responseBody(), cfg.BodySizeLimit)
	if err != nil {
		f.Response = nil
		return fmt.Errorf("server %s: reading the response body: %s", ex.server().Address, describeIOError(err))
	}
	f.Response.RawContent, f.Response.Trailers = body, trailers
	f.Response.TimestampEnd = nowSeconds()
	return nil
}
