package save

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.DNSRequestHook  = (*Save)(nil)
	_ addon.DNSResponseHook = (*Save)(nil)
	_ addon.DNSErrorHook    = (*Save)(nil)
	_ addon.UDPStartHook    = (*Save)(nil)
	_ addon.UDPEndHook      = (*Save)(nil)
	_ addon.UDPErrorHook    = (*Save)(nil)
)

// DNSRequest starts tracking a DNS flow.
func (s *Save) DNSRequest(f *flow.DNSFlow) { s.track(f) }

// DNSResponse writes a DNS flow.
func (s *Save) DNSResponse(f *flow.DNSFlow) { s.save(f) }

// DNSError writes a failed DNS flow; one read from a file with both a
// response and an error was written at its response (see Error).
func (s *Save) DNSError(f *flow.DNSFlow) {
	if f.Response != nil && !s.tracked(f) {
		return
	}
	s.save(f)
}

// UDPStart starts tracking a UDP flow.
func (s *Save) UDPStart(f *flow.UDPFlow) { s.track(f) }

// UDPEnd writes a UDP flow.
func (s *Save) UDPEnd(f *flow.UDPFlow) { s.save(f) }

// UDPError writes a failed UDP flow.
func (s *Save) UDPError(f *flow.UDPFlow) { s.save(f) }
