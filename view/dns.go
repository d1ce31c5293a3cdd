package view

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

var (
	_ addon.DNSRequestHook  = (*View)(nil)
	_ addon.DNSResponseHook = (*View)(nil)
	_ addon.DNSErrorHook    = (*View)(nil)
	_ addon.UDPStartHook    = (*View)(nil)
	_ addon.UDPMessageHook  = (*View)(nil)
	_ addon.UDPEndHook      = (*View)(nil)
	_ addon.UDPErrorHook    = (*View)(nil)
)

// DNSRequest adds a DNS flow (mitmproxy's view takes them at dns_request).
func (v *View) DNSRequest(f *flow.DNSFlow) { v.hook(f, true, false) }

// DNSResponse updates a DNS flow, which is complete.
func (v *View) DNSResponse(f *flow.DNSFlow) { v.hook(f, false, true) }

// DNSError updates a failed DNS flow.
func (v *View) DNSError(f *flow.DNSFlow) { v.hook(f, false, true) }

// UDPStart adds a UDP flow.
func (v *View) UDPStart(f *flow.UDPFlow) { v.hook(f, true, false) }

// UDPMessage updates a UDP flow.
func (v *View) UDPMessage(f *flow.UDPFlow) { v.hook(f, false, false) }

// UDPEnd updates a UDP flow, which is complete.
func (v *View) UDPEnd(f *flow.UDPFlow) { v.hook(f, false, true) }

// UDPError updates a failed UDP flow.
func (v *View) UDPError(f *flow.UDPFlow) { v.hook(f, false, true) }

// otherKeys computes the sort keys of DNS and UDP flows as mitmproxy's
// view: the op code and the question's name for DNS, "UDP" and the
// server's address for UDP; sizes as it counts them.
func otherKeys(e *entry) {
	e.method, e.url, e.size = "", "", 0
	switch f := e.f.(type) {
	case *flow.DNSFlow:
		if f.Request != nil {
			e.method = flow.DNSOpCodeString(f.Request.OpCode)
			if len(f.Request.Questions) > 0 {
				e.url = f.Request.Questions[0].Name
			}
		}
		if f.Response != nil {
			e.size = int64(f.Response.Size())
		}
	case *flow.UDPFlow:
		e.method = "UDP"
		if f.ServerConn != nil {
			e.url = f.ServerConn.Address.String()
		}
		for _, m := range f.Messages {
			e.size += int64(len(m.Content))
		}
	}
}
