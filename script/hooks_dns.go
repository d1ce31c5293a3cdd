package script

import (
	"fmt"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// DNS and UDP flows cross to the script host as TCP flows do: the flow's
// state in parts, each a nested tnetstring (f: the flow fields; rq, rs:
// the DNS request and response; tm: the UDP messages; cc, sc: the
// connections), and what handlers changed comes back in the reply (see
// changes.go): request and response as whole DNS message states, UDP
// messages by index, server fields (address) as for connection hooks.

var (
	_ addon.UDPStartHook    = (*Addon)(nil)
	_ addon.UDPMessageHook  = (*Addon)(nil)
	_ addon.UDPEndHook      = (*Addon)(nil)
	_ addon.UDPErrorHook    = (*Addon)(nil)
	_ addon.DNSRequestHook  = (*Addon)(nil)
	_ addon.DNSResponseHook = (*Addon)(nil)
	_ addon.DNSErrorHook    = (*Addon)(nil)
)

func (a *Addon) UDPStart(f *flow.UDPFlow)   { a.udpHook(hUDPStart, f) }
func (a *Addon) UDPMessage(f *flow.UDPFlow) { a.udpHook(hUDPMessage, f) }

func (a *Addon) UDPEnd(f *flow.UDPFlow) {
	a.udpHook(hUDPEnd, f)
	a.forget(&f.Flow)
}

func (a *Addon) UDPError(f *flow.UDPFlow) {
	a.udpHook(hUDPError, f)
	a.forget(&f.Flow)
}

func (a *Addon) DNSRequest(f *flow.DNSFlow) { a.dnsHook(hDNSRequest, f) }

func (a *Addon) DNSResponse(f *flow.DNSFlow) {
	a.dnsHook(hDNSResponse, f)
	a.forget(&f.Flow)
}

func (a *Addon) DNSError(f *flow.DNSFlow) {
	a.dnsHook(hDNSError, f)
	a.forget(&f.Flow)
}

// flowEnvelope builds a hook call from a flow's state, moving the named
// sections into their own nested tnetstrings.
func flowEnvelope(hook string, f flow.Any, sections [][2]string) (*tnetstring.Dict, error) {
	st := f.State()
	m := newMsg("hook")
	m.Set("hook", hook)
	m.Set("fid", f.Base().ID)
	m.Set("live", f.Base().IsLive())
	for _, s := range sections {
		if err := moveSection(st, s[0], m, s[1]); err != nil {
			return nil, err
		}
	}
	b, err := encodePart(st)
	if err != nil {
		return nil, err
	}
	m.Set("f", b)
	return m, nil
}

// otherFlowHook sends hook i for a DNS or UDP flow and hands the reply's
// changes to apply.
func (a *Addon) otherFlowHook(i int, f flow.Any, what string, sections [][2]string, apply func(*tnetstring.Dict) error) {
	if !a.wants(i) {
		return
	}
	base := f.Base()
	h := a.hostForCall()
	if h == nil {
		a.flowFailed(i, nil, nil, base, what)
		return
	}
	m, err := flowEnvelope(hookNames[i], f, sections)
	if err != nil {
		a.log.Error(fmt.Sprintf("Script host: cannot send flow %s to the %s hook: %v", base.ID, hookNames[i], err))
		return
	}
	reply, err := h.call(hookCall(f), m, func(req *tnetstring.Dict) (any, error) {
		if req.Str("op") == "filter" {
			return h.filterOp(req, f)
		}
		return nil, fmt.Errorf("unknown request %q", req.Str("op"))
	})
	if err != nil {
		a.flowFailed(i, h, err, base, what)
		return
	}
	if ch := reply.Dict("changes"); ch.Len() > 0 {
		if err := apply(ch); err != nil {
			a.log.Error(fmt.Sprintf("Script host: applying the changes of %s to flow %s: %v", hookNames[i], base.ID, err))
		}
		a.track(base, ch)
	}
}

func (a *Addon) udpHook(i int, f *flow.UDPFlow) {
	a.otherFlowHook(i, f, "UDP "+f.ID, [][2]string{{"messages", "tm"}, {"client_conn", "cc"}, {"server_conn", "sc"}},
		func(ch *tnetstring.Dict) error { return applyUDP(f, ch) })
}

func (a *Addon) dnsHook(i int, f *flow.DNSFlow) {
	what := "DNS " + f.ID
	if q := f.Request; q != nil && q.Question() != nil {
		what = fmt.Sprintf("%s (%s %s)", f.ID, flow.DNSTypeString(q.Question().Type), q.Question().Name)
	}
	a.otherFlowHook(i, f, what, [][2]string{{"request", "rq"}, {"response", "rs"}, {"client_conn", "cc"}, {"server_conn", "sc"}},
		func(ch *tnetstring.Dict) error { return applyDNS(f, ch) })
}

// applyDNS applies a reply's changes to a DNS flow: request and response
// come whole (a response of None removes it).
func applyDNS(f *flow.DNSFlow, ch *tnetstring.Dict) error {
	applyActions(&f.Flow, ch.List("actions"))
	if err := applyFlowFields(&f.Flow, ch); err != nil {
		return err
	}
	if d := ch.Dict("server"); d != nil && f.ServerConn != nil {
		applyServer(f.ServerConn, d)
	}
	if v, ok := ch.Get("request"); ok {
		d, _ := v.(*tnetstring.Dict)
		if d == nil {
			return fmt.Errorf("a DNS flow's request cannot be removed")
		}
		m, err := flow.DNSMessageFromState(d)
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		f.Request = m
	}
	if v, ok := ch.Get("response"); ok {
		d, _ := v.(*tnetstring.Dict)
		if d == nil {
			f.Response = nil
		} else {
			m, err := flow.DNSMessageFromState(d)
			if err != nil {
				return fmt.Errorf("response: %w", err)
			}
			f.Response = m
		}
	}
	return nil
}

// applyUDP applies a reply's changes to a UDP flow (as applyTCP).
func applyUDP(f *flow.UDPFlow, ch *tnetstring.Dict) error {
	return applyMessageFlow(&f.Flow, ch, len(f.Messages), func(i int) (*bool, *[]byte, *float64) {
		m := f.Messages[i]
		return &m.FromClient, &m.Content, &m.Timestamp
	})
}
