package flow

import (
	"bytes"
	"testing"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// TestFromStateOwnsBytes checks that a flow made by FromState shares no
// memory with the record it was decoded from: the decoder allocates one
// buffer per record, and a flow keeping a slice of it would keep the whole
// record alive as long as the flow is loaded. The record's bytes are
// overwritten after FromState; the flow's state must not change.
func TestFromStateOwnsBytes(t *testing.T) {
	closed := true
	http := typicalFlow()
	md := tnetstring.NewDict()
	md.Set("nested", []any{[]byte("meta bytes"), "s"})
	http.Metadata.Set("d", md)
	http.Metadata.Set("b", []byte("top-level bytes"))
	http.WebSocket = &WebSocketData{
		Messages:       []*WebSocketMessage{{Type: WebSocketBinary, Content: []byte{1, 2, 3}, Timestamp: 7}},
		ClosedByClient: &closed, CloseCode: 1000, CloseReason: "bye", TimestampEnd: 8,
	}
	http.Request.Trailers = NewHeaders("X-Trailer", "1")
	http.Response.RawContent = bytes.Repeat([]byte("large body "), 10000)

	tcp := NewTCPFlow(&Client{ID: "c", Peername: Address{"127.0.0.1", 1}}, &Server{ID: "s"})
	tcp.Messages = []*TCPMessage{{FromClient: true, Content: []byte("tcp payload"), Timestamp: 1}}
	udp := NewUDPFlow(&Client{ID: "c"}, &Server{ID: "s"})
	udp.Messages = []*UDPMessage{{FromClient: true, Content: []byte("udp payload"), Timestamp: 1}}
	dns := typicalDNSFlow()

	for name, f := range map[string]interface{ State() *tnetstring.Dict }{
		"http": http, "tcp": tcp, "udp": udp, "dns": dns,
	} {
		t.Run(name, func(t *testing.T) {
			record, err := tnetstring.Marshal(f.State())
			if err != nil {
				t.Fatal(err)
			}
			v, _, err := tnetstring.Unmarshal(record)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromState(v.(*tnetstring.Dict))
			if err != nil {
				t.Fatal(err)
			}
			loaded := got.(interface{ State() *tnetstring.Dict })
			before, err := tnetstring.Marshal(loaded.State())
			if err != nil {
				t.Fatal(err)
			}
			for i := range record {
				record[i] = 'Z'
			}
			after, err := tnetstring.Marshal(loaded.State())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("overwriting the record changed the loaded flow: it shares the record's buffer\nbefore: %q\nafter:  %q", before, after)
			}
		})
	}
}
