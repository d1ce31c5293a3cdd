import unittest

from mitmproxy._mitmgo import tnetstring


class TestTNetString(unittest.TestCase):
    def test_roundtrip(self):
        for v in [None, True, False, 0, -5, 2 ** 70, 1.5, -0.0, b"", b"\x00\xff", "", "héllo", [],
                  [1, [2, [3]]], {}, {"a": 1, "b": [b"x", None]}, {"z": 1, "a": 2}]:
            with self.subTest(v=v):
                self.assertEqual(tnetstring.loads(tnetstring.dumps(v)), v)

    def test_dict_order_survives(self):
        d = {"z": 1, "a": 2, "m": 3}
        self.assertEqual(list(tnetstring.loads(tnetstring.dumps(d))), ["z", "a", "m"])

    def test_wire_format(self):
        # mitmproxy writes dict entries back to front.
        self.assertEqual(tnetstring.dumps({"a": 1, "b": b"x"}), b"16:1:b;1:x,1:a;1:1#}")
        self.assertEqual(tnetstring.dumps([1, "x"]), b"8:1:1#1:x;]")
        self.assertEqual(tnetstring.dumps(1.5), b"3:1.5^")

    def test_surrogates_become_bytes(self):
        s = b"\xff".decode("utf-8", "surrogateescape")
        self.assertEqual(tnetstring.loads(tnetstring.dumps(s)), b"\xff")

    def test_errors(self):
        for bad in [b"3:ab,", b"1:a?", b"2:1:a]x", b"x:", b"4:1:a;}"]:
            with self.subTest(bad=bad):
                with self.assertRaises((ValueError, IndexError)):
                    tnetstring.loads(bad)

    def test_unencodable(self):
        with self.assertRaises(tnetstring.TNetStringError):
            tnetstring.dumps(object())

    def test_loads_part(self):
        # mitmgo's parts: marshal data, or a tnetstring (starts with a digit).
        import marshal

        v = {"a": [1, b"x", "y", None, True, 1.5, 2 ** 70]}
        self.assertEqual(tnetstring.loads_part(marshal.dumps(v, 2)), v)
        self.assertEqual(tnetstring.loads_part(bytearray(marshal.dumps(v, 2))), v)
        self.assertEqual(tnetstring.loads_part(tnetstring.dumps(v)), v)
        with self.assertRaises(tnetstring.TNetStringError):
            tnetstring.loads_part(b"{\xff")
        # loads itself stays a tnetstring decoder (mitmproxy.io.tnetstring).
        with self.assertRaises((ValueError, IndexError)):
            tnetstring.loads(marshal.dumps(v, 2))

    def test_dumps_reply(self):
        import marshal

        msg = {"cmd": "ret", "id": 3, "changes": {"request": {"path": b"/x"}}}
        data = b"".join(tnetstring.dumps_reply(msg))
        n, _, rest = data.partition(b":")
        self.assertEqual(int(n), len(rest) - 1)
        self.assertEqual(rest[-1:], b",")
        self.assertEqual(marshal.loads(rest[:-1]), msg)
        # What marshal cannot carry (a subclass, an object) is left to the
        # tnetstring encoder.
        import enum

        class E(enum.IntEnum):
            A = 1

        self.assertIsNone(tnetstring.dumps_reply({"x": E.A}))
        self.assertIsNone(tnetstring.dumps_reply({"x": object()}))


class TestParseBounds(unittest.TestCase):
    """parse() reads an item within its message (limit) and its
    container, never the bytes after them: a read buffer holds the next
    message, or stale bytes, past the one being decoded."""

    VALUES = [None, True, 7, -3, 1.5, b"", b"ab:c,", "x", [], [1, [b"q"]], {}, {"a": [1, {"b": b"z"}]}]

    def test_exact_limit(self):
        for v in self.VALUES:
            enc = tnetstring.dumps(v)
            # The buffer continues with a valid item, which must not be
            # taken for part of this one.
            buf = bytearray(enc + b"5:12345,")
            with self.subTest(v=v):
                self.assertEqual(tnetstring.parse(buf, 0, len(enc)), (v, len(enc)))
                # One byte short of the item: an error, not a read past it.
                with self.assertRaises(tnetstring.TNetStringError):
                    tnetstring.parse(buf, 0, len(enc) - 1)

    def test_mutations(self):
        # Property: whatever the bytes, parse() returns within the limit or
        # raises a ValueError (TNetStringError, or a bad int, float or
        # UTF-8 payload), and never hangs or reads past the limit.
        import random

        rnd = random.Random(1)
        alphabet = b"0123456789:,;#^!~]}-+ _x"
        seeds = [tnetstring.dumps(v) for v in self.VALUES] + [
            tnetstring.dumps({"k": [[b"x" * 5, {"n": [1, 2, 3]}], "s"]})]
        for _ in range(20000):
            enc = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 4)):
                op = rnd.randrange(3)
                i = rnd.randrange(len(enc) + 1)
                if op == 0 and enc:
                    enc[min(i, len(enc) - 1)] = rnd.choice(alphabet)
                elif op == 1:
                    enc[i:i] = bytes([rnd.choice(alphabet)])
                elif enc:
                    del enc[min(i, len(enc) - 1)]
            limit = len(enc)
            # Past the limit: bytes that would make a longer item valid.
            buf = bytearray(enc) + b"999999:" + b"," * 64
            try:
                v, end = tnetstring.parse(buf, 0, limit)
            except ValueError:
                continue
            self.assertLessEqual(end, limit, bytes(enc))
            # The same bytes alone decode the same.
            self.assertEqual(tnetstring.parse(bytes(enc), 0), (v, end))

    def test_deep_nesting(self):
        data = b"".join(b"%d:" % (3 * k) for k in range(0)) + b"0:]"
        for _ in range(5000):
            data = b"%d:%s]" % (len(data), data)
        with self.assertRaises(tnetstring.TNetStringError):
            tnetstring.loads(data)


if __name__ == "__main__":
    unittest.main()
