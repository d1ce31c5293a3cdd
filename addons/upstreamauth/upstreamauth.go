// Package upstreamauth is mitmproxy's upstream_auth addon (--upstream-auth
// USER:PASS): it authenticates mitmgo to the systems behind it with HTTP
// Basic credentials.
//
//   - Upstream mode: a CONNECT sent to the upstream proxy gets
//     Proxy-Authorization (http_connect_upstream), and so does every plain
//     http:// request, which goes to that proxy in absolute form. Requests
//     inside a tunnel get nothing: the tunnel is already authenticated.
//   - Reverse mode: every request gets Authorization.
//   - Other modes: nothing is added.
//
// An existing header of the same name is replaced.
package upstreamauth

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the credentials.
const OptionName = "upstream_auth"

var (
	_ addon.LoadHook                = (*UpstreamAuth)(nil)
	_ addon.ConfigureHook           = (*UpstreamAuth)(nil)
	_ addon.HTTPConnectUpstreamHook = (*UpstreamAuth)(nil)
	_ addon.RequestHeadersHook      = (*UpstreamAuth)(nil)
)

// UpstreamAuth adds credentials for upstream systems. It is safe for
// concurrent use.
type UpstreamAuth struct {
	ctx *addon.Context
	opt addon.Opt[*string] // OptionName, declared in Load
	// auth is the header value, "Basic <base64>"; nil when off.
	auth atomic.Pointer[string]
}

// New returns the addon, off until the option is set.
func New() *UpstreamAuth { return &UpstreamAuth{} }

// Load declares upstream_auth.
func (u *UpstreamAuth) Load(l *addon.Loader) {
	u.ctx = l.Context()
	u.opt = addon.Declare[*string](l, OptionName, nil,
		"Add HTTP Basic authentication to upstream proxy and reverse proxy requests. Format: username:password.")
}

// userColon is mitmproxy's check: some text, then a colon.
var userColon = regexp.MustCompile(`.+:`)

// HeaderValue returns the Basic credentials for "user:pass", as mitmproxy's
// parse_upstream_auth.
func HeaderValue(auth string) (string, error) {
	if !userColon.MatchString(auth) {
		return "", fmt.Errorf("Invalid upstream auth specification: %s", auth)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(auth)), nil
}

// Configure reads the credentials; a malformed value is refused and the
// active one kept.
func (u *UpstreamAuth) Configure(updated map[string]bool) error {
	if !updated[OptionName] || u.ctx == nil {
		return nil
	}
	auth := u.opt.Get()
	if auth == nil {
		u.auth.Store(nil)
		return nil
	}
	v, err := HeaderValue(*auth)
	if err != nil {
		return fmt.Errorf("%s: %w", OptionName, err)
	}
	u.auth.Store(&v)
	return nil
}

// HTTPConnectUpstream authenticates a CONNECT to the upstream proxy.
func (u *UpstreamAuth) HTTPConnectUpstream(f *flow.HTTPFlow) {
	if auth := u.auth.Load(); auth != nil && f.Request != nil {
		f.Request.Headers.Set("Proxy-Authorization", *auth)
	}
}

// RequestHeaders authenticates plain requests to an upstream proxy, and
// every request in reverse mode.
func (u *UpstreamAuth) RequestHeaders(f *flow.HTTPFlow) {
	auth := u.auth.Load()
	if auth == nil || f.Request == nil {
		return
	}
	mode := ""
	if f.ClientConn != nil {
		mode = f.ClientConn.ProxyMode
	}
	switch spec.ModeName(mode) {
	case "upstream":
		if f.Request.Scheme == "http" {
			f.Request.Headers.Set("Proxy-Authorization", *auth)
		}
	case "reverse":
		f.Request.Headers.Set("Authorization", *auth)
	}
}

// KeepsFlows is false: it only adds a request header (see addon.FlowKeeper).
func (u *UpstreamAuth) KeepsFlows() bool { return false }
