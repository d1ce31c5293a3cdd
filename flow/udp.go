package flow

import "github.com/mitmgo/mitmgo/tnetstring"

// UDPMessage is one datagram of a UDP flow.
type UDPMessage struct {
	FromClient bool
	Content    []byte
	Timestamp  float64
}

// UDPFlow is a UDP session between a client address and a server: the
// datagrams both ways, as mitmproxy's udp.UDPFlow.
type UDPFlow struct {
	Flow
	Messages []*UDPMessage
}

// NewUDPFlow returns a live UDP flow.
func NewUDPFlow(client *Client, server *Server) *UDPFlow {
	return &UDPFlow{Flow: newFlow(client, server, true)}
}

// Type is "udp".
func (f *UDPFlow) Type() string { return "udp" }

// State converts a UDP flow to mitmproxy's state dict (messages as TCP's).
func (f *UDPFlow) State() *tnetstring.Dict {
	d := f.Flow.state("udp")
	d.Set("messages", messagesState(f.Messages))
	return d
}

func udpFlowFromState(d *tnetstring.Dict, base *Flow) (*UDPFlow, error) {
	msgs, err := messagesFromState[UDPMessage](d, "udp", base.ID)
	if err != nil {
		return nil, err
	}
	f := &UDPFlow{Messages: msgs}
	moveFlow(&f.Flow, base)
	return f, nil
}

// Backup is HTTPFlow.Backup for a UDP flow.
func (f *UDPFlow) Backup() { f.Flow.saveBackup(f.State) }

// Modified is HTTPFlow.Modified for a UDP flow.
func (f *UDPFlow) Modified() bool { return f.Flow.modified(f.State) }

// Revert is HTTPFlow.Revert for a UDP flow.
func (f *UDPFlow) Revert() bool {
	return revert(&f.Flow, func(t *UDPFlow) { f.Messages = t.Messages })
}

// Copy returns a deep copy with a new id that is not live, as HTTPFlow.Copy.
func (f *UDPFlow) Copy() *UDPFlow {
	c := &UDPFlow{Messages: cloneMessages(f.Messages)}
	f.Flow.copyInto(&c.Flow)
	return c
}
