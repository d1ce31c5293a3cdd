//go:build !linux

package proxy

import (
	"net"
	"net/netip"

	"github.com/mitmgo/mitmgo/internal/origdst"
)

// originalDst fails: only Linux tells a redirected connection's original
// destination yet.
func originalDst(net.Conn) (netip.AddrPort, error) {
	return netip.AddrPort{}, origdst.ErrUnsupported
}

// transparentUnsupported says why transparent mode cannot run here.
func transparentUnsupported() string {
	return "mitmgo's transparent mode needs Linux (iptables or nftables REDIRECT and SO_ORIGINAL_DST)"
}
