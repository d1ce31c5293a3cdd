package dnsresolver

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func newResolver(t *testing.T, r *Resolver, sets ...string) {
	t.Helper()
	m := addon.NewManager()
	if err := m.Add(r); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(sets...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
}

func query(mode, name string, typ int) *flow.DNSFlow {
	f := flow.NewDNSFlow(&flow.Client{ProxyMode: mode}, &flow.Server{TransportProtocol: "udp"})
	f.Request = &flow.DNSMessage{ID: 9, Query: true, Questions: []flow.DNSQuestion{{Name: name, Type: typ, Class: flow.DNSClassIN}}}
	return f
}

func TestResolver(t *testing.T) {
	r := &Resolver{
		LookupIP: func(_ context.Context, network, host string) ([]netip.Addr, error) {
			switch {
			case host == "gone.test", host == "v4.test" && network == "ip6":
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			case host == "broken.test":
				return nil, &net.DNSError{Err: "server misbehaving", Name: host}
			case network == "ip4":
				return []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("2001:db8::2")}, nil
		},
		SystemNameServers: func() ([]string, error) { return []string{"192.0.2.53"}, nil },
	}
	newResolver(t, r)
	for _, c := range []struct {
		mode, name string
		typ        int
		rcode      int
		answer     string
		server     string
		untouched  bool
	}{
		{mode: "dns", name: "a.test", typ: flow.DNSTypeA, answer: "192.0.2.1"},
		{mode: "dns@5353", name: "a.test", typ: flow.DNSTypeAAAA, answer: "2001:db8::2"},
		{mode: "dns", name: "gone.test", typ: flow.DNSTypeA, rcode: flow.DNSNXDomain},
		{mode: "dns", name: "v4.test", typ: flow.DNSTypeAAAA},
		{mode: "dns", name: "broken.test", typ: flow.DNSTypeA, rcode: flow.DNSServFail},
		{mode: "dns", name: "a.test", typ: flow.DNSTypeMX, server: "192.0.2.53:53"},
		{mode: "reverse:dns://10.0.0.1", name: "a.test", typ: flow.DNSTypeA, untouched: true},
		{mode: "regular", name: "a.test", typ: flow.DNSTypeA, untouched: true},
	} {
		f := query(c.mode, c.name, c.typ)
		r.DNSRequest(f)
		switch {
		case c.untouched:
			if f.Response != nil || f.Error != nil || !f.ServerConn.Address.IsZero() {
				t.Errorf("%+v: flow changed", c)
			}
		case c.server != "":
			if f.Response != nil || f.ServerConn.Address.String() != c.server {
				t.Errorf("%+v: server %v", c, f.ServerConn.Address)
			}
		default:
			if f.Response == nil || f.Response.ResponseCode != c.rcode || f.Response.ID != 9 {
				t.Fatalf("%+v: response %+v", c, f.Response)
			}
			got := ""
			if len(f.Response.Answers) > 0 {
				got = f.Response.Answers[0].String()
			}
			if got != c.answer || len(f.Response.Answers) > 1 {
				t.Errorf("%+v: answers %v", c, f.Response.Answers)
			}
		}
	}
	// A flow a script answered is left alone.
	f := query("dns", "a.test", flow.DNSTypeA)
	f.Response = f.Request.Succeed(nil)
	r.DNSRequest(f)
	if len(f.Response.Answers) != 0 {
		t.Error("an answered flow was resolved again")
	}
}

func TestResolverNoNameServers(t *testing.T) {
	r := &Resolver{SystemNameServers: func() ([]string, error) { return nil, nil }}
	newResolver(t, r)
	f := query("dns", "a.test", flow.DNSTypeTXT)
	r.DNSRequest(f)
	if f.Error == nil || f.Error.Msg != "Cannot resolve, dns_name_servers unknown." {
		t.Errorf("error %+v", f.Error)
	}
}

// TestResolverNameServersOption: dns_name_servers is asked for addresses
// and is where other queries go.
func TestResolverNameServersOption(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR(q.Question[0].Name + " 5 IN A 198.51.100.3")
			m.Answer = []dns.RR{rr}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() { _ = srv.ActivateAndServe(); close(done) }()
	<-started
	defer func() { _ = srv.Shutdown(); <-done }()

	r := New()
	newResolver(t, r, "dns_name_servers="+pc.LocalAddr().String())
	f := query("dns", "x.test", flow.DNSTypeA)
	r.DNSRequest(f)
	if f.Response == nil || len(f.Response.Answers) != 1 || f.Response.Answers[0].String() != "198.51.100.3" {
		t.Fatalf("response %+v error %+v", f.Response, f.Error)
	}
	f = query("dns", "x.test", flow.DNSTypeAAAA)
	r.DNSRequest(f)
	// The name exists (it has an A record): no data, not NXDOMAIN.
	if f.Response == nil || f.Response.ResponseCode != flow.DNSNoError || len(f.Response.Answers) != 0 {
		t.Errorf("AAAA without addresses: %+v", f.Response)
	}
	f = query("dns", "x.test", flow.DNSTypeSRV)
	r.DNSRequest(f)
	if f.ServerConn.Address.String() != pc.LocalAddr().String() {
		t.Errorf("SRV goes to %v", f.ServerConn.Address)
	}
}
