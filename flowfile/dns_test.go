package flowfile

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

func dnsAndUDPFlows() []flow.Any {
	client := &flow.Client{ID: "c1", Peername: flow.Address{Host: "127.0.0.1", Port: 5000}, Sockname: flow.Address{Host: "127.0.0.1", Port: 53},
		TransportProtocol: "udp", TimestampStart: 1, ProxyMode: "dns"}
	server := &flow.Server{ID: "s1", Address: flow.Address{Host: "10.0.0.53", Port: 53}, TransportProtocol: "udp", TimestampStart: 1.5}
	q := &flow.DNSMessage{ID: 4660, Query: true, RecursionDesired: true, Timestamp: 2,
		Questions: []flow.DNSQuestion{{Name: "example.com", Type: flow.DNSTypeA, Class: flow.DNSClassIN}},
		Answers:   []flow.DNSResourceRecord{}, Authorities: []flow.DNSResourceRecord{}, Additionals: []flow.DNSResourceRecord{}}
	ok := flow.NewDNSFlow(client, server)
	ok.Request = q
	ok.Response = q.Succeed([]flow.DNSResourceRecord{flow.DNSRecordA("example.com", netip.MustParseAddr("93.184.215.14"), 60)})
	ok.Response.Timestamp = 2.5
	failed := flow.NewDNSFlow(client, server)
	failed.Request = q
	failed.Error = &flow.Error{Msg: "No hook has set a response and there is no upstream server.", Timestamp: 3}
	udp := flow.NewUDPFlow(client, server)
	udp.Messages = []*flow.UDPMessage{{FromClient: true, Content: []byte("ping"), Timestamp: 4}, {Content: []byte{0}, Timestamp: 5}}
	return []flow.Any{ok, failed, udp}
}

// TestDNSFlowsRoundTrip: DNS and UDP flows written as mitmproxy 12 writes
// them read back unchanged; DNS flows also survive mitmproxy 8.1's format
// (UDP flows, which 8.1 lacks, are refused there).
func TestDNSFlowsRoundTrip(t *testing.T) {
	flows := dnsAndUDPFlows()
	for _, version := range []int{FormatVersion, Version17} {
		var buf bytes.Buffer
		w := NewWriter(&buf, version)
		written := 0
		for _, f := range flows {
			err := w.Write(f.State())
			if version == Version17 && f.Type() == "udp" {
				if err == nil {
					t.Errorf("v%d: a UDP flow was written", version)
				}
				continue
			}
			if err != nil {
				t.Fatalf("v%d: %s: %v", version, f.Type(), err)
			}
			written++
		}
		rd := NewReader(&buf)
		i := 0
		for {
			d, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("v%d: %v", version, err)
			}
			g, err := flow.FromState(d)
			if err != nil {
				t.Fatalf("v%d: %v", version, err)
			}
			want := flows[i].State()
			if version == Version17 {
				// 8.1's format has neither field: reading it sets
				// mitmproxy's defaults (io/compat.py).
				want.Dict("client_conn").Set("proxy_mode", "regular")
				want.Dict("client_conn").Set("transport_protocol", "tcp")
				want.Dict("server_conn").Set("transport_protocol", "tcp")
			}
			got := g.(flow.Any).State()
			if !tnetstring.Equal(got, want) {
				t.Errorf("v%d flow %d differs:\n got %v\nwant %v", version, i, got, want)
			}
			i++
		}
		if i != written {
			t.Errorf("v%d: read %d flows of %d", version, i, written)
		}
	}
}

// keyOrder lists a state's dict keys depth first.
func keyOrder(v any, out *[]string) {
	switch x := v.(type) {
	case *tnetstring.Dict:
		for _, e := range x.Entries {
			*out = append(*out, e.Key)
			keyOrder(e.Value, out)
		}
	case []any:
		for _, e := range x {
			keyOrder(e, out)
		}
	}
}

// TestDNSStateIsCanonical: the state of DNS and UDP flows is what
// mitmproxy 12's get_state() gives, key order and value types included
// (canonicalize rebuilds a state as mitmproxy would).
func TestDNSStateIsCanonical(t *testing.T) {
	for _, f := range dnsAndUDPFlows() {
		st := f.State()
		c, err := canonicalize(tnetstring.Clone(st).(*tnetstring.Dict))
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		keyOrder(c, &want)
		keyOrder(st, &got)
		if !tnetstring.Equal(c, st) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: state is not canonical:\n got %v\nwant %v", f.Type(), got, want)
		}
	}
}
