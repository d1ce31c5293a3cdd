// Package origdst finds where a connection that the firewall redirected to
// the proxy was going: the original destination that transparent mode
// connects to. On Linux it asks netfilter's connection tracking
// (SO_ORIGINAL_DST for IPv4, IP6T_SO_ORIGINAL_DST for IPv6), which knows it
// for connections that iptables or nftables REDIRECTed or DNATed; other
// systems are not supported yet.
package origdst

import (
	"errors"
	"net"
	"syscall"
)

// Conn is what Get needs of a connection; *net.TCPConn has it.
type Conn interface {
	LocalAddr() net.Addr
	SyscallConn() (syscall.RawConn, error)
}

// ErrUnsupported is returned where the system offers no way to ask.
var ErrUnsupported = errors.New("origdst: transparent mode needs Linux (SO_ORIGINAL_DST): the original destination of a redirected connection cannot be found on this system")
