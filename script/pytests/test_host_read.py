import marshal
import os
import threading
import unittest

from mitmproxy._mitmgo import host as H
from mitmproxy._mitmgo import tnetstring


def _frame(msg):
    """A message as mitmgo frames it (pywire.go): a tnetstring bytes item
    holding the marshalled dict."""
    data = marshal.dumps(msg, 2)
    return b"%d:%b," % (len(data), data)


class TestReadAvailable(unittest.TestCase):
    """Host.read_available decodes what the pipe holds, however mitmgo's
    writes and the host's reads cut it."""

    def setUp(self):
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.host = H.Host(self.r, -1)
        self.host.log = lambda *a: None

    def tearDown(self):
        os.close(self.r)
        if self.w is not None:
            os.close(self.w)
        self.host.loop.close()
        self.host.executor.shutdown(wait=False)

    def feed(self, data, cuts):
        """Write data in the pieces cuts makes, reading after each; the
        messages queued in order."""
        got = []
        pos = 0
        for end in list(cuts) + [len(data)]:
            # Written from a thread: a piece may be larger than the pipe.
            t = threading.Thread(target=_write_all, args=(self.w, data[pos:end]))
            t.start()
            while t.is_alive():
                self.host.read_available()
                got.extend(self.host.inbox)
                self.host.inbox.clear()
            t.join()
            pos = end
            self.host.read_available()
            got.extend(self.host.inbox)
            self.host.inbox.clear()
        return got

    def test_cuts(self):
        small = {"cmd": "hook", "id": 1, "hook": "response", "rq": b"x" * 100}
        big = {"cmd": "hook", "id": 2, "ws": {"messages": [[2, True, bytes(range(256)) * 256, 1.0, False, False]]}}
        huge = {"cmd": "chunk", "id": 3, "data": b"\xab" * (3 << 20)}
        tnet = tnetstring.dumps({"cmd": "reply", "rid": 99, "data": b"answer"})
        msgs = [small, big, small, huge, small]
        data = b"".join(_frame(m) for m in msgs)
        cases = {
            "whole": [],
            "every message": [],
            "in the length": [2],
            "after the colon": [len(_frame(small)) - len(marshal.dumps(small, 2)) - 1],
            "in a big message": [len(_frame(small)) + 1000, len(_frame(small)) + 70000],
            "byte by byte at the start": list(range(1, 40)),
        }
        pos = 0
        for m in msgs[:-1]:
            pos += len(_frame(m))
            cases["every message"].append(pos)
        for name, cuts in cases.items():
            with self.subTest(name):
                self.assertEqual(self.feed(data, cuts), msgs)
                self.assertEqual(self.host.rlen, 0)
                self.assertEqual(self.host.need, 0)
                self.assertLessEqual(len(self.host.rbuf), H._RBUF_KEEP)
        # A tnetstring dict (a reply to a request of the host's) goes to
        # its waiter, among marshal messages.
        slot = [threading.Event(), None, None]
        self.host.pending[99] = slot
        self.assertEqual(self.feed(_frame(small) + tnet + _frame(small), [5]), [small, small])
        self.assertTrue(slot[0].is_set())
        self.assertEqual(slot[1], b"answer")

    def test_eof(self):
        ended = []
        self.host.eof = lambda why: ended.append(why)
        os.write(self.w, _frame({"cmd": "done", "id": 7})[:5])
        self.host.read_available()
        os.close(self.w)
        self.w = None
        self.host.read_available()
        self.assertEqual(ended, [None])
        self.assertEqual(list(self.host.inbox), [])

    def test_large_message_leaves_buffer_small(self):
        # A message larger than the buffer keeps goes to a buffer of its
        # own: the read buffer stays within _RBUF_KEEP even while the
        # start of the next message waits in it.
        huge = {"cmd": "chunk", "id": 3, "data": b"\xcd" * (H._RBUF_KEEP + (1 << 20))}
        nxt = {"cmd": "hook", "id": 4, "hook": "response", "rq": b"y" * 5000}
        data = _frame(huge) + _frame(nxt)
        cut = len(data) - 1000
        t = threading.Thread(target=_write_all, args=(self.w, data[:cut]))
        t.start()
        got = []
        while t.is_alive() or not got:
            self.host.read_available()
            got.extend(self.host.inbox)
            self.host.inbox.clear()
            self.assertLessEqual(len(self.host.rbuf), H._RBUF_KEEP)
        t.join()
        self.host.read_available()
        self.assertEqual(got, [huge])
        self.assertIsNone(self.host.big)
        self.assertGreater(self.host.rlen, 0)
        self.assertLessEqual(len(self.host.rbuf), H._RBUF_KEEP)
        _write_all(self.w, data[cut:])
        self.host.read_available()
        self.assertEqual(list(self.host.inbox), [nxt])
        self.assertEqual(self.host.rlen, 0)

    def assert_ends_bad(self, data):
        """Writing data ends the input with a "bad message" and decodes
        nothing; what is left in the pipe is drained."""
        ended = []
        self.host.eof = lambda why: ended.append(why)
        self.host.rlen = self.host.need = 0
        os.write(self.w, data)
        self.host.read_available()
        self.assertEqual(len(ended), 1)
        self.assertIn("bad message", ended[0])
        self.assertEqual(list(self.host.inbox), [])
        try:
            os.read(self.r, 100)
        except BlockingIOError:
            pass

    def test_bad_length(self):
        # A length that is not plain digits (int() would take "-5" or
        # " 5") ends the input instead of walking backwards.
        for bad in [b"-5:abcde,", b" 5:abcde,", b"1_0:abcdefghij,", b"5x:abcde,"]:
            with self.subTest(bad=bad):
                self.assert_ends_bad(bad)

    def test_absurd_length(self):
        # Plain digits, but more bytes than memory holds: the input ends
        # with a message instead of a MemoryError out of the reader.
        for n in [b"999999999999999999", b"99999999999999999999"]:
            with self.subTest(length=n):
                self.assert_ends_bad(n + b":x")

def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


if __name__ == "__main__":
    unittest.main()
