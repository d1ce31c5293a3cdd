package flow

import (
	"fmt"

	"github.com/mitmgo/mitmgo/tnetstring"
)

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
	msgs := make([]any, len(f.Messages))
	for i, m := range f.Messages {
		msgs[i] = []any{m.FromClient, nonNilBytes(m.Content), m.Timestamp}
	}
	d.Set("messages", msgs)
	return d
}

func udpFlowFromState(d *tnetstring.Dict, base *Flow) (*UDPFlow, error) {
	f := &UDPFlow{}
	moveFlow(&f.Flow, base)
	for _, m := range d.List("messages") {
		l, ok := m.([]any)
		if !ok || len(l) < 3 {
			return nil, fmt.Errorf("udp flow %s: malformed message", base.ID)
		}
		fc, _ := l[0].(bool)
		f.Messages = append(f.Messages, &UDPMessage{FromClient: fc, Content: anyBytes(l[1]), Timestamp: anyFloat(l[2])})
	}
	return f, nil
}

// Backup is HTTPFlow.Backup for a UDP flow.
func (f *UDPFlow) Backup() { f.Flow.saveBackup(f.State) }

// Modified is HTTPFlow.Modified for a UDP flow.
func (f *UDPFlow) Modified() bool { return f.Flow.modified(f.State) }

// Revert is HTTPFlow.Revert for a UDP flow.
func (f *UDPFlow) Revert() bool {
	st := f.Flow.takeBackup()
	if st == nil {
		return false
	}
	g, err := FromState(st)
	if err != nil {
		panic(fmt.Sprintf("flow: reverting %s: %v", f.ID, err))
	}
	t := g.(*UDPFlow)
	f.Flow.restoreFrom(&t.Flow)
	f.Messages = t.Messages
	return true
}

// Copy returns a deep copy with a new id that is not live, as HTTPFlow.Copy.
func (f *UDPFlow) Copy() *UDPFlow {
	c := &UDPFlow{
		Flow: Flow{
			ID: NewID(), Error: cloneError(f.Error), ClientConn: cloneClient(f.ClientConn), ServerConn: cloneServer(f.ServerConn),
			IsReplay: f.IsReplay, Marked: f.Marked,
			Metadata: f.Metadata.clone(), Comment: f.Comment, TimestampCreated: f.TimestampCreated,
		},
	}
	c.setControl(f.IsIntercepted(), f.Killed())
	if f.Messages != nil {
		c.Messages = make([]*UDPMessage, len(f.Messages))
		for i, m := range f.Messages {
			mc := *m
			mc.Content = cloneBytes(m.Content)
			c.Messages[i] = &mc
		}
	}
	return c
}
