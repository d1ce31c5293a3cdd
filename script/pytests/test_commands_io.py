"""Units of commands, flow state, mitmproxy.io, contentviews, strutils and
emoji (without the host)."""
import io as _io
import typing
import unittest
from collections.abc import Sequence


def _flow():
    from mitmproxy import http

    f = http.HTTPFlow(None, None)
    f.request = http.Request.make("POST", "http://example.com/a?b=1", b"body", {"X": "y"})
    f.response = http.Response.make(201, b"made", {"Content-Type": "text/plain"})
    f.comment = "hi"
    f.marked = ":star:"
    f.metadata["k"] = "v"
    return f


class TestTypes(unittest.TestCase):
    def test_typenames(self):
        from mitmproxy import flow, http, types
        from mitmproxy._mitmgo import commands

        for t, want in [(str, "str"), (int, "int"), (bool, "bool"), (bytes, "bytes"), (types.Path, "path"),
                        (types.Cmd, "cmd"), (types.CmdArgs, "arg"), (types.Marker, "marker"),
                        (types.Choice("x.options"), "choice:x.options"), (flow.Flow, "flow"),
                        (http.HTTPFlow, "flow"), (typing.Sequence[flow.Flow], "flow[]"),
                        (typing.Sequence[str], "str[]"), (types.CutSpec, "cut[]"), (types.Data, "data[][]")]:
            with self.subTest(t=t):
                self.assertEqual(commands.typename(t), want)
        from mitmproxy import exceptions

        with self.assertRaises(exceptions.CommandError):
            commands.typename(dict)

    def test_describe(self):
        from mitmproxy import command, flow, types
        from mitmproxy._mitmgo import commands

        class A:
            @command.command("a.b")
            def b(self, flows: Sequence[flow.Flow], p: types.Path, *rest: str) -> int:
                """Help
                text."""
                return 1

        a = A()
        self.assertEqual(commands.describe("a.b", a.b),
                         ["a.b", [["flows", "flow[]", False], ["p", "path", False], ["rest", "str", True]], "int",
                          "Help\n                text."])
        entries, descs = commands.collect(None, [a], [])
        self.assertEqual(list(entries), ["a.b"])
        from mitmproxy import exceptions

        with self.assertRaises(exceptions.CommandError):
            a.b()  # a wrong number of arguments


class TestState(unittest.TestCase):
    def test_roundtrip(self):
        from mitmproxy import flow, http

        f = _flow()
        st = f.get_state()
        self.assertEqual(st["version"], 21)
        self.assertEqual(st["request"]["path"], b"/a?b=1")
        g = http.HTTPFlow.from_state(st)
        self.assertEqual(g.get_state(), st)
        self.assertIsInstance(flow.Flow.from_state(st), http.HTTPFlow)
        c = f.copy()
        self.assertNotEqual(c.id, f.id)
        self.assertEqual(c.request.content, b"body")
        c.request.path = "/changed"
        self.assertEqual(f.request.path, "/a?b=1")
        h = http.HTTPFlow(None, None)
        h.set_state(st)
        self.assertEqual(h.id, f.id)
        self.assertEqual(h.marked, ":star:")

    def test_tcp(self):
        from mitmproxy import tcp

        f = tcp.TCPFlow(None, None)
        f.messages.append(tcp.TCPMessage(True, b"x", 1.0))
        st = f.get_state()
        self.assertEqual(tcp.TCPFlow.from_state(st).get_state(), st)


class TestIO(unittest.TestCase):
    def test_write_read(self):
        from mitmproxy import io

        buf = _io.BytesIO()
        w = io.FlowWriter(buf)
        f = _flow()
        w.add(f)
        w.add(f)
        buf.seek(0)
        flows = list(io.FlowReader(buf).stream())
        self.assertEqual(len(flows), 2)
        self.assertEqual(flows[0].get_state(), f.get_state())

    def test_tnetstring_files(self):
        from mitmproxy.io import tnetstring

        buf = _io.BytesIO()
        tnetstring.dump({"a": [1, b"x", "y"]}, buf)
        buf.seek(0)
        self.assertEqual(tnetstring.load(buf), {"a": [1, b"x", "y"]})
        with self.assertRaises(ValueError):
            tnetstring.load(buf)

    def test_corrupt(self):
        from mitmproxy import exceptions, io

        with self.assertRaises(exceptions.FlowReadException):
            list(io.FlowReader(_io.BytesIO(b"12:abc")).stream())
        self.assertEqual(list(io.FlowReader(_io.BytesIO(b"")).stream()), [])


class TestContentviews(unittest.TestCase):
    def test_views(self):
        from mitmproxy import contentviews

        class SwapCase(contentviews.Contentview):
            def prettify(self, data, metadata):
                return data.swapcase().decode()

            def render_priority(self, data, metadata):
                return 2 if (metadata.content_type or "").startswith("text/example") else 0

        class Old(contentviews.View):
            name = "old"

            def __call__(self, data, **kw):
                return "old", contentviews.format_text(data.upper())

        contentviews.add(SwapCase)
        old = Old()
        contentviews.add(old)
        self.assertEqual(contentviews._render({"cmd": "cvprio", "name": "SwapCase", "data": b"x",
                                               "content_type": "text/example"}), 2.0)
        self.assertEqual(contentviews._render({"cmd": "cvrender", "name": "swapcase", "data": b"aB"}), "Ab")
        self.assertEqual(contentviews._render({"cmd": "cvrender", "name": "old", "data": b"a\nb"}), "A\nB")
        contentviews.remove(old)
        self.assertIsNone(contentviews.get("old"))


class TestStrutilsEmoji(unittest.TestCase):
    def test_strutils(self):
        from mitmproxy.utils import strutils

        self.assertEqual(strutils.escape_control_characters("a\x01\nb"), "a.\nb")
        self.assertEqual(strutils.escape_control_characters("a\x01\nb", False), "a..b")
        self.assertTrue(strutils.is_mostly_bin(b"\x00\x01\x02\x03"))
        self.assertFalse(strutils.is_mostly_bin("héllo wörld".encode()))
        self.assertTrue(strutils.is_xml(b"\r\n <x/>"))
        self.assertEqual(list(strutils.hexdump(b"ab"))[0][0], "0000000000")
        self.assertEqual(strutils.cut_after_n_lines("a\nb\nc", 2), "a\nb\n")
        self.assertEqual(strutils.clean_hanging_newline("x\n"), "x")

    def test_emoji(self):
        from mitmproxy.utils import emoji

        self.assertEqual(emoji.emoji[":default:"], "●")
        self.assertEqual(emoji.emoji[":+1:"], "👍")
        self.assertEqual(emoji.emoji["a"], "a")
