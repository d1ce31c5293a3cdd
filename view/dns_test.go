package view_test

import (
	"slices"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestDNSAndUDPFlows: DNS and UDP flows enter the view through their hooks
// and sort by mitmproxy's keys (op code or "UDP", question name or server
// address, size).
func TestDNSAndUDPFlows(t *testing.T) {
	m, v := setup(t)
	d := flow.NewDNSFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{}, "dns"), flow.NewServer(flow.Address{}))
	d.Request = &flow.DNSMessage{ID: 1, Query: true, Questions: []flow.DNSQuestion{{Name: "zz.test", Type: 1, Class: 1}}}
	d.TimestampCreated = 1
	u := flow.NewUDPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 2}, flow.Address{}, "reverse:udp://10.0.0.1:7"),
		flow.NewServer(flow.Address{Host: "10.0.0.1", Port: 7}))
	u.Messages = []*flow.UDPMessage{{FromClient: true, Content: []byte("12345")}}
	u.TimestampCreated = 2
	m.DNSRequest(d)
	m.UDPStart(u)
	if v.Len() != 2 {
		t.Fatalf("%d flows in the view", v.Len())
	}
	d.Response = d.Request.Succeed([]flow.DNSResourceRecord{{Name: "zz.test", Type: 1, Class: 1, Data: []byte{1, 2, 3, 4}}})
	m.DNSResponse(d)
	m.UDPEnd(u)
	ids := func() []string {
		var out []string
		for _, f := range v.Shown() {
			out = append(out, f.Type())
		}
		return out
	}
	for _, c := range []struct {
		set  string
		want []string
	}{
		{"view_order=method", []string{"dns", "udp"}}, // QUERY < UDP
		{"view_order=url", []string{"udp", "dns"}},    // 10.0.0.1:7 < zz.test
		{"view_order=size", []string{"dns", "udp"}},   // 4 < 5
		{"view_filter=~dns", []string{"dns"}},
	} {
		if err := m.Options().Set(c.set); err != nil {
			t.Fatal(err)
		}
		if got := ids(); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.set, got, c.want)
		}
	}
}
