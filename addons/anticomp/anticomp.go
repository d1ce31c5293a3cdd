// Package anticomp is mitmproxy's anticomp addon: with the anticomp option
// set, it asks servers for uncompressed responses (Accept-Encoding:
// identity).
package anticomp

import (
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.LoadHook      = (*AntiComp)(nil)
	_ addon.ConfigureHook = (*AntiComp)(nil)
	_ addon.RequestHook   = (*AntiComp)(nil)
)

// AntiComp is the addon.
type AntiComp struct {
	opt addon.Opt[bool]
	on  atomic.Bool
}

// New returns the addon.
func New() *AntiComp { return &AntiComp{} }

// Load declares the anticomp option.
func (a *AntiComp) Load(l *addon.Loader) {
	a.opt = addon.Declare(l, "anticomp", false, "Try to convince servers to send us un-compressed data.")
}

// Configure reads the option.
func (a *AntiComp) Configure(updated map[string]bool) error {
	if a.opt.Changed(updated) {
		a.on.Store(a.opt.Get())
	}
	return nil
}

// Request rewrites Accept-Encoding when the option is on.
func (a *AntiComp) Request(f *flow.HTTPFlow) {
	if a.on.Load() && f.Request != nil {
		f.Request.Anticomp()
	}
}

// KeepsFlows is false: it only edits request headers in place (see addon.FlowKeeper).
func (a *AntiComp) KeepsFlows() bool { return false }
