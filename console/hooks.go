package console

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// The console takes each flow's row in the flow's own hooks, on the flow's
// goroutine, where the flow may be read whatever the view says. The view's
// events cannot tell a hook's event from a command's (Update) one, and
// after a command's the flow may have been resumed and be written by the
// proxy again: there the console reads only under the view's check
// (viewEvent). The console sits before the view in the chain, so a row
// taken here has what the scripts changed.
var (
	_ addon.RequestHeadersHook   = (*Console)(nil)
	_ addon.RequestHook          = (*Console)(nil)
	_ addon.ResponseHeadersHook  = (*Console)(nil)
	_ addon.ResponseHook         = (*Console)(nil)
	_ addon.ErrorHook            = (*Console)(nil)
	_ addon.WebSocketStartHook   = (*Console)(nil)
	_ addon.WebSocketMessageHook = (*Console)(nil)
	_ addon.WebSocketEndHook     = (*Console)(nil)
	_ addon.TCPStartHook         = (*Console)(nil)
	_ addon.TCPMessageHook       = (*Console)(nil)
	_ addon.TCPEndHook           = (*Console)(nil)
	_ addon.TCPErrorHook         = (*Console)(nil)
	_ addon.UDPStartHook         = (*Console)(nil)
	_ addon.UDPMessageHook       = (*Console)(nil)
	_ addon.UDPEndHook           = (*Console)(nil)
	_ addon.UDPErrorHook         = (*Console)(nil)
	_ addon.DNSRequestHook       = (*Console)(nil)
	_ addon.DNSResponseHook      = (*Console)(nil)
	_ addon.DNSErrorHook         = (*Console)(nil)
)

// hookRow takes the row (and the flow view's copy) of f in one of its
// hooks. start is the flow's first hook; after it, a flow without a row
// left the view (view.clear) and is not taken again.
func (c *Console) hookRow(f flow.Any, start bool) {
	if !start && c.st.rows.get(f.Base().ID) == nil {
		return
	}
	watched := c.st.snaps.take(f)
	c.st.rows.update(f, watched || start)
}

// RequestHeaders takes the row of a new HTTP flow.
func (c *Console) RequestHeaders(f *flow.HTTPFlow) { c.hookRow(f, true) }

// Request takes the flow's row.
func (c *Console) Request(f *flow.HTTPFlow) { c.hookRow(f, false) }

// ResponseHeaders takes the flow's row.
func (c *Console) ResponseHeaders(f *flow.HTTPFlow) { c.hookRow(f, false) }

// Response takes the flow's row.
func (c *Console) Response(f *flow.HTTPFlow) { c.hookRow(f, false) }

// Error takes the flow's row.
func (c *Console) Error(f *flow.HTTPFlow) { c.hookRow(f, false) }

// WebSocketStart takes the flow's row.
func (c *Console) WebSocketStart(f *flow.HTTPFlow) { c.hookRow(f, false) }

// WebSocketMessage takes the flow's row.
func (c *Console) WebSocketMessage(f *flow.HTTPFlow) { c.hookRow(f, false) }

// WebSocketEnd takes the flow's row.
func (c *Console) WebSocketEnd(f *flow.HTTPFlow) { c.hookRow(f, false) }

// TCPStart takes the row of a new TCP flow.
func (c *Console) TCPStart(f *flow.TCPFlow) { c.hookRow(f, true) }

// TCPMessage takes the flow's row.
func (c *Console) TCPMessage(f *flow.TCPFlow) { c.hookRow(f, false) }

// TCPEnd takes the flow's row.
func (c *Console) TCPEnd(f *flow.TCPFlow) { c.hookRow(f, false) }

// TCPError takes the flow's row.
func (c *Console) TCPError(f *flow.TCPFlow) { c.hookRow(f, false) }

// UDPStart takes the row of a new UDP flow.
func (c *Console) UDPStart(f *flow.UDPFlow) { c.hookRow(f, true) }

// UDPMessage takes the flow's row.
func (c *Console) UDPMessage(f *flow.UDPFlow) { c.hookRow(f, false) }

// UDPEnd takes the flow's row.
func (c *Console) UDPEnd(f *flow.UDPFlow) { c.hookRow(f, false) }

// UDPError takes the flow's row.
func (c *Console) UDPError(f *flow.UDPFlow) { c.hookRow(f, false) }

// DNSRequest takes the row of a new DNS flow.
func (c *Console) DNSRequest(f *flow.DNSFlow) { c.hookRow(f, true) }

// DNSResponse takes the flow's row.
func (c *Console) DNSResponse(f *flow.DNSFlow) { c.hookRow(f, false) }

// DNSError takes the flow's row.
func (c *Console) DNSError(f *flow.DNSFlow) { c.hookRow(f, false) }

var _ addon.FlowKeeper = (*Console)(nil)

// KeepsFlows is true: the rows hold the flows' own strings past their
// hooks. The console needs the view, which keeps every flow anyway.
func (c *Console) KeepsFlows() bool { return true }
