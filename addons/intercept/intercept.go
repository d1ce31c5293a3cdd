// Package intercept is mitmproxy's intercept addon: while intercept_active
// is on, flows that match the intercept filter stop at their request and at
// their response (and at each WebSocket or TCP message) until a command
// resumes or kills them (flow.resume, flow.kill). Replayed flows are never
// intercepted.
//
// Setting intercept turns intercept_active on, and unsetting it turns it
// off, as in mitmproxy.
package intercept

import (
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
)

// Intercept is the addon. It is safe for concurrent use.
type Intercept struct {
	ctx    *addon.Context
	active addon.Opt[bool]
	expr   addon.Opt[*string]
	on     atomic.Bool
	filt   filter.Optional
}

var (
	_ addon.LoadHook             = (*Intercept)(nil)
	_ addon.ConfigureHook        = (*Intercept)(nil)
	_ addon.RequestHook          = (*Intercept)(nil)
	_ addon.ResponseHook         = (*Intercept)(nil)
	_ addon.WebSocketMessageHook = (*Intercept)(nil)
	_ addon.TCPMessageHook       = (*Intercept)(nil)
	_ addon.FlowKeeper           = (*Intercept)(nil)
)

// New returns the addon.
func New() *Intercept { return &Intercept{} }

// Name is mitmproxy's addon name.
func (i *Intercept) Name() string { return "intercept" }

// DeclareOptions declares intercept_active and intercept (the front door
// declares them for every tool).
func DeclareOptions(l *addon.Loader) (active addon.Opt[bool], expr addon.Opt[*string]) {
	active = addon.Declare(l, "intercept_active", false, "Intercept toggle")
	expr = addon.Declare[*string](l, "intercept", nil, "Intercept filter expression.")
	return
}

// Load declares the options.
func (i *Intercept) Load(l *addon.Loader) {
	i.ctx = l.Context()
	i.active, i.expr = DeclareOptions(l)
}

// Configure compiles the filter; setting it switches interception on,
// unsetting it switches it off.
func (i *Intercept) Configure(updated map[string]bool) error {
	if i.expr.Changed(updated) {
		var text string
		if p := i.expr.Get(); p != nil {
			text = *p
		}
		if err := i.filt.Set(text); err != nil {
			return err
		}
		// A change of its own, as mitmproxy's: the other addons are
		// told (only when it changes anything, so that start-up
		// configures them once).
		if on := text != ""; i.active.Get() != on {
			if err := i.active.Set(on); err != nil {
				return err
			}
		}
	}
	if i.active.Changed(updated) {
		i.on.Store(i.active.Get())
	}
	return nil
}

// ShouldIntercept reports whether f is to be intercepted now.
func (i *Intercept) ShouldIntercept(f flow.Any) bool {
	if !i.on.Load() {
		return false
	}
	flt := i.filt.Get()
	return flt != nil && f.Base().IsReplay == "" && flt.Match(f)
}

func (i *Intercept) process(f flow.Any) {
	if i.ShouldIntercept(f) {
		f.Base().Intercept()
	}
}

// Request intercepts a matching flow before it goes to the server.
func (i *Intercept) Request(f *flow.HTTPFlow) { i.process(f) }

// Response intercepts a matching flow before its response goes to the
// client.
func (i *Intercept) Response(f *flow.HTTPFlow) { i.process(f) }

// WebSocketMessage intercepts a matching WebSocket flow at a message.
func (i *Intercept) WebSocketMessage(f *flow.HTTPFlow) { i.process(f) }

// TCPMessage intercepts a matching TCP flow at a message.
func (i *Intercept) TCPMessage(f *flow.TCPFlow) { i.process(f) }

// KeepsFlows is false: an intercepted flow waits in the proxy, which holds
// it (see addon.FlowKeeper).
func (i *Intercept) KeepsFlows() bool { return false }
