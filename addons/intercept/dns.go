package intercept

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.DNSRequestHook  = (*Intercept)(nil)
	_ addon.DNSResponseHook = (*Intercept)(nil)
	_ addon.UDPMessageHook  = (*Intercept)(nil)
)

// DNSRequest intercepts a matching DNS query.
func (i *Intercept) DNSRequest(f *flow.DNSFlow) { i.process(f) }

// DNSResponse intercepts a matching DNS response.
func (i *Intercept) DNSResponse(f *flow.DNSFlow) { i.process(f) }

// UDPMessage intercepts a UDP flow at a matching datagram.
func (i *Intercept) UDPMessage(f *flow.UDPFlow) { i.process(f) }
