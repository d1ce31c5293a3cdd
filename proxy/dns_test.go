package proxy_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mitmgo/mitmgo/addons/dnsresolver"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// dnsOrigin is a DNS server on 127.0.0.1 (UDP and TCP on one port) that
// answers every A question with 192.0.2.7, MX with "10 mail.NAME", and
// "missing.test" with NXDOMAIN.
type dnsOrigin struct {
	addr    string
	queries atomic.Int64
}

func startDNSOrigin(t *testing.T) *dnsOrigin {
	t.Helper()
	o := &dnsOrigin{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("no TCP port beside UDP %s: %v", pc.LocalAddr(), err)
	}
	o.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		o.queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "missing.test.":
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR(q.Name + " 300 IN A 192.0.2.7")
			m.Answer = append(m.Answer, rr)
		case q.Qtype == dns.TypeMX:
			rr, _ := dns.NewRR(q.Name + " 300 IN MX 10 mail." + q.Name)
			m.Answer = append(m.Answer, rr)
		}
		m.Compress = true
		_ = w.WriteMsg(m)
	})
	var wg sync.WaitGroup
	servers := []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, s := range servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() { _ = s.ActivateAndServe() })
		<-started
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
		wg.Wait()
	})
	return o
}

// dnsRecorder records the DNS hooks; onRequest and onResponse, when set,
// run in them.
type dnsRecorder struct {
	mu         sync.Mutex
	events     []string
	flows      []*flow.DNSFlow
	onRequest  func(f *flow.DNSFlow)
	onResponse func(f *flow.DNSFlow)
}

func (r *dnsRecorder) add(ev string, f *flow.DNSFlow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if ev != "dns_request" {
		r.flows = append(r.flows, f)
	}
}

func (r *dnsRecorder) DNSRequest(f *flow.DNSFlow) {
	r.add("dns_request", f)
	if r.onRequest != nil {
		r.onRequest(f)
	}
}

func (r *dnsRecorder) DNSResponse(f *flow.DNSFlow) {
	r.add("dns_response", f)
	if r.onResponse != nil {
		r.onResponse(f)
	}
}

func (r *dnsRecorder) DNSError(f *flow.DNSFlow) { r.add("dns_error", f) }

func (r *dnsRecorder) done() []*flow.DNSFlow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*flow.DNSFlow(nil), r.flows...)
}

func exchange(t *testing.T, netw, addr, name string, typ uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), typ)
	c := &dns.Client{Net: netw, Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", netw, name, dns.TypeToString[typ], err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("reply %v does not answer query %d", r.MsgHdr, m.Id)
	}
	return r
}

func answers(r *dns.Msg) string {
	var out []string
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String())
		out = append(out, f[len(f)-1])
	}
	return strings.Join(out, ",")
}

// TestDNSMode: --mode dns answers A and AAAA queries through the resolver
// (injected here: no test may need the internet), forwards others to the
// system's name server (the local origin here), over UDP and TCP, with
// the DNS hooks and mitmproxy's flows.
func TestDNSMode(t *testing.T) {
	origin := startDNSOrigin(t)
	res := dnsresolver.New()
	res.LookupIP = func(_ context.Context, network, host string) ([]netip.Addr, error) {
		switch {
		case host == "nowhere.test":
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		case host == "v4only.test" && network == "ip6":
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		case network == "ip4":
			return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("2001:db8::1")}, nil
	}
	res.SystemNameServers = func() ([]string, error) { return []string{origin.addr}, nil }
	rec := &dnsRecorder{}
	p := startModes(t, []any{rec, res}, []string{"dns"})
	addr := p.addrs["dns"]
	if want := "DNS server listening at " + addr + "."; p.lines[0] != want {
		t.Errorf("listening line %q, want %q", p.lines[0], want)
	}
	for _, netw := range []string{"udp", "tcp"} {
		t.Run(netw, func(t *testing.T) {
			if r := exchange(t, netw, addr, "example.test", dns.TypeA); r.Rcode != 0 || answers(r) != "192.0.2.1,192.0.2.2" || !r.RecursionAvailable {
				t.Errorf("A: %v", r)
			}
			if r := exchange(t, netw, addr, "example.test", dns.TypeAAAA); answers(r) != "2001:db8::1" {
				t.Errorf("AAAA: %v", r)
			}
			if r := exchange(t, netw, addr, "nowhere.test", dns.TypeA); r.Rcode != dns.RcodeNameError {
				t.Errorf("NXDOMAIN: %v", r)
			}
			if r := exchange(t, netw, addr, "v4only.test", dns.TypeAAAA); r.Rcode != 0 || len(r.Answer) != 0 {
				t.Errorf("no AAAA: %v", r)
			}
			before := origin.queries.Load()
			if r := exchange(t, netw, addr, "example.test", dns.TypeMX); answers(r) != "mail.example.test." {
				t.Errorf("MX (forwarded): %v", r)
			}
			if origin.queries.Load() != before+1 {
				t.Error("the MX query did not reach the name server")
			}
		})
	}
	flows := rec.done()
	if len(flows) != 10 {
		t.Fatalf("%d flows: %v", len(flows), rec.events)
	}
	f := flows[0]
	if f.ClientConn.ProxyMode != "dns" || f.ClientConn.TransportProtocol != "udp" || f.Request.Question().Name != "example.test" ||
		f.Response == nil || f.Error != nil || f.IsLive() {
		t.Errorf("flow %+v client %+v", f, f.ClientConn)
	}
	if mx := flows[4]; mx.ServerConn.Address.String() != origin.addr || mx.ServerConn.Peername.IsZero() {
		t.Errorf("forwarded flow's server %+v", mx.ServerConn)
	}
	if tcp := flows[5]; tcp.ClientConn.TransportProtocol != "tcp" {
		t.Errorf("TCP flow's client %+v", tcp.ClientConn)
	}
}

// TestReverseDNS: reverse:dns forwards every query to its server; an
// addon's answer in dns_request is used without asking it, one set in
// dns_response replaces the server's, and a server that does not answer
// is SERVFAIL with dns_error.
func TestReverseDNS(t *testing.T) {
	origin := startDNSOrigin(t)
	rec := &dnsRecorder{
		onRequest: func(f *flow.DNSFlow) {
			switch q := f.Request.Question(); {
			case q.Name == "spoofed.test":
				f.Response = f.Request.Succeed([]flow.DNSResourceRecord{flow.DNSRecordA(q.Name, netip.MustParseAddr("10.9.8.7"), 1)})
			case q.Name == "refused.test":
				f.Error = flow.NewError("refused by the test")
			}
		},
		onResponse: func(f *flow.DNSFlow) {
			if q := f.Request.Question(); q.Name == "rewritten.test" {
				f.Response.Answers[0] = flow.DNSRecordA(q.Name, netip.MustParseAddr("198.51.100.1"), 5)
			}
		},
	}
	spec := "reverse:dns://" + origin.addr
	p := startModes(t, []any{rec}, []string{spec})
	addr := p.addrs[spec]
	for _, netw := range []string{"udp", "tcp"} {
		before := origin.queries.Load()
		if r := exchange(t, netw, addr, "example.test", dns.TypeA); answers(r) != "192.0.2.7" {
			t.Errorf("%s forwarded: %v", netw, r)
		}
		if r := exchange(t, netw, addr, "missing.test", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s NXDOMAIN: %v", netw, r)
		}
		if r := exchange(t, netw, addr, "rewritten.test", dns.TypeA); answers(r) != "198.51.100.1" {
			t.Errorf("%s rewritten: %v", netw, r)
		}
		if got := origin.queries.Load() - before; got != 3 {
			t.Errorf("%s: the server got %d queries, want 3", netw, got)
		}
		if r := exchange(t, netw, addr, "spoofed.test", dns.TypeA); answers(r) != "10.9.8.7" {
			t.Errorf("%s spoofed: %v", netw, r)
		}
		if r := exchange(t, netw, addr, "refused.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s refused: %v", netw, r)
		}
		if got := origin.queries.Load() - before; got != 3 {
			t.Errorf("%s: answered queries reached the server (%d)", netw, got)
		}
	}
	rec.mu.Lock()
	events := strings.Join(rec.events, " ")
	rec.mu.Unlock()
	if n := strings.Count(events, "dns_error"); n != 2 {
		t.Errorf("%d dns_error events: %s", n, events)
	}
	for _, f := range rec.done() {
		if f.ClientConn.ProxyMode != spec {
			t.Errorf("proxy_mode %q", f.ClientConn.ProxyMode)
		}
	}
}

// TestReverseDNSNoServer: a server that is not there is SERVFAIL and a
// dns_error with the reason.
func TestReverseDNSNoServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	rec := &dnsRecorder{}
	spec := "reverse:dns://" + dead
	p := startModes(t, []any{rec}, []string{spec})
	if r := exchange(t, "udp", p.addrs[spec], "example.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("reply %v", r)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(rec.done()) == 1 }, "dns_error")
	f := rec.done()[0]
	if f.Error == nil || !strings.Contains(f.Error.Msg, dead) {
		t.Errorf("error %+v", f.Error)
	}
}

// udpRecorder records the UDP hooks and upper-cases what the client sends.
type udpRecorder struct {
	mu          sync.Mutex
	events      []string
	flow        *flow.UDPFlow
	killAtStart bool
}

func (r *udpRecorder) add(ev string, f *flow.UDPFlow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	r.flow = f
}

func (r *udpRecorder) UDPStart(f *flow.UDPFlow) {
	r.add("udp_start", f)
	if r.killAtStart {
		_ = f.Kill()
	}
}
func (r *udpRecorder) UDPMessage(f *flow.UDPFlow) {
	m := f.Messages[len(f.Messages)-1]
	if m.FromClient {
		m.Content = []byte(strings.ToUpper(string(m.Content)))
	}
	r.add("udp_message", f)
}
func (r *udpRecorder) UDPEnd(f *flow.UDPFlow)   { r.add("udp_end", f) }
func (r *udpRecorder) UDPError(f *flow.UDPFlow) { r.add("udp_error", f) }

func (r *udpRecorder) seen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, " ")
}

// TestReverseUDP: reverse:udp relays datagrams both ways to an echo server,
// one flow per client address, each datagram through udp_message (which
// may change it); the flow ends with udp_end.
func TestReverseUDP(t *testing.T) {
	echo := startUDPEcho(t)
	rec := &udpRecorder{}
	spec := "reverse:udp://" + echo
	p := startModes(t, []any{rec}, []string{spec})
	if !strings.HasPrefix(p.lines[0], "reverse proxy to udp://") {
		t.Errorf("listening line %q", p.lines[0])
	}
	c, err := net.Dial("udp", p.addrs[spec])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	for _, msg := range []string{"ping", "again"} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(buf[:n]), "echo:"+strings.ToUpper(msg); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// The session ends with the proxy here (or after 20 s of silence).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	if got, want := rec.seen(), "udp_start udp_message udp_message udp_message udp_message udp_end"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	f := rec.flow
	if len(f.Messages) != 4 || !f.Messages[0].FromClient || string(f.Messages[1].Content) != "echo:PING" || f.Messages[1].FromClient {
		t.Errorf("messages %+v", f.Messages)
	}
	if f.ClientConn.TransportProtocol != "udp" || f.ServerConn.Address.String() != echo || f.IsLive() {
		t.Errorf("flow %+v", f)
	}
}

// TestDNSKilled: a DNS flow killed in dns_request ends as mitmproxy's does:
// dns_error with the kill's error, and SERVFAIL for the client (before, it
// had no last hook and stayed in flight).
func TestDNSKilled(t *testing.T) {
	rec := &dnsRecorder{onRequest: func(f *flow.DNSFlow) { _ = f.Kill() }}
	spec := "reverse:dns://127.0.0.1:9"
	p := startModes(t, []any{rec}, []string{spec})
	if r := exchange(t, "udp", p.addrs[spec], "example.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("reply %v, want SERVFAIL", r)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(rec.done()) == 1 }, "dns_error")
	rec.mu.Lock()
	events := strings.Join(rec.events, " ")
	rec.mu.Unlock()
	if f := rec.done()[0]; events != "dns_request dns_error" || f.Error == nil || f.Error.Msg != flow.KilledMessage {
		t.Errorf("events %q, error %+v", events, f.Error)
	}
}

// TestUDPKilledAtStart: a UDP flow killed in udp_start ends with udp_error
// and the kill's error (mitmproxy's), not udp_end, and no datagram goes on.
func TestUDPKilledAtStart(t *testing.T) {
	echo := startUDPEcho(t)
	rec := &udpRecorder{killAtStart: true}
	spec := "reverse:udp://" + echo
	p := startModes(t, []any{rec}, []string{spec})
	c, err := net.Dial("udp", p.addrs[spec])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return strings.HasSuffix(rec.seen(), "udp_error") }, "udp_error")
	rec.mu.Lock()
	f := rec.flow
	rec.mu.Unlock()
	if got := rec.seen(); got != "udp_start udp_error" || f.Error == nil || f.Error.Msg != flow.KilledMessage {
		t.Errorf("events %q, error %+v", got, f.Error)
	}
}
