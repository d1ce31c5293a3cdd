//go:build !linux

package origdst

import "net/netip"

// Get returns ErrUnsupported: only Linux is supported.
func Get(Conn) (netip.AddrPort, error) { return netip.AddrPort{}, ErrUnsupported }
