package proxy

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mitmgo/mitmgo/internal/origdst"
)

// originalDst is where a redirected connection was going, from netfilter's
// connection tracking (SO_ORIGINAL_DST).
func originalDst(c net.Conn) (netip.AddrPort, error) {
	oc, ok := c.(origdst.Conn)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("a %T has no original destination", c)
	}
	return origdst.Get(oc)
}

// transparentUnsupported says why transparent mode cannot run here: it can.
func transparentUnsupported() string { return "" }
