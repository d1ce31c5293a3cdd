package script

import (
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestDNSAndUDPHooks: DNS and UDP flows cross to scripts and back: an
// answer set in dns_request, records changed in dns_response, a server
// address, an error, flow fields, kill, and UDP messages.
func TestDNSAndUDPHooks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dns.py"), `
import ipaddress
from mitmproxy import dns, flow as mflow

def dns_request(f):
    q = f.request.question
    if q.name == "answer.test":
        f.response = f.request.succeed([dns.ResourceRecord.A(q.name, ipaddress.IPv4Address("10.1.2.3"))])
    elif q.name == "forward.test":
        f.server_conn.address = ("127.0.0.1", 5300)
        f.metadata["forwarded"] = True
    elif q.name == "fail.test":
        f.error = mflow.Error("no thanks")
    elif q.name == "kill.test":
        f.kill()

def dns_response(f):
    for rr in f.response.answers:
        rr.ttl = 7
    f.comment = "ttl %d" % f.response.answers[0].ttl if f.response.answers else "none"

def udp_message(f):
    m = f.messages[-1]
    m.content = m.content[::-1]
`)
	e := newEnv(t, Config{}, nil, filepath.Join(dir, "dns.py"))
	mk := func(name string) *flow.DNSFlow {
		f := flow.NewDNSFlow(&flow.Client{ID: "c", ProxyMode: "dns"}, &flow.Server{ID: "s", TransportProtocol: "udp"})
		f.Request = &flow.DNSMessage{ID: 3, Query: true, Questions: []flow.DNSQuestion{{Name: name, Type: 1, Class: 1}}}
		return f
	}
	f := mk("answer.test")
	e.m.DNSRequest(f)
	if f.Response == nil || f.Response.ID != 3 || len(f.Response.Answers) != 1 || f.Response.Answers[0].String() != "10.1.2.3" {
		t.Fatalf("answer: %+v", f.Response)
	}
	e.m.DNSResponse(f)
	if f.Response.Answers[0].TTL != 7 || f.Comment() != "ttl 7" {
		t.Errorf("dns_response: ttl %d comment %q", f.Response.Answers[0].TTL, f.Comment())
	}
	f = mk("forward.test")
	e.m.DNSRequest(f)
	if f.Response != nil || f.ServerConn.Address.String() != "127.0.0.1:5300" {
		t.Errorf("forward: server %v response %v", f.ServerConn.Address, f.Response)
	}
	if v, _ := f.Metadata.Get("forwarded"); v != true {
		t.Errorf("metadata %v", f.Metadata)
	}
	f = mk("fail.test")
	e.m.DNSRequest(f)
	if f.Error == nil || f.Error.Msg != "no thanks" {
		t.Errorf("error %+v", f.Error)
	}
	f = mk("kill.test")
	e.m.DNSRequest(f)
	if !f.Killed() {
		t.Error("not killed")
	}
	u := flow.NewUDPFlow(&flow.Client{ID: "c"}, &flow.Server{ID: "s"})
	u.Messages = []*flow.UDPMessage{{FromClient: true, Content: []byte("abc")}}
	e.m.UDPMessage(u)
	if got := string(u.Messages[0].Content); got != "cba" {
		t.Errorf("udp message %q", got)
	}
}
