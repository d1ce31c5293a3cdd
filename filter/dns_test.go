package filter

import (
	"net/netip"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestDNSAndUDPFlows: ~dns, ~udp and the operators mitmproxy 12 applies
// to DNS and UDP flows (~q, ~s, ~u on the question, ~b on str(message),
// ~e, ~src, ~dst).
func TestDNSAndUDPFlows(t *testing.T) {
	client := &flow.Client{Peername: flow.Address{Host: "127.0.0.1", Port: 5000}}
	query := &flow.DNSMessage{ID: 1, Query: true, Questions: []flow.DNSQuestion{{Name: "example.com", Type: 1, Class: 1}}}
	answered := flow.NewDNSFlow(client, flow.NewServer(flow.Address{Host: "10.0.0.53", Port: 53}))
	answered.Request = query
	answered.Response = query.Succeed([]flow.DNSResourceRecord{flow.DNSRecordA("example.com", netip.MustParseAddr("93.184.215.14"), 60)})
	pending := flow.NewDNSFlow(client, flow.NewServer(flow.Address{}))
	pending.Request = query
	pending.Error = flow.NewError("boom")
	udp := flow.NewUDPFlow(client, flow.NewServer(flow.Address{Host: "127.0.0.1", Port: 7}))
	udp.Messages = []*flow.UDPMessage{{FromClient: true, Content: []byte("ping")}, {Content: []byte("pong")}}
	tcp := flow.NewTCPFlow(client, nil)

	for _, c := range []struct {
		expr string
		f    any
		want bool
	}{
		{"~dns", answered, true},
		{"~dns", udp, false},
		{"~dns", tcp, false},
		{"~udp", udp, true},
		{"~udp", answered, false},
		{"~tcp", udp, false},
		{"~http", answered, false},
		{"~s", answered, true},
		{"~q", answered, false},
		{"~q", pending, true},
		{"~e", pending, true},
		{"~e", answered, false},
		{"~u example", answered, true},
		{"example.com", answered, true},
		{"~u other", answered, false},
		{"~b 93.184", answered, true},
		{"~bq 93.184", answered, false},
		{"~bs 93.184", answered, true},
		{"~bq ping", udp, true},
		{"~bs ping", udp, false},
		{"~bs pong", udp, true},
		{"~dst 10.0.0.53", answered, true},
		{"~src 127.0.0.1", udp, true},
		{"~dns & ~s", answered, true},
		{"!~dns", udp, true},
		{"~h x", answered, false},
	} {
		flt, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := flt.Match(c.f); got != c.want {
			t.Errorf("%s on %T: %v, want %v", c.expr, c.f, got, c.want)
		}
	}
}
