// Package block refuses client connections by source address, as
// mitmproxy's block addon: block_global (on by default) refuses clients from
// public addresses, so that a proxy listening on all interfaces is not an
// open relay, and block_private refuses clients from private ones. Loopback
// clients and local redirect mode are always allowed.
//
// When proxy authentication is on (the proxyauth option is set),
// block_global lets public clients through: they must authenticate before
// the proxy does anything for them.
package block

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.LoadHook            = (*Block)(nil)
	_ addon.ConfigureHook       = (*Block)(nil)
	_ addon.ClientConnectedHook = (*Block)(nil)
)

// Block is the addon.
type Block struct {
	ctx                   *addon.Context
	blockGlobal, blockPrv addon.Opt[bool]
	// proxyAuth is the proxyauth addon's option, looked up in Configure;
	// nil while that addon is not loaded.
	proxyAuth atomic.Pointer[addon.Opt[*string]]
}

// New returns the addon.
func New() *Block { return &Block{} }

// Load declares block_global and block_private.
func (b *Block) Load(l *addon.Loader) {
	b.ctx = l.Context()
	b.blockGlobal = addon.Declare(l, "block_global", true, "Block connections from public IP addresses.")
	b.blockPrv = addon.Declare(l, "block_private", false,
		"Block connections from local (private) IP addresses. This option does not affect loopback "+
			"addresses (connections from the local machine), which are always permitted.")
}

// Configure looks up proxyauth once another addon has declared it.
func (b *Block) Configure(map[string]bool) error {
	if b.ctx == nil || b.proxyAuth.Load() != nil {
		return nil
	}
	if h, err := addon.Lookup[*string](b.ctx.Options, "proxyauth"); err == nil {
		b.proxyAuth.Store(&h)
	}
	return nil
}

// ClientConnected kills connections from refused addresses by setting
// c.Error, with mitmproxy's warning.
func (b *Block) ClientConnected(c *flow.Client) {
	if b.ctx == nil {
		return
	}
	host := c.Peername.Host
	// Drop an IPv6 zone ("fe80::1%eth0"), as mitmproxy does.
	if i := strings.LastIndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// Not an IP (a Unix socket, say): nothing to decide on.
		return
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || c.ProxyMode == "local" || strings.HasPrefix(c.ProxyMode, "local:") {
		return
	}
	if b.blockPrv.Get() && IsPrivate(ip) {
		b.ctx.Log.Warn(fmt.Sprintf("Client connection from %s killed by block_private option.", c.Peername.Host))
		c.Error = "Connection killed by block_private."
	}
	if b.blockGlobal.Get() && IsGlobal(ip) && !b.authRequired() {
		b.ctx.Log.Warn(fmt.Sprintf("Client connection from %s killed by block_global option.", c.Peername.Host))
		c.Error = "Connection killed by block_global."
	}
}

// authRequired reports whether proxy authentication is on.
func (b *Block) authRequired() bool {
	h := b.proxyAuth.Load()
	if h == nil {
		return false
	}
	p := h.Get()
	return p != nil && *p != ""
}
