import marshal
import os
import threading
import unittest

from mitmproxy._mitmgo import host as H


class _Pipe:
    """A Host writing to a pipe this test reads."""

    def __init__(self):
        self.r, w = os.pipe()
        self.host = H.Host(-1, w)
        self.w = w

    def close(self):
        os.close(self.r)
        os.close(self.w)
        self.host.loop.close()
        self.host.executor.shutdown(wait=False)

    def read(self):
        data = os.read(self.r, 1 << 16)
        n, rest = data.split(b":", 1)
        assert len(rest) == int(n) + 1 and rest[-1:] == b",", data
        return marshal.loads(rest[:-1])


class _Flowless:
    """Stands in for the object whose changes a hook call collects."""


class TestHookReply(unittest.TestCase):
    def setUp(self):
        self.p = _Pipe()

    def tearDown(self):
        self.p.close()

    def done(self, cid, changes):
        call = H.Call(cid, "client_connected")
        orig = H._changes
        H._changes = lambda name, obj, flow: changes
        try:
            self.p.host._hook_done(call, "client_connected", _Flowless(), None)
        finally:
            H._changes = orig

    def test_empty_reply_is_the_general_one(self):
        # The constant pieces around the id give what marshal.dumps of the
        # whole reply gives, for every id.
        for cid in (0, 1, 255, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 40, -3):
            with self.subTest(cid=cid):
                data = H._EMPTY_REPLY[0] + marshal.dumps(cid, 2) + H._EMPTY_REPLY[1]
                self.assertEqual(data, marshal.dumps({"cmd": "ret", "id": cid, "changes": {}}, 2))
                self.done(cid, {})
                self.assertEqual(self.p.read(), {"cmd": "ret", "id": cid, "changes": {}})

    def test_changes_reply(self):
        ch = {"client": {"error": "x"}}
        self.done(9, ch)
        self.assertEqual(self.p.read(), {"cmd": "ret", "id": 9, "changes": ch})

    def test_large_reply_in_pieces(self):
        ch = {"response": {"content": b"x" * 100000}}
        got = []

        def read():
            data = b""
            while not data.endswith(b","):
                data += os.read(self.p.r, 1 << 20)
            got.append(data)

        # More than a pipe holds: read while the host writes.
        t = threading.Thread(target=read)
        t.start()
        self.done(10, ch)
        t.join(10)
        data = got[0]
        n, rest = data.split(b":", 1)
        self.assertEqual(len(rest), int(n) + 1)
        self.assertEqual(marshal.loads(rest[:-1]), {"cmd": "ret", "id": 10, "changes": ch})

    def test_no_reply_without_id(self):
        self.done(None, {})
        os.set_blocking(self.p.r, False)
        with self.assertRaises(BlockingIOError):
            os.read(self.p.r, 10)


class TestPlan(unittest.TestCase):
    def test_legacy_names_follow(self):
        hookmap = {"client_connected": [("s1", "f1", "sync")], "clientconnect": [("s2", "f2", "async")],
                   "response": [("s1", "r1", "sync"), ("s2", "r2", "concurrent")]}
        self.assertEqual(H._plan(hookmap, "client_connected"),
                         (("s1", "f1", "sync", False), ("s2", "f2", "async", True)))
        self.assertEqual(H._plan(hookmap, "response"),
                         (("s1", "r1", "sync", False), ("s2", "r2", "concurrent", False)))
        self.assertEqual(H._plan(hookmap, "request"), ())
        self.assertEqual(H._plan({"clientconnect": [("s", "f", "sync")]}, "client_connected"),
                         (("s", "f", "sync", True),))


if __name__ == "__main__":
    unittest.main()
