"""mitmproxy.dns and mitmproxy.udp as scripts use them."""
import ipaddress
import unittest

from mitmproxy import dns, udp
from mitmproxy._mitmgo import tnetstring
from mitmproxy._mitmgo.host import Call


def query(name="example.com", type_=dns.types.A):
    return dns.DNSMessage(id=7, query=True, op_code=dns.op_codes.QUERY, authoritative_answer=False,
                          truncation=False, recursion_desired=True, recursion_available=False, reserved=0,
                          response_code=dns.response_codes.NOERROR,
                          questions=[dns.Question(name, type_, dns.classes.IN)], answers=[], authorities=[],
                          additionals=[], timestamp=1.5)


def hook_flow(rq, rs=None, live=True):
    """A DNSFlow as a hook call hands it to a script."""
    f = dns.DNSFlow.__new__(dns.DNSFlow)
    env = {"fid": "f1", "live": live, "f": tnetstring.dumps({"id": "f1", "type": "dns", "error": None}),
           "rq": tnetstring.dumps(rq.get_state())}
    if rs is not None:
        env["rs"] = tnetstring.dumps(rs.get_state())
    f._init_hook(Call(1, "dns_request"), env)
    return f


class TestMessages(unittest.TestCase):
    def test_constants_and_names(self):
        self.assertEqual(dns.types.AAAA, 28)
        self.assertEqual(dns.types.to_str(65), "HTTPS")
        self.assertEqual(dns.types.to_str(999), "TYPE(999)")
        self.assertEqual(dns.types.from_str("TYPE(999)"), 999)
        self.assertEqual(dns.classes.to_str(1), "IN")
        self.assertEqual(dns.response_codes.to_str(3), "NXDOMAIN")
        self.assertEqual(dns.op_codes.to_str(3), "OPCODE(3)")
        self.assertIs(dns.Message, dns.DNSMessage)

    def test_succeed_fail(self):
        q = query()
        r = q.succeed([dns.ResourceRecord.A("example.com", ipaddress.IPv4Address("1.2.3.4"))])
        self.assertFalse(r.query)
        self.assertTrue(r.recursion_available)
        self.assertEqual(str(r.answers[0]), "1.2.3.4")
        self.assertEqual(r.answers[0].ttl, dns.ResourceRecord.DEFAULT_TTL)
        self.assertEqual(q.fail(dns.response_codes.NXDOMAIN).response_code, 3)
        with self.assertRaises(ValueError):
            q.fail(dns.response_codes.NOERROR)

    def test_records(self):
        rr = dns.ResourceRecord.AAAA("a", ipaddress.IPv6Address("::1"))
        self.assertEqual(rr.ipv6_address, ipaddress.IPv6Address("::1"))
        rr = dns.ResourceRecord.CNAME("a", "b.example")
        self.assertEqual(rr.domain_name, "b.example")
        self.assertEqual(str(dns.ResourceRecord("a", 15, 1, 1, b"\x00\x01")), "0x0001")
        self.assertEqual(str(dns.ResourceRecord("a", 1, 1, 1, b"\x01")), "0x01 (invalid A data)")
        rr.text = "hi"
        self.assertEqual(rr.data, b"hi")

    def test_pack_unpack(self):
        r = query().succeed([dns.ResourceRecord.A("example.com", ipaddress.IPv4Address("1.2.3.4"))])
        m = dns.DNSMessage.unpack(r.packed)
        self.assertEqual(m.answers, r.answers)
        self.assertEqual(m.questions, r.questions)
        self.assertEqual(m.content, r.packed)

    def test_state_round_trip(self):
        r = query().succeed([])
        self.assertEqual(dns.DNSMessage.from_state(r.get_state()), r)


class TestHookFlow(unittest.TestCase):
    def test_no_changes(self):
        f = hook_flow(query())
        self.assertEqual(f.request.question.name, "example.com")
        self.assertIsNone(f.response)
        self.assertEqual(f._changes(), {})

    def test_answer(self):
        f = hook_flow(query())
        f.response = f.request.succeed([dns.ResourceRecord.A("example.com", ipaddress.IPv4Address("10.0.0.1"))])
        ch = f._changes()
        self.assertNotIn("request", ch)
        self.assertEqual(ch["response"]["answers"][0]["data"], b"\n\x00\x00\x01")

    def test_change_in_place_and_remove(self):
        f = hook_flow(query(), query().succeed([dns.ResourceRecord.A("example.com", ipaddress.IPv4Address("1.1.1.1"))]))
        f.response.answers[0].ipv4_address = ipaddress.IPv4Address("2.2.2.2")
        f.request.questions[0].name = "other.test"
        ch = f._changes()
        self.assertEqual(ch["response"]["answers"][0]["data"], b"\x02\x02\x02\x02")
        self.assertEqual(ch["request"]["questions"][0]["name"], "other.test")
        f2 = hook_flow(query(), query().succeed([]))
        f2.response = None
        self.assertEqual(f2._changes(), {"response": None})

    def test_rollback(self):
        f = hook_flow(query())
        snap = f._snapshot()
        f.response = f.request.fail(dns.response_codes.SERVFAIL)
        f._rollback(snap)
        self.assertEqual(f._changes(), {})


class TestUDP(unittest.TestCase):
    def test_messages(self):
        f = udp.UDPFlow.__new__(udp.UDPFlow)
        f._init_hook(Call(1, "udp_message"), {"fid": "u", "live": True, "tm": tnetstring.dumps([[True, b"ping", 1.0]])})
        f.messages[-1].content = b"pong"
        self.assertEqual(f._changes(), {"messages": [[0, [True, b"pong", 1.0]]]})
        self.assertEqual(repr(f), "<UDPFlow (1 messages)>")


if __name__ == "__main__":
    unittest.main()
