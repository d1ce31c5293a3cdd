import gzip
import unittest
import zlib

from mitmproxy import http
from mitmproxy._mitmgo import tnetstring
from mitmproxy.http import Headers, HTTPFlow, Request, Response


class TestHeaders(unittest.TestCase):
    def test_multidict(self):
        h = Headers([(b"Host", b"example.com"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")])
        self.assertEqual(h["host"], "example.com")
        self.assertEqual(h[b"HOST"], "example.com")
        self.assertEqual(h["set-cookie"], "a=1, b=2")
        self.assertEqual(h.get_all("SET-COOKIE"), ["a=1", "b=2"])
        self.assertEqual(list(h), ["Host", "Set-Cookie"])
        self.assertEqual(len(h), 2)
        self.assertIn("set-cookie", h)
        self.assertNotIn("x", h)
        self.assertIsNone(h.get("x"))
        self.assertEqual(h.items(), [("Host", "example.com"), ("Set-Cookie", "a=1, b=2")])
        self.assertEqual(h.items(multi=True)[2], ("set-cookie", "b=2"))

    def test_set_keeps_position_and_spelling(self):
        h = Headers([(b"A", b"1"), (b"Content-Type", b"x"), (b"B", b"2")])
        h["content-type"] = "y"
        self.assertEqual(h.fields, ((b"A", b"1"), (b"Content-Type", b"y"), (b"B", b"2")))
        h["new"] = "v"
        self.assertEqual(h.fields[-1], (b"new", b"v"))
        h.set_all("a", ["1", "3"])
        self.assertEqual(h.fields[0], (b"A", b"1"))
        self.assertEqual(h.fields[-1], (b"a", b"3"))
        del h["A"]
        self.assertNotIn("a", h)
        with self.assertRaises(KeyError):
            del h["missing"]
        h.insert(0, "First", "0")
        h.add("B", "4")
        self.assertEqual(h.fields[0], (b"First", b"0"))
        self.assertEqual(h.get_all("b"), ["2", "4"])

    def test_kwargs_and_bytes(self):
        h = Headers(content_type="text/html")
        self.assertEqual(h.fields, ((b"content-type", b"text/html"),))
        self.assertEqual(bytes(h), b"content-type: text/html\r\n")
        self.assertEqual(bytes(Headers()), b"")

    def test_mapping_methods(self):
        h = Headers(a="1")
        self.assertEqual(h.pop("a"), "1")
        self.assertEqual(h.setdefault("b", "2"), "2")
        h.update({"c": "3"})
        self.assertEqual(dict(h), {"b": "2", "c": "3"})

    def test_replace(self):
        h = Headers([(b"Content-Type", b"text/html"), (b"X", b"html html")])
        self.assertEqual(h.replace("html", "faketml"), 3)
        self.assertEqual(h["x"], "faketml faketml")
        h = Headers([(b"A", b"aaa")])
        self.assertEqual(h.replace("a", "b", count=2), 2)
        self.assertEqual(h["a"], "bba")


class TestMessage(unittest.TestCase):
    def test_content_encodings(self):
        for enc, data in [("gzip", gzip.compress(b"hello")), ("deflate", zlib.compress(b"hello")),
                          ("deflate", zlib.compress(b"hello")[2:-4])]:
            with self.subTest(enc=enc):
                r = Response.make(200, b"", {"Content-Encoding": enc})
                r.raw_content = data
                self.assertEqual(r.content, b"hello")
                r.content = b"world"
                self.assertEqual(r.headers["content-encoding"], enc)
                self.assertEqual(r.content, b"world")
                self.assertEqual(r.headers["content-length"], str(len(r.raw_content)))

    def test_invalid_encoding(self):
        r = Response.make(200, b"", {"Content-Encoding": "gzip"})
        r.raw_content = b"not gzip"
        with self.assertRaises(ValueError):
            r.content
        self.assertEqual(r.get_content(strict=False), b"not gzip")
        r.decode(strict=False)
        self.assertNotIn("content-encoding", r.headers)

    def test_text(self):
        r = Response.make(200, "héllo", {"Content-Type": "text/plain; charset=utf-8"})
        self.assertEqual(r.raw_content, "héllo".encode())
        self.assertEqual(r.text, "héllo")
        r = Response.make(200, b"", {"Content-Type": "application/octet-stream"})
        r.text = "\xe9"  # latin-1 by default
        self.assertEqual(r.raw_content, b"\xe9")
        r.text = "\u20ac"  # not latin-1: utf-8 and a charset
        self.assertEqual(r.raw_content, "\u20ac".encode())
        self.assertIn("charset=utf-8", r.headers["content-type"])
        r = Response.make(200, b'<meta charset="latin-1">\xe9', {"Content-Type": "text/html"})
        self.assertEqual(r.text, '<meta charset="latin-1">\xe9')
        self.assertEqual(Response.make(200, b'{"a": 1}').json(), {"a": 1})

    def test_encode_decode(self):
        r = Response.make(200, b"data")
        r.encode("gzip")
        self.assertEqual(gzip.decompress(r.raw_content), b"data")
        r.decode()
        self.assertEqual(r.raw_content, b"data")
        self.assertNotIn("content-encoding", r.headers)

    def test_replace(self):
        r = Response.make(200, b"<html>html</html>", {"Content-Type": "text/html"})
        self.assertEqual(r.replace("html", "faketml"), 4)
        self.assertEqual(r.content, b"<faketml>faketml</faketml>")
        q = Request.make("GET", "http://example.com/html?html")
        q.replace(r"html", "x")
        self.assertEqual(q.path, "/x?x")


class TestRequest(unittest.TestCase):
    def test_make_and_url(self):
        r = Request.make("get", "https://example.com:8443/a/b?x=1&y=2")
        self.assertEqual(r.method, "GET")
        self.assertEqual((r.scheme, r.host, r.port, r.path), ("https", "example.com", 8443, "/a/b?x=1&y=2"))
        self.assertEqual(r.url, "https://example.com:8443/a/b?x=1&y=2")
        self.assertEqual(r.headers["content-length"], "0")
        self.assertEqual(r.http_version, "HTTP/1.1")
        r.url = "http://other.example/c"
        self.assertEqual((r.scheme, r.host, r.port, r.path), ("http", "other.example", 80, "/c"))
        self.assertEqual(r.path_components, ("c",))
        r.path_components = ["a b", "c"]
        self.assertEqual(r.path, "/a%20b/c")

    def test_host_updates_header_and_authority(self):
        r = Request.make("GET", "http://example.com/", headers={"Host": "example.com"})
        r.data.authority = b"example.com"
        r.host = "changed.example"
        self.assertEqual(r.headers["host"], "changed.example")
        self.assertEqual(r.authority, "changed.example")
        r.port = 8080
        self.assertEqual(r.headers["host"], "changed.example:8080")
        self.assertEqual(r.pretty_url, "http://changed.example:8080/")

    def test_pretty(self):
        r = Request.make("GET", "http://10.0.0.1/p")
        r.headers["Host"] = "example.com:81"
        self.assertEqual(r.pretty_host, "example.com")
        self.assertEqual(r.pretty_url, "http://example.com:81/p")
        self.assertEqual(r.url, "http://10.0.0.1/p")

    def test_query(self):
        r = Request.make("GET", "http://example.com/p?a=1&b=2&a=3")
        self.assertEqual(r.query["a"], "1")
        self.assertEqual(r.query.get_all("a"), ["1", "3"])
        r.query["c"] = "x y"
        self.assertEqual(r.path, "/p?a=1&b=2&a=3&c=x+y")
        del r.query["a"]
        self.assertEqual(r.path, "/p?b=2&c=x+y")
        r.query = [("only", "1")]
        self.assertEqual(r.path, "/p?only=1")

    def test_cookies(self):
        r = Request.make("GET", "http://example.com/", headers=[(b"Cookie", b"a=1; b=2"), (b"cookie", b"c=3")])
        self.assertEqual(r.cookies["b"], "2")
        self.assertEqual(len(r.cookies), 3)
        r.cookies["d"] = "4"
        self.assertEqual(r.headers.get_all("cookie"), ["a=1; b=2; c=3; d=4"])

    def test_forms(self):
        r = Request.make("POST", "http://example.com/", "a=1&b=x+y",
                         {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.urlencoded_form["b"], "x y")
        r.urlencoded_form["c"] = "3"
        self.assertEqual(r.content, b"a=1&b=x+y&c=3")
        r = Request.make("POST", "http://example.com/")
        r.multipart_form = [(b"field", b"value"), (b"other", b"2")]
        self.assertTrue(r.headers["content-type"].startswith("multipart/form-data; boundary="))
        self.assertEqual(r.multipart_form[b"field"], b"value")
        self.assertEqual(r.multipart_form.get_all(b"other"), [b"2"])

    def test_anticache_anticomp(self):
        r = Request.make("GET", "http://example.com/", headers={"If-None-Match": "x", "Accept-Encoding": "gzip, sdch, br"})
        r.anticache()
        self.assertNotIn("if-none-match", r.headers)
        r.constrain_encoding()
        self.assertEqual(r.headers["accept-encoding"], "gzip, br")
        r.anticomp()
        self.assertEqual(r.headers["accept-encoding"], "identity")


class TestResponse(unittest.TestCase):
    def test_make(self):
        r = Response.make(404, "not here", {"Content-Type": "text/plain"})
        self.assertEqual((r.status_code, r.reason), (404, "Not Found"))
        self.assertEqual(r.headers["content-length"], "8")
        r = http.HTTPResponse.make(200, b"x", [(b"a", b"b")])
        self.assertEqual(r.headers["a"], "b")
        with self.assertRaises(TypeError):
            Response.make(200, 5)

    def test_018_constructor(self):
        r = http.HTTPResponse(b"HTTP/1.1", 200, b"OK", Headers(Content_Type="text/html"), b"helloworld")
        self.assertEqual(r.content, b"helloworld")
        self.assertEqual(r.headers["content-type"], "text/html")

    def test_cookies(self):
        r = Response.make(200, b"", [(b"Set-Cookie", b"a=1; Path=/; HttpOnly"), (b"set-cookie", b"b=2")])
        value, attrs = r.cookies["a"]
        self.assertEqual(value, "1")
        self.assertEqual(attrs["path"], "/")
        self.assertIsNone(attrs["httponly"])
        r.cookies["c"] = ("3", attrs)
        self.assertEqual(r.headers.get_all("set-cookie")[-1], "c=3; Path=/; HttpOnly")


def state_flow(response=True, call=None, **env):
    """An HTTPFlow backed by state, as the host builds one for a hook."""
    req = Request.make("GET", "http://example.com/p", headers={"Host": "example.com"})
    resp = Response.make(200, b"body", {"Content-Type": "text/plain"}) if response else None
    f = HTTPFlow.__new__(HTTPFlow)
    msg = {"fid": "the-id", "live": True,
           "f": tnetstring.dumps({"id": "the-id", "type": "http", "error": None, "marked": "", "comment": "",
                                  "metadata": {"k": [1, 2]}, "is_replay": None, "intercepted": False,
                                  "timestamp_created": 1.0}),
           "rq": tnetstring.dumps(req.get_state())}
    if resp is not None:
        msg["rs"] = tnetstring.dumps(resp.get_state())
    msg.update(env)
    f._init_hook(call or _Call(), msg)
    return f


class _Call:
    finished = False

    def source(self, part):
        return _Src(part)


class _Src:
    def __init__(self, part):
        self.part = part

    def cached(self):
        return None

    def fetch(self):
        return b"lazy " + self.part.encode()


class TestStateFlow(unittest.TestCase):
    def test_untouched(self):
        f = state_flow()
        self.assertEqual(f._changes(), {})
        f.request.headers  # read only
        f.response.text
        self.assertEqual(f._changes(), {})

    def test_partial_changes(self):
        f = state_flow()
        f.response.headers["x"] = "1"
        f.request.path = "/new"
        ch = f._changes()
        self.assertEqual(set(ch), {"request", "response"})
        self.assertEqual(ch["request"], {"path": b"/new"})
        self.assertEqual(list(ch["response"]), ["headers"])
        self.assertEqual(ch["response"]["headers"][-1], [b"x", b"1"])

    def test_new_response(self):
        f = state_flow(response=False)
        self.assertIsNone(f.response)
        f.response = Response.make(204)
        ch = f._changes()
        self.assertEqual(ch["response"]["status_code"], 204)
        self.assertIn("headers", ch["response"])
        f = state_flow()
        f.response = None
        self.assertEqual(f._changes(), {"response": None})

    def test_flow_fields(self):
        f = state_flow()
        self.assertEqual(f.id, "the-id")
        f.metadata["k"].append(3)
        f.marked = True
        f.comment = "c"
        ch = f._changes()
        self.assertEqual(ch["metadata"], {"k": [1, 2, 3]})
        self.assertEqual(ch["marked"], ":default:")
        self.assertEqual(ch["comment"], "c")

    def test_kill_intercept(self):
        f = state_flow()
        f.intercept()
        f.resume()
        f.kill()
        ch = f._changes()
        self.assertEqual(ch["actions"], ["intercept", "resume", "kill"])
        self.assertEqual(ch["error"]["msg"], "Connection killed.")
        self.assertFalse(f.live)
        f = state_flow(live=False)
        from mitmproxy import exceptions
        with self.assertRaises(exceptions.ControlException):
            f.kill()

    def test_rollback(self):
        f = state_flow()
        f.request.headers["kept"] = "1"
        snap = f._snapshot()
        f.request.headers["dropped"] = "1"
        f.response.status_code = 500
        f.kill()
        f._rollback(snap)
        ch = f._changes()
        self.assertEqual(set(ch), {"request"})
        self.assertEqual(ch["request"]["headers"][-1], [b"kept", b"1"])
        self.assertTrue(f.live)
        # From a pristine flow.
        f = state_flow()
        snap = f._snapshot()
        self.assertIsNone(snap)
        f.request.host = "x"
        f._rollback(snap)
        self.assertEqual(f._changes(), {})

    def test_lazy_body(self):
        f = state_flow(lazy=["rs"])
        self.assertEqual(f._changes(), {})
        self.assertEqual(f.response.content, b"lazy rs")
        self.assertEqual(f._changes(), {})
        f.response.content = b"new"
        self.assertEqual(f._changes()["response"]["content"], b"new")

    def test_copy(self):
        f = state_flow()
        c = f.copy()
        self.assertNotEqual(c.id, f.id)
        self.assertFalse(c.live)
        c.request.headers["x"] = "1"
        self.assertNotIn("x", f.request.headers)
        self.assertEqual(f._changes(), {})

    def test_user_attributes_live_in_dict(self):
        f = state_flow()
        f.started = 1
        self.assertEqual(f.__dict__, {"started": 1})

    def test_unsupported(self):
        f = state_flow()
        with self.assertRaisesRegex(AttributeError, "mitmgo"):
            f.request.nonexistent
        with self.assertRaisesRegex(AttributeError, "not supported yet by mitmgo"):
            f.response.refresh()


if __name__ == "__main__":
    unittest.main()
