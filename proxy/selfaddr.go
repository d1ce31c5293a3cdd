package proxy

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// selfAddrs answers one question wherever a request could lead back into
// the proxy (an absolute URL, a Host header, a CONNECT target, a dialed
// connection): is this address one of our listeners? Addresses are compared
// in canonical form: IPv4-mapped IPv6 unmapped, and a listener on all
// interfaces is reached at any loopback address (all of 127/8, ::1) and any
// address of the machine's interfaces. A name that resolves to us is caught
// once dialed: the connection's remote address is one of ours.
//
// What it cannot see is a loop through a NAT or another proxy, where the
// connection that arrives carries nothing of ours: telling would take a
// mark in the forwarded request, which an intercepting proxy must not add
// (mitmproxy adds none). A connection's source port proves nothing either:
// Linux gives the same ephemeral port to connections to different
// destinations, and a client may share one with our own connection to a
// server (a check built on that refused good requests under load).
type selfAddrs struct {
	mu        sync.Mutex
	listeners []netip.AddrPort
	// local is the machine's interface addresses, read at most every
	// localTTL.
	local     map[netip.Addr]bool
	localRead time.Time
}

// localTTL bounds how stale the list of interface addresses may be (a
// laptop changes networks).
const localTTL = 5 * time.Second

func (s *selfAddrs) addListener(a net.Addr) {
	ap, ok := addrPort(a)
	if !ok {
		return
	}
	s.mu.Lock()
	s.listeners = append(s.listeners, ap)
	s.mu.Unlock()
}

// addrPort is a TCP address in canonical form.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// isListener reports whether ip:port reaches one of our listeners.
func (s *selfAddrs) isListener(ip netip.Addr, port int) bool {
	ip = ip.Unmap().WithZone("")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.listeners {
		if int(ln.Port()) != port {
			continue
		}
		switch {
		case ln.Addr() == ip:
			return true
		case ln.Addr().IsUnspecified():
			if ip.IsLoopback() || ip.IsUnspecified() || s.isLocalLocked(ip) {
				return true
			}
		}
	}
	return false
}

// isLocalLocked reports whether ip is an address of this machine.
func (s *selfAddrs) isLocalLocked(ip netip.Addr) bool {
	if s.local == nil || time.Since(s.localRead) > localTTL {
		s.local = map[netip.Addr]bool{}
		s.localRead = time.Now()
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						s.local[ip.Unmap()] = true
					}
				}
			}
		}
	}
	return s.local[ip]
}

// isOwn reports whether a server address (a name or an IP literal) is one
// of our listeners, without resolving names other than localhost: a name
// that resolves to us is caught once dialed (see dialed).
func (s *selfAddrs) isOwn(a flow.Address) bool {
	if a.Host == "localhost" || a.Host == "localhost." {
		return s.isListener(netip.IPv6Loopback(), a.Port)
	}
	ip, err := netip.ParseAddr(a.Host)
	if err != nil {
		return false
	}
	return s.isListener(ip, a.Port)
}

// dialed reports whether a connection we just made to a server reached
// one of our listeners.
func (s *selfAddrs) dialed(c net.Conn) bool {
	ra, ok := addrPort(c.RemoteAddr())
	return ok && s.isListener(ra.Addr(), int(ra.Port()))
}

// sameAddr reports whether two hosts are the same IP address in canonical
// form (or the same string).
func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x.Unmap() == y.Unmap()
}
