package proxy_test

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// dnsSimple is mitmproxy 12's examples/addons/dns-simple.py (its code, as
// a script written for mitmproxy uses the API).
const dnsSimple = `import ipaddress
import logging

from mitmproxy import dns


def dns_request(flow: dns.DNSFlow) -> None:
    q = flow.request.question
    if q and q.type == dns.types.AAAA:
        logging.info(f"Spoofing IPv6 records for {q.name}...")
        if q.name == "example.com":
            flow.response = flow.request.succeed(
                [
                    dns.ResourceRecord(
                        name="example.com",
                        type=dns.types.AAAA,
                        class_=dns.classes.IN,
                        ttl=dns.ResourceRecord.DEFAULT_TTL,
                        data=ipaddress.ip_address("::1").packed,
                    )
                ]
            )
        elif q.name == "example.org":
            flow.response = flow.request.fail(dns.response_codes.NXDOMAIN)
        else:
            flow.response = flow.request.succeed([])
`

// dnsRewrite changes answers in dns_response and records what the flow
// looked like in the hooks in its metadata.
const dnsRewrite = `import ipaddress
from mitmproxy import dns


def dns_response(flow):
    r = flow.response
    for rr in r.answers:
        if rr.type == dns.types.A and rr.name == "rewrite.test":
            rr.ipv4_address = ipaddress.IPv4Address("203.0.113.9")
    flow.metadata["answers"] = [str(a) for a in r.answers]
    flow.comment = "seen %s %s" % (dns.op_codes.to_str(flow.request.op_code), flow.request.questions[0].name)
`

// TestDNSModeMitmdump: mitmdump --mode dns with mitmproxy's dns-simple
// script answering AAAA queries, a second script rewriting answers from
// the resolver and the upstream, the dumper's DNS lines, and the flows
// saved with -w and replayed with -r.
func TestDNSModeMitmdump(t *testing.T) {
	dir := scriptDir(t, map[string]string{"dns_simple.py": dnsSimple, "rewrite.py": dnsRewrite})
	origin := startDNSOrigin(t)
	saved := filepath.Join(dir, "dns.mitm")
	md := testutil.StartMitmdump(t, "--mode", "dns", "--mode", "reverse:dns://"+origin.addr+"@0",
		"-s", filepath.Join(dir, "dns_simple.py"), "-s", filepath.Join(dir, "rewrite.py"), "-w", saved)
	addr := md.Listening(t, "DNS server")
	rev := md.Listening(t, "reverse proxy to dns://"+origin.addr)

	if r := exchange(t, "udp", addr, "example.com", dns.TypeAAAA); answers(r) != "::1" {
		t.Errorf("example.com AAAA: %v", r)
	}
	if r := exchange(t, "udp", addr, "example.org", dns.TypeAAAA); r.Rcode != dns.RcodeNameError {
		t.Errorf("example.org AAAA: %v", r)
	}
	if r := exchange(t, "tcp", addr, "other.test", dns.TypeAAAA); r.Rcode != 0 || len(r.Answer) != 0 {
		t.Errorf("other.test AAAA: %v", r)
	}
	// Resolved by the system's resolver: localhost needs no network.
	if r := exchange(t, "udp", addr, "localhost", dns.TypeA); answers(r) != "127.0.0.1" {
		t.Errorf("localhost A: %v", r)
	}
	if r := exchange(t, "udp", rev, "rewrite.test", dns.TypeA); answers(r) != "203.0.113.9" {
		t.Errorf("rewrite.test A through reverse:dns: %v", r)
	}
	want := []string{
		`127\.0\.0\.1:\d+: DNS QUERY \(AAAA\) example\.com\n << ::1\n`,
		`127\.0\.0\.1:\d+: DNS QUERY \(AAAA\) example\.org\n << NXDOMAIN\n`,
		`127\.0\.0\.1:\d+: DNS QUERY \(AAAA\) other\.test\n << NOERROR\n`,
		`127\.0\.0\.1:\d+: DNS QUERY \(A\) localhost\n << 127\.0\.0\.1\n`,
		`127\.0\.0\.1:\d+: DNS QUERY \(A\) rewrite\.test\n << 203\.0\.113\.9\n`,
	}
	for _, w := range want {
		re := regexp.MustCompile(w)
		if !testutil.Poll(5*time.Second, func() bool { return re.MatchString(md.Output()) }) {
			t.Errorf("no %q in the output", w)
		}
	}
	md.WaitOutput(t, "Spoofing IPv6 records for example.com...", 5*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}

	// The file holds the five DNS flows, as mitmproxy writes them.
	var flows []*flow.DNSFlow
	for _, g := range readFlowFile(t, saved) {
		if df, ok := g.(*flow.DNSFlow); ok {
			flows = append(flows, df)
		}
	}
	if len(flows) != 5 {
		t.Fatalf("%d DNS flows saved", len(flows))
	}
	last := flows[4]
	if last.Comment() != "seen QUERY rewrite.test" || last.Response.Answers[0].String() != "203.0.113.9" {
		t.Errorf("saved flow: comment %q, answers %v", last.Comment(), last.Response.Answers)
	}
	if v, _ := last.Metadata.Get("answers"); v == nil {
		t.Errorf("metadata %v", last.Metadata)
	}

	// -r replays them through the hooks: the dumper prints them again.
	replay := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-n", "-r", saved)
	if code := replay.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("replay exit %d:\n%s", code, replay.Output())
	}
	out := replay.Output()
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("replay: no %q in\n%s", w, out)
		}
	}
	if strings.Contains(out, "Skipping flow") {
		t.Errorf("replay skipped flows:\n%s", out)
	}
}

// udpScript changes datagrams from the client in udp_message, as a
// mitmproxy script would.
const udpScript = `from mitmproxy import udp


def udp_message(flow: udp.UDPFlow):
    m = flow.messages[-1]
    if m.from_client:
        m.content = m.content.replace(b"ping", b"PONG?")
    flow.comment = "%d messages" % len(flow.messages)
`

// TestReverseUDPMitmdump: mitmdump --mode reverse:udp relays datagrams to
// an echo server through a script's udp_message, and prints them.
func TestReverseUDPMitmdump(t *testing.T) {
	script := filepath.Join(scriptDir(t, map[string]string{"udp.py": udpScript}), "udp.py")
	echo := startUDPEcho(t)
	md := testutil.StartMitmdump(t, "--mode", "reverse:udp://"+echo, "-s", script)
	addr := md.Listening(t, "reverse proxy to udp://"+echo)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "echo:PONG?" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	local := c.LocalAddr().String()
	md.WaitOutput(t, local+" -> udp -> "+echo+"\n", 5*time.Second)
	md.WaitOutput(t, local+" <- udp <- "+echo+"\n", 5*time.Second)
}

// startUDPEcho runs a UDP server on 127.0.0.1 that answers "echo:" and
// what it got.
func startUDPEcho(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), a)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}
