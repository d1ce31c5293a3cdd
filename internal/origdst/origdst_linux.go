package origdst

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

const (
	// soOriginalDst is SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and
	// IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h): both 80.
	soOriginalDst = 80
	solIP         = syscall.SOL_IP
	solIPv6       = syscall.SOL_IPV6
)

// Get returns the original destination of c, a TCP connection accepted by
// the proxy. Which family to ask for follows the connection's local
// address, as mitmproxy does: an IPv4 connection accepted on a dual-stack
// socket has an IPv4-mapped address, and netfilter tracked it as IPv4.
func Get(c Conn) (netip.AddrPort, error) {
	local, ok := c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("origdst: %T is not a TCP connection", c.LocalAddr())
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("origdst: %w", err)
	}
	v4 := local.AddrPort().Addr().Unmap().Is4()
	// struct sockaddr_in6 (28 bytes) is the larger of the two.
	var buf [28]byte
	size := uint32(16)
	level := solIP
	if !v4 {
		size, level = 28, solIPv6
	}
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, uintptr(level), soOriginalDst,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		return netip.AddrPort{}, fmt.Errorf("origdst: %w", err)
	}
	if errno != 0 {
		return netip.AddrPort{}, explain(errno)
	}
	return parseSockaddr(buf[:size])
}

// explain says what a failed getsockopt means for the user.
func explain(errno syscall.Errno) error {
	switch {
	case errors.Is(errno, syscall.ENOENT):
		return fmt.Errorf("origdst: the connection is not known to netfilter's connection tracking (was it redirected to the proxy?): %w", errno)
	case errors.Is(errno, syscall.ENOPROTOOPT):
		return fmt.Errorf("origdst: netfilter's connection tracking is not available (is the nf_conntrack module loaded and an iptables/nftables NAT rule in place?): %w", errno)
	}
	return fmt.Errorf("origdst: getsockopt(SO_ORIGINAL_DST): %w", errno)
}

// parseSockaddr reads a struct sockaddr_in or sockaddr_in6 as the kernel
// fills it: the family in host byte order, the port and address in network
// byte order.
func parseSockaddr(b []byte) (netip.AddrPort, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, fmt.Errorf("origdst: short socket address (%d bytes)", len(b))
	}
	family := *(*uint16)(unsafe.Pointer(&b[0]))
	switch {
	case family == syscall.AF_INET && len(b) >= 8:
		port := binary.BigEndian.Uint16(b[2:4])
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case family == syscall.AF_INET6 && len(b) >= 24:
		port := binary.BigEndian.Uint16(b[2:4])
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("origdst: unexpected socket address (family %d, %d bytes)", family, len(b))
}
