// Package stickyauth is mitmproxy's stickyauth addon (--stickyauth FILTER):
// it remembers the last Authorization header sent to each host and adds it
// to later requests to that host that match the filter and carry none, so
// that a session authenticated by one client is shared by all.
package stickyauth

import (
	"fmt"
	"sync"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
)

// OptionName is the option that holds the filter.
const OptionName = "stickyauth"

var (
	_ addon.LoadHook      = (*StickyAuth)(nil)
	_ addon.ConfigureHook = (*StickyAuth)(nil)
	_ addon.RequestHook   = (*StickyAuth)(nil)
)

// StickyAuth remembers Authorization headers per host. It is safe for
// concurrent use.
type StickyAuth struct {
	ctx *addon.Context
	opt addon.Opt[*string] // OptionName, declared in Load
	flt filter.Optional

	mu    sync.Mutex
	hosts map[string]string
}

// New returns the addon, off until the option is set.
func New() *StickyAuth { return &StickyAuth{hosts: map[string]string{}} }

// Load declares stickyauth.
func (s *StickyAuth) Load(l *addon.Loader) {
	s.ctx = l.Context()
	s.opt = addon.Declare[*string](l, OptionName, nil, "Set sticky auth filter. Matched against requests.")
}

// optString is an optional string option's value, "" when unset.
func optString(o addon.Opt[*string]) string {
	if p := o.Get(); p != nil {
		return *p
	}
	return ""
}

// Configure parses the filter; an invalid one is refused and the active
// one kept.
func (s *StickyAuth) Configure(updated map[string]bool) error {
	if !updated[OptionName] || s.ctx == nil {
		return nil
	}
	if err := s.flt.Set(optString(s.opt)); err != nil {
		return fmt.Errorf("%s: %w", OptionName, err)
	}
	return nil
}

// Request records the Authorization header of any request while the addon
// is on, and adds the recorded one to matching requests without one.
func (s *StickyAuth) Request(f *flow.HTTPFlow) {
	flt := s.flt.Get()
	if flt == nil || f.Request == nil {
		return
	}
	host := f.Request.Host
	if auth, ok := f.Request.Headers.Lookup("authorization"); ok {
		s.mu.Lock()
		s.hosts[host] = auth
		s.mu.Unlock()
		return
	}
	if !flt.Match(f) {
		return
	}
	s.mu.Lock()
	auth, ok := s.hosts[host]
	s.mu.Unlock()
	if ok {
		f.Request.Headers.Set("authorization", auth)
	}
}

// KeepsFlows is false: it keeps header values, which are copies (see addon.FlowKeeper).
func (s *StickyAuth) KeepsFlows() bool { return false }
