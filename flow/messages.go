package flow

import (
	"fmt"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// streamMessage is *TCPMessage or *UDPMessage: a message of a TCP or UDP
// flow, of which mitmproxy's state keeps the same three fields.
type streamMessage[M any] interface {
	*M
	// fields points at the direction, content and timestamp.
	fields() (fromClient *bool, content *[]byte, timestamp *float64)
}

func (m *TCPMessage) fields() (*bool, *[]byte, *float64) {
	return &m.FromClient, &m.Content, &m.Timestamp
}

func (m *UDPMessage) fields() (*bool, *[]byte, *float64) {
	return &m.FromClient, &m.Content, &m.Timestamp
}

// messagesState writes messages as mitmproxy's state does:
// [from_client, content, timestamp] each.
func messagesState[M any, P streamMessage[M]](ms []*M) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		fc, content, ts := P(m).fields()
		out[i] = []any{*fc, nonNilBytes(*content), *ts}
	}
	return out
}

// messagesFromState reads the "messages" list of the state dict of a flow
// of type typ (for the error) back.
func messagesFromState[M any, P streamMessage[M]](d *tnetstring.Dict, typ, id string) ([]*M, error) {
	var ms []*M
	for _, v := range d.List("messages") {
		l, ok := v.([]any)
		if !ok || len(l) < 3 {
			return nil, fmt.Errorf("%s flow %s: malformed message", typ, id)
		}
		m := new(M)
		fc, content, ts := P(m).fields()
		*fc, _ = l[0].(bool)
		*content, *ts = anyBytes(l[1]), anyFloat(l[2])
		ms = append(ms, m)
	}
	return ms, nil
}

// cloneMessages deep-copies messages (nil stays nil).
func cloneMessages[M any, P streamMessage[M]](ms []*M) []*M {
	if ms == nil {
		return nil
	}
	out := make([]*M, len(ms))
	for i, m := range ms {
		mc := *m
		_, content, _ := P(&mc).fields()
		*content = cloneBytes(*content)
		out[i] = &mc
	}
	return out
}
