// Package onboarding is mitmproxy's onboarding addon: requests through the
// proxy for http://mitm.it/ (option onboarding_host) are answered by the
// proxy itself with a page offering the CA certificate in each format and
// how to install it.
package onboarding

import (
	"sort"
	"strings"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/certs"
	"github.com/mitmgo/mitmgo/flow"
)

// Onboarding is the addon.
type Onboarding struct {
	ctx   *addon.Context
	store func() *certs.Store
	// on and hostOpt are the options, declared in Load.
	on      addon.Opt[bool]
	hostOpt addon.Opt[string]
	// host is onboarding_host, "" while onboarding is off: read on every
	// request, so kept here rather than looked up in the options.
	host atomic.Pointer[string]
}

// New returns the addon; store gives the current certificate authority
// (the tlsconfig addon's).
func New(store func() *certs.Store) *Onboarding { return &Onboarding{store: store} }

// Name is the addon's name.
func (o *Onboarding) Name() string { return "onboarding" }

// Load declares the options.
func (o *Onboarding) Load(l *addon.Loader) {
	o.ctx = l.Context()
	o.on = addon.Declare(l, "onboarding", true, "Toggle the mitmproxy onboarding app.")
	o.hostOpt = addon.Declare(l, "onboarding_host", "mitm.it", "Onboarding app domain. For transparent mode, use an IP when a DNS entry for the app domain is not present.")
}

// Configure notes whether onboarding is on, and for which host.
func (o *Onboarding) Configure(map[string]bool) error {
	host := ""
	if o.on.Get() {
		host = o.hostOpt.Get()
	}
	o.host.Store(&host)
	return nil
}

// Request answers requests for the onboarding host.
func (o *Onboarding) Request(f *flow.HTTPFlow) {
	hp := o.host.Load()
	if hp == nil || *hp == "" || f.Response != nil || f.Request == nil {
		return
	}
	host := *hp
	if !strings.EqualFold(f.Request.Host, host) && !strings.EqualFold(f.Request.PrettyHost(), host) {
		return
	}
	store := o.store()
	if store == nil {
		return
	}
	status, header, body := store.ServeOnboarding(f.Request.Method, f.Request.Path)
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := flow.Headers{}
	for _, k := range keys {
		for _, v := range header[k] {
			h.Add(k, v)
		}
	}
	if body == nil {
		body = []byte{}
	}
	resp := flow.NewResponse(status, nil, nil)
	resp.Headers = h // Content-Length included, right for HEAD too
	resp.RawContent = body
	f.Response = resp
}

var (
	_ addon.LoadHook      = (*Onboarding)(nil)
	_ addon.ConfigureHook = (*Onboarding)(nil)
	_ addon.RequestHook   = (*Onboarding)(nil)
)

// KeepsFlows is false: it answers requests for the onboarding host and keeps nothing (see addon.FlowKeeper).
func (o *Onboarding) KeepsFlows() bool { return false }
