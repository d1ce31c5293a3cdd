package block

import "net/netip"

// The IANA special-purpose address registries, as Python's ipaddress module
// (3.13 and later) encodes them; mitmproxy's is_private and is_global come
// from there, and Go's netip classifies differently (IsPrivate is only RFC
// 1918 and fc00::/7).
var (
	privateV4 = prefixes(
		"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32")
	privateV4Exceptions = prefixes("192.0.0.9/32", "192.0.0.10/32")
	// sharedV4 is carrier-grade NAT space: neither private nor global.
	sharedV4  = netip.MustParsePrefix("100.64.0.0/10")
	privateV6 = prefixes(
		"::1/128", "::/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
		"2001:db8::/32", "2002::/16", "3fff::/20", "fc00::/7", "fe80::/10")
	privateV6Exceptions = prefixes(
		"2001:1::1/128", "2001:1::2/128", "2001:3::/32", "2001:4:112::/48", "2001:20::/28", "2001:30::/28")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// IsPrivate is Python's ipaddress is_private: the address is in a block the
// IANA registries mark as not globally reachable. IPv4-mapped IPv6
// addresses are judged as IPv4.
func IsPrivate(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return inAny(ip, privateV4) && !inAny(ip, privateV4Exceptions)
	}
	return inAny(ip, privateV6) && !inAny(ip, privateV6Exceptions)
}

// IsGlobal is Python's ipaddress is_global: not private, and for IPv4 not in
// the shared (carrier-grade NAT) space either.
func IsGlobal(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.Is4() && sharedV4.Contains(ip) {
		return false
	}
	return !IsPrivate(ip)
}
