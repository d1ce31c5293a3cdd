"""mitmproxy.proxy.mode_specs and client_conn.proxy_mode as mitmproxy 12
gives them to scripts."""
import unittest

from mitmproxy import connection
from mitmproxy.proxy.mode_specs import ProxyMode, RegularMode, ReverseMode, Socks5Mode, UpstreamMode


class TestModeSpecs(unittest.TestCase):
    def test_parse(self):
        cases = [
            ("regular", RegularMode, "", None, None, 8080),
            ("socks5", Socks5Mode, "", None, None, 1080),
            ("socks5@1234", Socks5Mode, "", None, 1234, 1234),
            ("reverse:https://example.com@127.0.0.1:8443", ReverseMode, "https://example.com", "127.0.0.1", 8443, 8443),
            ("upstream:http://127.0.0.1:8081", UpstreamMode, "http://127.0.0.1:8081", None, None, 8080),
        ]
        for spec, cls, data, host, port, listen_port in cases:
            with self.subTest(spec=spec):
                m = ProxyMode.parse(spec)
                self.assertIsInstance(m, cls)
                self.assertEqual(m.full_spec, spec)
                self.assertEqual(m.data, data)
                self.assertEqual(m.custom_listen_host, host)
                self.assertEqual(m.custom_listen_port, port)
                self.assertEqual(m.listen_port(), listen_port)
                self.assertEqual(repr(m), "ProxyMode.parse(%r)" % spec)
        self.assertEqual(ProxyMode.parse("reverse:https://example.com").address, ("example.com", 443))
        self.assertEqual(ProxyMode.parse("reverse:dns://8.8.8.8").transport_protocol, "both")

    def test_errors(self):
        for spec, msg in [
            ("nonsense", "unknown mode"),
            ("regular:data", "invalid data"),
            ("socks5@99999", "invalid port"),
            ("upstream:ftp://x", "scheme"),
        ]:
            with self.subTest(spec=spec):
                with self.assertRaisesRegex(ValueError, msg):
                    ProxyMode.parse(spec)
        with self.assertRaisesRegex(ValueError, "is not a spec for a regular mode"):
            RegularMode.parse("socks5")

    def test_client_conn(self):
        c = connection.Client(peername=("1.2.3.4", 5), sockname=("1.1.1.1", 8080), timestamp_start=1.0,
                              proxy_mode="reverse:https://example.com@8443")
        self.assertIsInstance(c.proxy_mode, ReverseMode)
        self.assertEqual(c.proxy_mode.full_spec, "reverse:https://example.com@8443")
        self.assertEqual(c.get_state()["proxy_mode"], "reverse:https://example.com@8443")


if __name__ == "__main__":
    unittest.main()
