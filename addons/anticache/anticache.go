// Package anticache is mitmproxy's anticache addon: with the anticache
// option set, it strips the request headers (If-Modified-Since,
// If-None-Match) that let a server answer 304 Not Modified, so that every
// response comes with its body.
package anticache

import (
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.LoadHook      = (*AntiCache)(nil)
	_ addon.ConfigureHook = (*AntiCache)(nil)
	_ addon.RequestHook   = (*AntiCache)(nil)
)

// AntiCache is the addon.
type AntiCache struct {
	opt addon.Opt[bool]
	on  atomic.Bool
}

// New returns the addon.
func New() *AntiCache { return &AntiCache{} }

// Load declares the anticache option.
func (a *AntiCache) Load(l *addon.Loader) {
	a.opt = addon.Declare(l, "anticache", false,
		"Strip out request headers that might cause the server to return 304-not-modified.")
}

// Configure reads the option.
func (a *AntiCache) Configure(updated map[string]bool) error {
	if a.opt.Changed(updated) {
		a.on.Store(a.opt.Get())
	}
	return nil
}

// Request strips the conditional headers when the option is on.
func (a *AntiCache) Request(f *flow.HTTPFlow) {
	if a.on.Load() && f.Request != nil {
		f.Request.Anticache()
	}
}

// KeepsFlows is false: it only edits request headers in place (see addon.FlowKeeper).
func (a *AntiCache) KeepsFlows() bool { return false }
