import typing
import unittest

from mitmproxy import ctx, exceptions, hooks
from mitmproxy._mitmgo import context
from mitmproxy.script import concurrent


class TestConcurrent(unittest.TestCase):
    def test_allowed(self):
        @concurrent
        def request(flow):
            return flow

        self.assertTrue(request._mitmgo_concurrent)
        self.assertEqual(request(1), 1)

    def test_refused(self):
        for name in ("load", "configure", "start", "tick"):
            with self.subTest(name=name):
                def fn():
                    pass

                fn.__name__ = name
                with self.assertRaises(NotImplementedError):
                    concurrent(fn)


class TestOptions(unittest.TestCase):
    def test_kinds(self):
        for spec, kind in [(bool, "bool"), (int, "int"), (str, "str"), (float, "str"),
                           (typing.Optional[str], "optional str"), (typing.Optional[int], "optional int"),
                           (typing.Sequence[str], "strings"), (typing.List[str], "strings")]:
            with self.subTest(spec=spec):
                self.assertEqual(context.kind_of(spec)[0], kind)

    def test_conversion(self):
        o = context.Options()
        kind, conv = context.kind_of(float)
        o._declare("ratio", kind, conv, 0.5)
        self.assertEqual(o.ratio, 0.5)
        o._set_from_go({"ratio": "1.25", "plain": 3})
        self.assertEqual(o.ratio, 1.25)
        self.assertEqual(o.plain, 3)
        with self.assertRaises(exceptions.OptionsError):
            o._set_from_go({"ratio": "x"})
        with self.assertRaises(AttributeError):
            o.missing
        self.assertEqual(context.to_wire("str", 0.5), "0.5")

    def test_ctx(self):
        self.assertTrue(callable(ctx.log))
        self.assertTrue(callable(ctx.log.warn))
        self.assertTrue(callable(ctx.master.shutdown))
        self.assertIn("response", hooks.all_hooks)


if __name__ == "__main__":
    unittest.main()
