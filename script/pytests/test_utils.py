import unittest


class TestHuman(unittest.TestCase):
    def test_pretty_size(self):
        from mitmproxy.utils import human

        for size, want in [(0, "0b"), (1023, "1023b"), (1024, "1.0k"), (1536, "1.5k"),
                           (100 * 1024, "100k"), (200 << 20, "200m"), (5 << 40, "5.0t")]:
            with self.subTest(size=size):
                self.assertEqual(human.pretty_size(size), want)

    def test_parse_size(self):
        from mitmproxy.utils import human

        self.assertEqual(human.parse_size("3m"), 3 << 20)
        self.assertEqual(human.parse_size("42"), 42)
        self.assertIsNone(human.parse_size(None))
        with self.assertRaises(ValueError):
            human.parse_size("3x")

    def test_pretty_duration(self):
        from mitmproxy.utils import human

        for secs, want in [(None, ""), (0.25, "250ms"), (1.5, "1.50s"), (12.5, "12.5s"), (150, "150s")]:
            with self.subTest(secs=secs):
                self.assertEqual(human.pretty_duration(secs), want)

    def test_format_address(self):
        from mitmproxy.utils import human

        for addr, want in [(("127.0.0.1", 80), "127.0.0.1:80"), (("::ffff:10.0.0.1", 443), "10.0.0.1:443"),
                           (("::1", 8080), "[::1]:8080"), (("0.0.0.0", 8080), "*:8080"),
                           (("example.com", 443), "example.com:443"), (None, "<no address>")]:
            with self.subTest(addr=addr):
                self.assertEqual(human.format_address(addr), want)


class TestMissingParts(unittest.TestCase):
    def test_from_import_names_the_missing_part(self):
        with self.assertRaises(ImportError) as cm:
            from mitmproxy import optmanager  # noqa: F401
        self.assertIn("mitmproxy.optmanager is not supported yet by mitmgo", str(cm.exception))

    def test_other_attributes(self):
        import mitmproxy

        self.assertFalse(hasattr(mitmproxy, "no_such_thing"))

    def test_address(self):
        from mitmproxy.connection import Address

        self.assertTrue(Address)


if __name__ == "__main__":
    unittest.main()
