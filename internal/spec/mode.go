package spec

import "strings"

// ModeName returns the mode of a proxy mode spec as mitmproxy's
// ProxyMode.parse reads it: "regular", "upstream", "reverse", "socks5",
// "transparent", ... from "name[:data][@listen]". An empty spec is
// "regular", the default mode.
func ModeName(mode string) string {
	if mode == "" {
		return "regular"
	}
	head := mode
	if i := strings.LastIndexByte(mode, '@'); i > 0 {
		head = mode[:i]
	}
	name, _, _ := strings.Cut(head, ":")
	return name
}
