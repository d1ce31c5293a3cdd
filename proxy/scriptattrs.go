package proxy

import (
	"net"
	"slices"
)

// ScriptAttrs describes the server to scripts, as mitmproxy's proxyserver
// addon looks to them (ctx.master.addons.get("proxyserver")): servers,
// one per listening mode, each with its mode (full_spec, type_name) and
// listen_addrs ((host, port) pairs); is_running. The script host reads it.
func (s *Server) ScriptAttrs() map[string]any {
	s.mu.Lock()
	lns := slices.Clone(s.listeners)
	s.mu.Unlock()
	servers := make([]any, 0, len(lns))
	for _, ln := range lns {
		m := modeOf(ln)
		var addrs []any
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			addrs = append(addrs, []any{a.IP.String(), a.Port})
		}
		servers = append(servers, map[string]any{
			"mode":         map[string]any{"full_spec": m.FullSpec, "type_name": m.Name, "data": m.Data},
			"listen_addrs": addrs,
			"is_running":   true,
		})
	}
	return map[string]any{"servers": servers, "is_running": len(lns) > 0}
}
