package stickycookie

import "strings"

// domainMatch is RFC 2965 domain matching as Python's
// http.cookiejar.domain_match: equal names, or a host name a that ends
// with b where b starts with a dot ("x.y.com" matches ".y.com").
func domainMatch(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	if !isHDN(a) {
		return false
	}
	i := strings.LastIndex(a, b)
	if i == -1 || i == 0 {
		return false
	}
	if !strings.HasPrefix(b, ".") {
		return false
	}
	return isHDN(b[1:])
}

// isHDN reports a host domain name: not empty, no dot at either end, and
// not ending like an IPv4 address.
func isHDN(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 && i < len(s)-1 {
		allDigits := true
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				allDigits = false
				break
			}
		}
		if allDigits {
			return false
		}
	}
	return true
}

// hostMatches is mitmproxy's domain_match: domainMatch, also with the
// cookie domain's dots trimmed.
func hostMatches(host, domain string) bool {
	return domainMatch(host, domain) || domainMatch(host, strings.Trim(domain, "."))
}
