package dumper

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func dnsFlow(typ int, name string) *flow.DNSFlow {
	f := flow.NewDNSFlow(
		&flow.Client{Peername: flow.Address{Host: "127.0.0.1", Port: 5353}, ProxyMode: "dns"},
		flow.NewServer(flow.Address{}))
	f.Request = &flow.DNSMessage{ID: 1, Query: true, Questions: []flow.DNSQuestion{{Name: name, Type: typ, Class: 1}}}
	return f
}

// TestDNSLines: mitmproxy 12's dumper lines for DNS responses and errors,
// and for UDP messages, plain and coloured.
func TestDNSLines(t *testing.T) {
	answered := dnsFlow(flow.DNSTypeA, "example.com")
	answered.Response = answered.Request.Succeed([]flow.DNSResourceRecord{
		flow.DNSRecordA("example.com", netip.MustParseAddr("1.2.3.4"), 60),
		flow.DNSRecordA("example.com", netip.MustParseAddr("5.6.7.8"), 60),
	})
	nx := dnsFlow(flow.DNSTypeAAAA, "nope.test")
	nx.Response, _ = nx.Request.Fail(flow.DNSNXDomain)
	mx := dnsFlow(flow.DNSTypeMX, "example.com")
	mx.Error = flow.NewError("Cannot resolve, dns_name_servers unknown.")
	replayed := dnsFlow(flow.DNSTypeA, "example.com")
	replayed.IsReplay = "request"
	replayed.Response = replayed.Request.Succeed(nil)
	udp := flow.NewUDPFlow(&flow.Client{Peername: flow.Address{Host: "127.0.0.1", Port: 4000}}, flow.NewServer(flow.Address{Host: "10.0.0.1", Port: 7}))
	udp.Messages = []*flow.UDPMessage{{FromClient: true, Content: []byte("ping")}}
	udpErr := flow.NewUDPFlow(nil, flow.NewServer(flow.Address{Host: "10.0.0.1", Port: 7}))
	udpErr.Error = flow.NewError("refused")

	for _, c := range []struct {
		name  string
		tty   bool
		fire  func(d *Dumper)
		want  string
		specs []string
	}{
		{"answers", false, func(d *Dumper) { d.DNSResponse(answered) }, "127.0.0.1:5353: DNS QUERY (A) example.com\n << 1.2.3.4, 5.6.7.8\n", nil},
		{"rcode", false, func(d *Dumper) { d.DNSResponse(nx) }, "127.0.0.1:5353: DNS QUERY (AAAA) nope.test\n << NXDOMAIN\n", nil},
		{"error", false, func(d *Dumper) { d.DNSError(mx) }, "127.0.0.1:5353: DNS QUERY (MX) example.com\n << Cannot resolve, dns_name_servers unknown.\n", nil},
		{"replay", false, func(d *Dumper) { d.DNSResponse(replayed) }, "[replay]: DNS QUERY (A) example.com\n << NOERROR\n", nil},
		{"udp", false, func(d *Dumper) { d.UDPMessage(udp) }, "127.0.0.1:4000 -> udp -> 10.0.0.1:7\n", nil},
		{"udp detail 3", false, func(d *Dumper) { d.UDPMessage(udp) }, "127.0.0.1:4000 -> udp -> 10.0.0.1:7\n\n    ping\n\n", []string{"flow_detail=3"}},
		{"udp error", false, func(d *Dumper) { d.UDPError(udpErr) }, "Error in UDP connection to 10.0.0.1:7: refused\n", nil},
		{"answers tty", true, func(d *Dumper) { d.DNSResponse(answered) },
			"127.0.0.1:5353: \x1b[32mDNS QUERY (A)\x1b[0m \x1b[1mexample.com\x1b[0m\n\x1b[1m <<\x1b[0m \x1b[94m1.2.3.4\x1b[0m, \x1b[94m5.6.7.8\x1b[0m\n", nil},
		{"rcode tty", true, func(d *Dumper) { d.DNSResponse(nx) },
			"127.0.0.1:5353: \x1b[35mDNS QUERY (AAAA)\x1b[0m \x1b[1mnope.test\x1b[0m\n\x1b[1m <<\x1b[0m \x1b[31mNXDOMAIN\x1b[0m\n", nil},
		{"error tty", true, func(d *Dumper) { d.DNSError(mx) },
			"127.0.0.1:5353: \x1b[31mDNS QUERY (MX)\x1b[0m \x1b[1mexample.com\x1b[0m\n\x1b[31m\x1b[1m << Cannot resolve, dns_name_servers unknown.\x1b[0m\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			d, _ := newTestDumper(t, &buf, c.tty, c.specs...)
			c.fire(d)
			if got := buf.String(); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
