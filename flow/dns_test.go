package flow

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"testing"

	"github.com/miekg/dns"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
	"github.com/mitmgo/mitmgo/tnetstring"
)

func dnsQuery(id int, name string, typ int) *DNSMessage {
	return &DNSMessage{ID: id, Query: true, RecursionDesired: true,
		Questions: []DNSQuestion{{Name: name, Type: typ, Class: DNSClassIN}},
		Answers:   []DNSResourceRecord{}, Authorities: []DNSResourceRecord{}, Additionals: []DNSResourceRecord{}}
}

func dnsMessages() map[string]*DNSMessage {
	a := dnsQuery(7, "example.com", DNSTypeA)
	ok := a.Succeed([]DNSResourceRecord{
		DNSRecordA("example.com", netip.MustParseAddr("1.2.3.4"), 60),
		DNSRecordAAAA("example.com", netip.MustParseAddr("::1"), 30),
		// A TXT record as servers send it (DNSRecordTXT leaves out the
		// length, as mitmproxy's ResourceRecord.TXT does).
		{Name: "example.com", Type: DNSTypeTXT, Class: DNSClassIN, TTL: 10, Data: []byte("\x0bhello world")},
	})
	ok.Timestamp = 0
	cname, _ := DNSRecordCNAME("www.example.com", "example.com", 5)
	ok.Authorities = []DNSResourceRecord{cname}
	// An EDNS OPT record and a type miekg/dns does not know, kept raw.
	ok.Additionals = []DNSResourceRecord{
		{Name: "", Type: DNSTypeOPT, Class: 1232, TTL: 0, Data: []byte{}},
		{Name: "x.test", Type: 65280, Class: 1, TTL: 1, Data: []byte{0xde, 0xad}},
	}
	nx, _ := dnsQuery(0xffff, "nope.test", DNSTypeAAAA).Fail(DNSNXDomain)
	nx.Timestamp = 0
	bits := dnsQuery(1, "", 255)
	bits.OpCode, bits.AuthoritativeAnswer, bits.Truncation, bits.RecursionAvailable = 4, true, true, true
	bits.Reserved, bits.ResponseCode, bits.Query = 5, 15, false
	empty := &DNSMessage{ID: 3, Query: true}
	return map[string]*DNSMessage{"query": a, "answers": ok, "nxdomain": nx, "bits": bits, "empty": empty}
}

// normalise makes nil and empty sections equal for comparison.
func normalise(m *DNSMessage) *DNSMessage {
	c := m.Clone()
	if c.Questions == nil {
		c.Questions = []DNSQuestion{}
	}
	for _, p := range []*[]DNSResourceRecord{&c.Answers, &c.Authorities, &c.Additionals} {
		if *p == nil {
			*p = []DNSResourceRecord{}
		}
	}
	c.Timestamp = 0
	return c
}

func TestDNSWireRoundTrip(t *testing.T) {
	for name, m := range dnsMessages() {
		t.Run(name, func(t *testing.T) {
			b, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnpackDNSMessage(b, 5)
			if err != nil {
				t.Fatal(err)
			}
			if got.Timestamp != 5 {
				t.Errorf("timestamp %v", got.Timestamp)
			}
			if !reflect.DeepEqual(normalise(got), normalise(m)) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
			}
			// miekg/dns reads what we write.
			var mm dns.Msg
			if err := mm.Unpack(b); err != nil {
				t.Fatalf("miekg/dns: %v", err)
			}
			if int(mm.Id) != m.ID || mm.Response == m.Query || len(mm.Question) != len(m.Questions) {
				t.Errorf("miekg/dns read %v", mm.MsgHdr)
			}
		})
	}
}

func TestDNSUnpackCompressed(t *testing.T) {
	// A compressed response as a real server sends it.
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.Response = true
	cname, _ := dns.NewRR("www.example.com. 300 IN CNAME example.com.")
	a, _ := dns.NewRR("example.com. 300 IN A 93.184.215.14")
	mx, _ := dns.NewRR("example.com. 300 IN MX 10 mail.example.com.")
	m.Answer = []dns.RR{cname, a}
	m.Extra = []dns.RR{mx}
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnpackDNSMessage(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Question(); q == nil || q.Name != "www.example.com" || q.Type != DNSTypeA || q.Class != DNSClassIN {
		t.Errorf("question %+v", got.Questions)
	}
	if n, err := got.Answers[0].DomainName(); err != nil || n != "example.com" {
		t.Errorf("CNAME data %q: %v", n, err)
	}
	if s := got.Answers[1].String(); s != "93.184.215.14" || got.Answers[1].TTL != 300 {
		t.Errorf("A record %s ttl %d", s, got.Answers[1].TTL)
	}
	// The MX exchange is decompressed in the data.
	want := append([]byte{0, 10}, mustPack(t, "mail.example.com")...)
	if !bytes.Equal(got.Additionals[0].Data, want) {
		t.Errorf("MX data %x, want %x", got.Additionals[0].Data, want)
	}
	if got.Query || got.ResponseCode != 0 || !got.RecursionDesired {
		t.Errorf("header %+v", got)
	}
}

func mustPack(t *testing.T, name string) []byte {
	t.Helper()
	b, err := PackDomainName(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDNSUnpackErrors(t *testing.T) {
	q, _ := dnsQuery(1, "example.com", 1).Pack()
	for name, b := range map[string][]byte{
		"short header":      {0, 1, 0},
		"missing question":  append(append([]byte{}, q[:4]...), 0, 2, 0, 0, 0, 0),
		"truncated name":    q[:15],
		"count lies":        append(append(append([]byte{}, q[:6]...), 0, 1), q[8:]...),
		"bad label pointer": append(append([]byte{}, q[:12]...), 0xc0, 0xff, 0, 1, 0, 1),
	} {
		if m, err := UnpackDNSMessage(b, 0); err == nil {
			t.Errorf("%s: no error, got %+v", name, m)
		}
	}
}

func TestDNSPackErrors(t *testing.T) {
	for name, mod := range map[string]func(m *DNSMessage){
		"id":       func(m *DNSMessage) { m.ID = 65536 },
		"op_code":  func(m *DNSMessage) { m.OpCode = 16 },
		"reserved": func(m *DNSMessage) { m.Reserved = 8 },
		"rcode":    func(m *DNSMessage) { m.ResponseCode = -1 },
		"type":     func(m *DNSMessage) { m.Questions[0].Type = 70000 },
		"ttl":      func(m *DNSMessage) { m.Answers = []DNSResourceRecord{{Name: "a", Type: 1, Class: 1, TTL: -1}} },
	} {
		m := dnsQuery(1, "example.com", 1)
		mod(m)
		if _, err := m.Pack(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDNSSucceedFail(t *testing.T) {
	q := dnsQuery(42, "example.com", DNSTypeAAAA)
	r := q.Succeed(nil)
	if r.ID != 42 || r.Query || !r.RecursionAvailable || !r.RecursionDesired || r.ResponseCode != 0 || r.Timestamp == 0 || len(r.Questions) != 1 {
		t.Errorf("succeed: %+v", r)
	}
	f, err := q.Fail(DNSNXDomain)
	if err != nil || f.ResponseCode != DNSNXDomain || f.RecursionAvailable || len(f.Answers) != 0 {
		t.Errorf("fail: %+v %v", f, err)
	}
	if _, err := q.Fail(DNSNoError); err == nil {
		t.Error("fail(NOERROR) accepted")
	}
}

func TestDNSRecordString(t *testing.T) {
	cname, _ := DNSRecordCNAME("a", "b.example", 1)
	for _, c := range []struct {
		r    DNSResourceRecord
		want string
	}{
		{DNSRecordA("a", netip.MustParseAddr("10.0.0.1"), 1), "10.0.0.1"},
		{DNSRecordAAAA("a", netip.MustParseAddr("2001:db8::1"), 1), "2001:db8::1"},
		{cname, "b.example"},
		{DNSRecordTXT("a", "text", 1), "text"},
		{DNSResourceRecord{Type: DNSTypeA, Data: []byte{1}}, "0x01 (invalid A data)"},
		{DNSResourceRecord{Type: DNSTypeTXT, Data: []byte{0xff}}, "0xff (invalid TXT data)"},
		{DNSResourceRecord{Type: DNSTypeMX, Data: []byte{0, 1}}, "0x0001"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
	for _, c := range []struct {
		got, want string
	}{
		{DNSTypeString(1), "A"}, {DNSTypeString(28), "AAAA"}, {DNSTypeString(65), "HTTPS"},
		{DNSTypeString(23), "NSAP_PTR"}, {DNSTypeString(65280), "TYPE(65280)"},
		{DNSClassString(1), "IN"}, {DNSClassString(9), "CLASS(9)"},
		{DNSOpCodeString(0), "QUERY"}, {DNSOpCodeString(3), "OPCODE(3)"},
		{DNSResponseCodeString(3), "NXDOMAIN"}, {DNSResponseCodeString(12), "RCODE(12)"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

func typicalDNSFlow() *DNSFlow {
	f := NewDNSFlow(
		&Client{ID: "11111111-1111-4111-8111-111111111111", Peername: Address{"127.0.0.1", 40000}, Sockname: Address{"127.0.0.1", 5353},
			TransportProtocol: "udp", TimestampStart: 1, ProxyMode: "dns@5353"},
		&Server{ID: "22222222-2222-4222-8222-222222222222", Address: Address{"10.0.0.53", 53}, TransportProtocol: "udp", TimestampStart: 1.5},
	)
	f.ID = "44444444-4444-4444-8444-444444444444"
	f.TimestampCreated = 1
	f.Request = dnsQuery(4660, "example.com", DNSTypeA)
	f.Request.Timestamp = 2
	f.Response = f.Request.Succeed([]DNSResourceRecord{DNSRecordA("example.com", netip.MustParseAddr("93.184.215.14"), 60)})
	f.Response.Timestamp = 2.5
	return f
}

func TestDNSStateGolden(t *testing.T) {
	golden(t, "state_dns.golden", renderPy(typicalDNSFlow().State())+"\n")
	u := NewUDPFlow(
		&Client{ID: "11111111-1111-4111-8111-111111111111", Peername: Address{"127.0.0.1", 40000}, Sockname: Address{"127.0.0.1", 9999},
			TransportProtocol: "udp", TimestampStart: 1, ProxyMode: "reverse:udp://127.0.0.1:7@9999"},
		&Server{ID: "22222222-2222-4222-8222-222222222222", Address: Address{"127.0.0.1", 7}, TransportProtocol: "udp", TimestampStart: 1.5},
	)
	u.ID = "55555555-5555-4555-8555-555555555555"
	u.TimestampCreated = 1
	u.Messages = []*UDPMessage{{FromClient: true, Content: []byte("ping"), Timestamp: 2}, {Content: []byte{0xff}, Timestamp: 2.5}}
	golden(t, "state_udp.golden", renderPy(u.State())+"\n")
}

func TestDNSStateRoundTrip(t *testing.T) {
	errored := typicalDNSFlow()
	errored.Response = nil
	errored.Error = &Error{Msg: "No hook has set a response and there is no upstream server.", Timestamp: 3}
	full := typicalDNSFlow()
	full.Response.Additionals = []DNSResourceRecord{{Name: "", Type: DNSTypeOPT, Class: 512, Data: []byte{}}}
	full.SetMarked(":default:")
	udp := NewUDPFlow(&Client{ID: "c"}, &Server{ID: "s"})
	udp.Messages = []*UDPMessage{{FromClient: true, Content: []byte("x"), Timestamp: 1}}
	for name, f := range map[string]Any{"typical": typicalDNSFlow(), "error": errored, "full": full, "udp": udp} {
		t.Run(name, func(t *testing.T) {
			want := roundTrip(t, f.State())
			got, err := FromState(want)
			if err != nil {
				t.Fatal(err)
			}
			g := got.(Any)
			if g.Type() != f.Type() || g.Base().IsLive() {
				t.Errorf("type %s live %v", g.Type(), g.Base().IsLive())
			}
			if st := g.State(); !tnetstring.Equal(st, want) {
				t.Errorf("state differs:\n%s\nwant\n%s", renderPy(st), renderPy(want))
			}
			c := CopyAny(g)
			if c.Base().ID == g.Base().ID {
				t.Error("copy kept the id")
			}
			c.Backup()
			switch c := c.(type) {
			case *DNSFlow:
				c.Request.Questions[0].Name = "changed"
				if g.(*DNSFlow).Request.Questions[0].Name == "changed" {
					t.Error("copy shares its request")
				}
			case *UDPFlow:
				c.Messages[0].Content = []byte("y")
				if g.(*UDPFlow).Messages[0].Content[0] == 'y' {
					t.Error("copy shares its messages")
				}
			}
			if !c.Modified() || !c.Revert() || c.Modified() {
				t.Error("backup/revert")
			}
		})
	}
}

// TestDNSWireOracle compares the codec with mitmproxy's own (Debian's
// mitmproxy 8.1.1 has mitmproxy.dns, whose packing mitmproxy 12 kept).
func TestDNSWireOracle(t *testing.T) {
	py := pyoracle.Find(t, "/usr/bin/python3", "mitmproxy.dns")
	type item struct {
		Hex   string         `json:"hex"`
		State map[string]any `json:"state"`
	}
	var in []string
	var names []string
	for name, m := range dnsMessages() {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		in = append(in, hex.EncodeToString(b))
	}
	var out []item
	pyoracle.Run(t, py, `
import json, sys
from mitmproxy import dns
res = []
for h in json.load(sys.stdin):
    m = dns.Message.unpack(bytes.fromhex(h))
    st = m.get_state()
    for sec in ("answers", "authorities", "additionals"):
        for r in st[sec]:
            r["data"] = r["data"].hex()
    res.append({"hex": m.packed.hex(), "state": st})
json.dump(res, sys.stdout)
`, in, &out)
	for i, o := range out {
		if o.Hex != in[i] {
			t.Errorf("%s: mitmproxy packs it as %s, we %s", names[i], o.Hex, in[i])
		}
		m, _ := UnpackDNSMessage(mustHex(t, in[i]), 0)
		if n := len(o.State["answers"].([]any)); n != len(m.Answers) {
			t.Errorf("%s: mitmproxy reads %d answers, we %d", names[i], n, len(m.Answers))
		}
		for j, q := range o.State["questions"].([]any) {
			if qn := q.(map[string]any)["name"]; qn != m.Questions[j].Name {
				t.Errorf("%s: question name %q, we %q", names[i], qn, m.Questions[j].Name)
			}
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzDNSUnpack(f *testing.F) {
	for _, m := range dnsMessages() {
		b, _ := m.Pack()
		f.Add(b)
	}
	c := new(dns.Msg)
	c.SetQuestion("a.example.", dns.TypeMX)
	mx, _ := dns.NewRR("a.example. 1 IN MX 1 b.a.example.")
	c.Answer = []dns.RR{mx}
	c.Compress = true
	b, _ := c.Pack()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnpackDNSMessage(b, 0)
		if err != nil {
			return
		}
		// What we read we can write, and it reads back the same.
		out, err := m.Pack()
		if err != nil {
			t.Fatalf("Pack of an unpacked message: %v", err)
		}
		m2, err := UnpackDNSMessage(out, 0)
		if err != nil {
			t.Fatalf("re-unpack: %v", err)
		}
		if !reflect.DeepEqual(normalise(m), normalise(m2)) {
			t.Fatalf("round trip:\n%+v\n%+v", m, m2)
		}
		_ = m.String()
	})
}
