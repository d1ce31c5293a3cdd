"""HTTP flows, requests, responses and headers (mitmproxy.http), as mitmgo
provides them to scripts.

Objects handed to a hook are backed by mitmproxy's flow state, which mitmgo
sends with the hook call; each part is decoded on first use, large bodies are
fetched from mitmgo on first use, and what a handler changes is sent back when
the hook returns.
"""
import json as _json
import re
import time

from . import flow
from .coretypes import multidict
from ._mitmgo import encoding, runtime, urls
from ._mitmgo.runtime import LAZY
from ._mitmgo.tnetstring import loads_part as loads
from .net.http.status_codes import RESPONSES
from .utils.strutils import always_bytes, always_str, escaped_str_to_bytes

__all__ = ["Headers", "Message", "Request", "Response", "HTTPFlow", "HTTPRequest", "HTTPResponse"]


def _native(x):
    return x.decode("utf-8", "surrogateescape")


def _always_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    raise TypeError("expected str or bytes, got %s" % type(x).__name__)


class Headers(multidict.MultiDict):
    """HTTP headers: an ordered multi-dict of bytes that keeps duplicates and
    the spelling of names, looked up case-insensitively with str or bytes.

    ``headers["name"]`` joins repeated values with ", "; use ``get_all`` for
    headers such as Set-Cookie. ``fields`` holds the raw (name, value) tuples.
    """

    def __init__(self, fields=(), **headers):
        super().__init__()
        out = []
        for item in fields:
            k, v = item
            out.append((_always_bytes(k), _always_bytes(v)))
        for k, v in headers.items():
            out.append((_always_bytes(k.replace("_", "-")), _always_bytes(v)))
        self._fields = tuple(out)

    @property  # type: ignore[override]
    def fields(self):
        return self._fields

    @fields.setter
    def fields(self, value):
        self._fields = tuple((_always_bytes(k), _always_bytes(v)) for k, v in value)

    @staticmethod
    def _reduce_values(values):
        return ", ".join(values)

    @staticmethod
    def _kconv(key):
        return key.lower()

    def __bytes__(self):
        if self._fields:
            return b"\r\n".join(b": ".join(f) for f in self._fields) + b"\r\n"
        return b""

    def __getitem__(self, key):
        values = self.get_all(key)
        if not values:
            raise KeyError(key)
        return ", ".join(values)

    def __delitem__(self, key):
        k = _always_bytes(key).lower()
        new = tuple(f for f in self._fields if f[0].lower() != k)
        if len(new) == len(self._fields):
            raise KeyError(key)
        self._fields = new

    def __iter__(self):
        seen = set()
        for k, _ in self._fields:
            lk = k.lower()
            if lk not in seen:
                seen.add(lk)
                yield _native(k)

    def __len__(self):
        return len({k.lower() for k, _ in self._fields})

    def __contains__(self, key):
        if not isinstance(key, (str, bytes)):
            return False
        k = _always_bytes(key).lower()
        for f in self._fields:
            if f[0].lower() == k:
                return True
        return False

    def get(self, key, default=None):
        values = self.get_all(key)
        if not values:
            return default
        return ", ".join(values)

    def get_all(self, name):
        """Every value of the header, unjoined, as str."""
        k = _always_bytes(name).lower()
        return [_native(v) for n, v in self._fields if n.lower() == k]

    def set_all(self, name, values):
        """Replace every value of the header; existing fields keep their
        positions, extra values are appended, surplus fields dropped."""
        name = _always_bytes(name)
        values = [_always_bytes(v) for v in values]
        k = name.lower()
        new = []
        i = 0
        for f in self._fields:
            if f[0].lower() == k:
                if i < len(values):
                    new.append((f[0], values[i]))
                    i += 1
            else:
                new.append(f)
        while i < len(values):
            new.append((name, values[i]))
            i += 1
        self._fields = tuple(new)

    def __setitem__(self, key, value):
        # set_all(key, [value]) without the list and the extra call: the
        # most common change scripts make (add_header.py).
        name = key if type(key) is bytes else _always_bytes(key)
        value = value if type(value) is bytes else _always_bytes(value)
        k = name.lower()
        new = []
        done = False
        for f in self._fields:
            if f[0].lower() == k:
                if not done:
                    new.append((f[0], value))
                    done = True
            else:
                new.append(f)
        if not done:
            new.append((name, value))
        self._fields = tuple(new)

    def add(self, key, value):
        self.insert(len(self._fields), key, value)

    def insert(self, index, key, value):
        fields = list(self._fields)
        fields.insert(index, (_always_bytes(key), _always_bytes(value)))
        self._fields = tuple(fields)

    def items(self, multi=False):
        if multi:
            return [(_native(k), _native(v)) for k, v in self._fields]
        return [(k, self[k]) for k in self]

    def keys(self, multi=False):
        if multi:
            return [_native(k) for k, _ in self._fields]
        return list(self)

    def values(self, multi=False):
        if multi:
            return [_native(v) for _, v in self._fields]
        return [self[k] for k in self]

    def copy(self):
        h = Headers()
        h._fields = self._fields
        return h

    def replace(self, pattern, repl, flags=0, count=0):
        """0.18-era: regex-replace in each "name: value" line; returns the
        number of replacements."""
        if isinstance(pattern, str):
            pattern = escaped_str_to_bytes(pattern)
        if isinstance(repl, str):
            repl = escaped_str_to_bytes(repl)
        rx = re.compile(pattern, flags)
        total = 0
        fields = []
        for name, value in self._fields:
            if count and total >= count:
                fields.append((name, value))
                continue
            line, n = rx.subn(repl, name + b": " + value, count=(count - total) if count else 0)
            try:
                nname, nvalue = line.split(b": ", 1)
            except ValueError:
                # The replacement ate the separator: keep the header as it was.
                fields.append((name, value))
                continue
            total += n
            fields.append((nname, nvalue))
        self._fields = tuple(fields)
        return total

    def __repr__(self):
        return "Headers[%s]" % ", ".join(repr(f) for f in self._fields)

    def get_state(self):
        return [[k, v] for k, v in self._fields]

    @classmethod
    def from_state(cls, state):
        h = cls()
        h._fields = tuple((k, v) for k, v in state)
        return h


def _headers_from_state(lst):
    # Headers() without its __init__ (a MultiDict holds nothing but
    # _fields): a hook call decodes a request or response on every use.
    h = Headers.__new__(Headers)
    fields = tuple(map(tuple, lst))
    for k, v in fields:
        if type(k) is not bytes or type(v) is not bytes:
            fields = tuple((k if isinstance(k, bytes) else _always_bytes(k), v if isinstance(v, bytes) else _always_bytes(v))
                           for k, v in fields)
            break
    h._fields = fields
    return h


class _Data:
    """The fields of a request or response, named as in the state dict."""

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in vars(self).items()))


_MSG_FIELDS = ("http_version", "headers", "content", "trailers", "timestamp_start", "timestamp_end")
_REQ_FIELDS = _MSG_FIELDS + ("host", "port", "method", "scheme", "authority", "path")
_RESP_FIELDS = _MSG_FIELDS + ("status_code", "reason")

_charset_re = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.I)
_meta_re = re.compile(rb"""<meta[^>]+charset=['"]?([^'">]+)""", re.I)
_xml_re = re.compile(rb"""^<\?xml[^>]+encoding=['"]?([^'">]+)""")
_css_re = re.compile(rb"""^@charset "([^"]+)";""")


class Message:
    """What requests and responses share."""

    _fields = _MSG_FIELDS

    def _init_common(self, http_version, headers, content, trailers, timestamp_start, timestamp_end):
        d = self.data = _Data()
        d.http_version = _always_bytes(http_version)
        if isinstance(headers, Headers):
            d.headers = headers
        elif isinstance(headers, dict):
            d.headers = Headers((k, v) for k, v in headers.items())
        else:
            d.headers = Headers(headers or ())
        if content is not None and not isinstance(content, bytes):
            raise TypeError("content must be bytes or None, not %s" % type(content).__name__)
        d.content = content
        d.trailers = trailers if trailers is None or isinstance(trailers, Headers) else Headers(trailers)
        d.timestamp_start = timestamp_start if timestamp_start is not None else time.time()
        d.timestamp_end = timestamp_end
        self.stream = False
        self._stream0 = False
        self._orig = None
        self._src = None

    @classmethod
    def _from_state(cls, st, src=None):
        """A message backed by a state dict; src fetches an on-demand body."""
        m = cls.__new__(cls)
        d = m.data = _Data()
        for k in m._fields:
            d.__dict__[k] = st.get(k)
        d.headers = _headers_from_state(st.get("headers") or ())
        tr = st.get("trailers")
        d.trailers = _headers_from_state(tr) if tr is not None else None
        if src is not None:
            d.content = LAZY
            cached = src.cached()
            if cached is not None:
                d.content = cached
                st["content"] = cached
        if isinstance(d.http_version, str):
            d.http_version = d.http_version.encode()
        m._post_state(st)
        m.stream = bool(st.get("stream"))
        m._stream0 = m.stream
        m._orig = st
        m._src = src
        return m

    def _post_state(self, st):
        pass

    def get_state(self):
        """The message as a state dict (bodies fetched if needed)."""
        d = self.data
        out = {}
        for k in self._fields:
            v = getattr(d, k)
            if k == "headers":
                v = v.get_state()
            elif k == "trailers":
                v = v.get_state() if v is not None else None
            elif k == "content" and v is LAZY:
                v = self.raw_content
            out[k] = v
        return out

    def _changes(self):
        """The fields that differ from the state mitmgo sent."""
        orig = self._orig
        d = self.data
        out = {}
        dd = d.__dict__
        for k in self._fields:
            v = dd[k] if k in dd else getattr(d, k)
            o = orig.get(k)
            if v is o:
                # Untouched: the very value decoded (most fields of most
                # calls).
                continue
            if k == "headers":
                if v.fields != tuple(map(tuple, o or ())):
                    out[k] = v.get_state()
            elif k == "trailers":
                if v is None:
                    if o is not None:
                        out[k] = None
                elif o is None or v.fields != tuple(map(tuple, o)):
                    out[k] = v.get_state()
            elif k == "content":
                if v is LAZY or v is o:
                    continue
                if v != o:
                    out[k] = v
            elif isinstance(o, bytes) and isinstance(v, str):
                if v.encode("utf-8", "surrogateescape") != o:
                    out[k] = v
            elif v != o or type(v) is not type(o) and not (isinstance(v, (int, float)) and isinstance(o, (int, float))):
                out[k] = v
        return out

    def _stream_change(self):
        """What .stream became, for mitmgo (None: unchanged)."""
        s, s0 = self.stream, getattr(self, "_stream0", False)
        if s is s0 or (not callable(s) and not callable(s0) and bool(s) == bool(s0)):
            return None
        return _stream_wire(s)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("data", "_orig", "_src", "stream", "_stream0"):
            raise AttributeError(name)
        raise AttributeError(
            "%r object has no attribute %r (if this is mitmproxy API, mitmgo does not support it yet)"
            % (type(self).__name__, name)
        )

    # Fields ------------------------------------------------------------

    @property
    def http_version(self):
        return self.data.http_version.decode("utf-8", "surrogateescape")

    @http_version.setter
    def http_version(self, v):
        self.data.http_version = always_bytes(v, "utf-8", "surrogateescape")

    @property
    def is_http10(self):
        return self.data.http_version == b"HTTP/1.0"

    @property
    def is_http11(self):
        return self.data.http_version == b"HTTP/1.1"

    @property
    def is_http2(self):
        return self.data.http_version in (b"HTTP/2.0", b"HTTP/2")

    @property
    def is_http3(self):
        return self.data.http_version in (b"HTTP/3", b"HTTP/3.0")

    @property
    def headers(self):
        return self.data.headers

    @headers.setter
    def headers(self, h):
        if not isinstance(h, Headers):
            h = Headers(h.items() if isinstance(h, dict) else h)
        self.data.headers = h

    @property
    def trailers(self):
        return self.data.trailers

    @trailers.setter
    def trailers(self, h):
        self.data.trailers = h

    @property
    def timestamp_start(self):
        return self.data.timestamp_start

    @timestamp_start.setter
    def timestamp_start(self, v):
        self.data.timestamp_start = v

    @property
    def timestamp_end(self):
        return self.data.timestamp_end

    @timestamp_end.setter
    def timestamp_end(self, v):
        self.data.timestamp_end = v

    # Content -----------------------------------------------------------

    @property
    def raw_content(self):
        """The body as sent on the wire (possibly compressed); None if
        missing (streamed)."""
        c = self.data.content
        if c is LAZY:
            c = self._src.fetch()
            self.data.content = c
            self._orig["content"] = c
        return c

    @raw_content.setter
    def raw_content(self, v):
        if v is not None and not isinstance(v, bytes):
            raise TypeError("raw_content must be bytes or None, not %s" % type(v).__name__)
        self.data.content = v

    @property
    def content(self):
        """The body with its Content-Encoding removed."""
        return self.get_content()

    @content.setter
    def content(self, v):
        self.set_content(v)

    @property
    def text(self):
        """The body decoded to str with the inferred charset."""
        return self.get_text()

    @text.setter
    def text(self, v):
        self.set_text(v)

    def set_content(self, value):
        if value is None:
            self.raw_content = None
            return
        if not isinstance(value, bytes):
            raise TypeError(
                "Message content must be bytes, not %s. Please use .text if you want to assign a str."
                % type(value).__name__
            )
        ce = self.headers.get("content-encoding")
        try:
            self.raw_content = encoding.encode(value, ce or "identity")
        except ValueError:
            # An unusable content-encoding: drop it.
            del self.headers["content-encoding"]
            self.raw_content = value
        if "transfer-encoding" not in self.headers:
            self.headers["content-length"] = str(len(self.raw_content))

    def get_content(self, strict=True):
        raw = self.raw_content
        if raw is None:
            return None
        ce = self.headers.get("content-encoding")
        if not ce:
            return raw
        try:
            return encoding.decode(raw, ce)
        except ValueError:
            if strict:
                raise
            return raw

    def _get_content_type_charset(self):
        m = _charset_re.search(self.headers.get("content-type", ""))
        return m.group(1) if m else None

    def _guess_encoding(self, content=b""):
        enc = None
        if content[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
            enc = "utf-32"
        elif content[:2] in (b"\xfe\xff", b"\xff\xfe"):
            enc = "utf-16"
        elif content[:3] == b"\xef\xbb\xbf":
            enc = "utf-8-sig"
        if enc is None:
            enc = self._get_content_type_charset()
        if enc is None:
            ct = self.headers.get("content-type", "").lower()
            head = content[:1024]
            if "json" in ct:
                enc = "utf8"
            elif "html" in ct:
                m = _meta_re.search(head)
                enc = m.group(1).decode("ascii", "replace") if m else "utf8"
            elif "xml" in ct:
                m = _xml_re.search(head)
                enc = m.group(1).decode("ascii", "replace") if m else "utf8"
            elif "javascript" in ct or "ecmascript" in ct:
                enc = "utf8"
            elif "css" in ct:
                m = _css_re.search(head)
                enc = m.group(1).decode("ascii", "replace") if m else "utf8"
            else:
                enc = "latin-1"
        if enc.lower() in ("gb2312", "gbk"):
            enc = "gb18030"
        return enc

    def get_text(self, strict=True):
        content = self.get_content(strict)
        if content is None:
            return None
        enc = self._guess_encoding(content)
        try:
            return content.decode(enc, "strict")
        except (ValueError, LookupError):
            if strict:
                raise
            return content.decode("utf8", "surrogateescape")

    def set_text(self, text):
        if text is None:
            self.content = None
            return
        enc = self._guess_encoding()
        try:
            self.content = text.encode(enc)
        except (ValueError, LookupError):
            ct = self.headers.get("content-type", "") or "text/plain"
            ct = _charset_re.sub("", ct)
            self.headers["content-type"] = ct + "; charset=utf-8"
            self.content = text.encode("utf8", "surrogateescape")

    def decode(self, strict=True):
        """Remove the Content-Encoding in place."""
        decoded = self.get_content(strict)
        self.headers.pop("content-encoding", None)
        self.content = decoded

    def encode(self, e):
        """Apply Content-Encoding e in place."""
        self.decode()
        self.headers["content-encoding"] = e
        self.content = self.raw_content
        if "content-encoding" not in self.headers:
            raise ValueError("Invalid content encoding %r" % e)

    def json(self, **kwargs):
        content = self.get_content(strict=False)
        if content is None:
            raise TypeError("Message content is not available.")
        return _json.loads(content, **kwargs)

    def replace(self, pattern, repl, flags=0, count=0):
        """0.18-era: regex-replace in the headers and the decoded body;
        returns the number of replacements."""
        if isinstance(pattern, str):
            pattern = escaped_str_to_bytes(pattern)
        if isinstance(repl, str):
            repl = escaped_str_to_bytes(repl)
        n = 0
        content = self.content
        if content:
            content, n = re.subn(pattern, repl, content, flags=flags, count=count)
            self.content = content
        n += self.headers.replace(pattern, repl, flags=flags, count=count)
        return n


class Request(Message):
    """An HTTP request."""

    _fields = _REQ_FIELDS

    def __init__(self, host, port, method, scheme, authority, path, http_version, headers=(), content=b"",
                 trailers=None, timestamp_start=None, timestamp_end=None):
        self._init_common(http_version, headers, content, trailers, timestamp_start, timestamp_end)
        d = self.data
        d.host = always_str(host, "idna") if isinstance(host, bytes) else host
        d.port = int(port)
        d.method = _always_bytes(method)
        d.scheme = _always_bytes(scheme)
        d.authority = _always_bytes(authority)
        d.path = _always_bytes(path)

    def _post_state(self, st):
        d = self.data
        for k in ("method", "scheme", "authority", "path"):
            v = getattr(d, k)
            if isinstance(v, str):
                setattr(d, k, v.encode("utf-8", "surrogateescape"))
            elif v is None:
                setattr(d, k, b"")
        if isinstance(d.host, bytes):
            d.host = d.host.decode("idna")

    def __repr__(self):
        if self.host and self.port:
            hostport = "%s:%s" % (self.host, self.port)
        else:
            hostport = ""
        path = self.path or ""
        return "Request(%s %s%s)" % (self.method, hostport, path)

    @classmethod
    def make(cls, method, url, content=b"", headers=()):
        """A simple HTTP/1.1 request."""
        if isinstance(headers, Headers):
            pass
        elif isinstance(headers, dict):
            headers = Headers((always_bytes(k, "utf-8", "surrogateescape"), always_bytes(v, "utf-8", "surrogateescape"))
                              for k, v in headers.items())
        else:
            headers = Headers(headers)
        req = cls("", 0, method.encode("utf-8", "surrogateescape") if isinstance(method, str) else method,
                  b"", b"", b"", b"HTTP/1.1", headers, b"", None, time.time(), time.time())
        req.url = url
        if isinstance(content, bytes):
            req.content = content
        elif isinstance(content, str):
            req.text = content
        else:
            raise TypeError("Expected content to be str or bytes, but is %s." % type(content).__name__)
        return req

    @property
    def first_line_format(self):
        if self.method == "CONNECT":
            return "authority"
        if self.authority:
            return "absolute"
        return "relative"

    @property
    def method(self):
        return self.data.method.decode("utf-8", "surrogateescape").upper()

    @method.setter
    def method(self, v):
        self.data.method = always_bytes(v, "utf-8", "surrogateescape")

    @property
    def scheme(self):
        return self.data.scheme.decode("utf-8", "surrogateescape")

    @scheme.setter
    def scheme(self, v):
        self.data.scheme = always_bytes(v, "utf-8", "surrogateescape")

    @property
    def authority(self):
        try:
            return self.data.authority.decode("idna")
        except UnicodeError:
            return self.data.authority.decode("utf8", "surrogateescape")

    @authority.setter
    def authority(self, v):
        if isinstance(v, str):
            try:
                v = v.encode("idna", "strict")
            except UnicodeError:
                v = v.encode("utf8", "surrogateescape")
        self.data.authority = v

    @property
    def host(self):
        return self.data.host

    @host.setter
    def host(self, v):
        self.data.host = always_str(v, "idna", "strict")
        self._update_host_and_authority()

    def _update_host_and_authority(self):
        hp = urls.hostport(self.scheme, self.host, self.port)
        if "Host" in self.data.headers:
            self.data.headers["Host"] = hp
        if self.data.authority:
            if self.method == "CONNECT":
                self.authority = "%s:%d" % (
                    "[%s]" % self.host if ":" in self.host else self.host, self.port)
            else:
                self.authority = hp

    @property
    def host_header(self):
        if self.is_http2 or self.is_http3:
            return self.authority or self.data.headers.get("Host", None)
        return self.data.headers.get("Host", None)

    @host_header.setter
    def host_header(self, v):
        if v is None:
            if self.is_http2 or self.is_http3:
                self.data.authority = b""
            self.headers.pop("Host", None)
        else:
            if self.is_http2 or self.is_http3:
                self.authority = v
            if not (self.is_http2 or self.is_http3) or "Host" in self.headers:
                self.headers["Host"] = v

    @property
    def port(self):
        return self.data.port

    @port.setter
    def port(self, v):
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError("Port must be an integer, not %r" % (v,))
        self.data.port = v
        self._update_host_and_authority()

    @property
    def path(self):
        return self.data.path.decode("utf-8", "surrogateescape")

    @path.setter
    def path(self, v):
        self.data.path = always_bytes(v, "utf-8", "surrogateescape")

    @property
    def url(self):
        if self.first_line_format == "authority":
            return "%s:%d" % (self.host, self.port)
        return urls.unparse(self.scheme, self.host, self.port, self.path)

    @url.setter
    def url(self, v):
        v = always_str(v, "utf-8", "surrogateescape")
        scheme, host, port, path = urls.parse(v)
        self.scheme = scheme
        self.data.host = host
        self.data.port = port
        self.path = path
        self._update_host_and_authority()

    @property
    def pretty_host(self):
        authority = self.host_header
        if authority:
            return urls.parse_authority(authority, check=False)[0]
        return self.host

    @property
    def pretty_url(self):
        if self.first_line_format == "authority":
            return self.authority
        host_header = self.host_header
        if not host_header:
            return self.url
        pretty_host, pretty_port = urls.parse_authority(host_header, check=False)
        pretty_port = pretty_port or urls.default_port(self.scheme) or 443
        return urls.unparse(self.scheme, pretty_host, pretty_port, self.path)

    def _get_query(self):
        _, _, q = self.path.partition("?")
        q, _, _ = q.partition("#")
        return tuple(urls.decode_query(q))

    def _set_query(self, fields):
        path, _, rest = self.path.partition("?")
        _, hash_, frag = rest.partition("#")
        q = urls.encode_query(fields)
        self.path = path + ("?" + q if q else "") + (hash_ + frag if hash_ else "")

    @property
    def query(self):
        """The query string as an ordered multi-dict view."""
        return multidict.MultiDictView(self._get_query, self._set_query)

    @query.setter
    def query(self, value):
        self._set_query(value.items(multi=True) if hasattr(value, "fields") else value)

    def _get_cookies(self):
        return tuple(urls.parse_cookie_headers(self.headers.get_all("Cookie")))

    def _set_cookies(self, value):
        self.headers["cookie"] = urls.format_cookie_header(value)

    @property
    def cookies(self):
        return multidict.MultiDictView(self._get_cookies, self._set_cookies)

    @cookies.setter
    def cookies(self, value):
        self._set_cookies(value.fields if hasattr(value, "fields") else value)

    @property
    def path_components(self):
        path = self.path.partition("?")[0]
        return tuple(urls.unquote(i) for i in path.split("/") if i)

    @path_components.setter
    def path_components(self, components):
        path = "/" + "/".join(urls.quote(x, safe="") for x in components)
        _, sep, rest = self.path.partition("?")
        self.path = path + sep + rest

    def anticache(self):
        for h in ("if-modified-since", "if-none-match"):
            self.headers.pop(h, None)

    def anticomp(self):
        self.headers["accept-encoding"] = "identity"

    def constrain_encoding(self):
        ae = self.headers.get("accept-encoding")
        if ae:
            self.headers["accept-encoding"] = ", ".join(
                e for e in ("gzip", "identity", "deflate", "br", "zstd") if e in ae
            )

    def _get_urlencoded_form(self):
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", "").lower():
            return tuple(urls.decode_query(self.get_text(strict=False) or ""))
        return ()

    def _set_urlencoded_form(self, fields):
        self.headers["content-type"] = "application/x-www-form-urlencoded"
        self.content = urls.encode_query(fields).encode()

    @property
    def urlencoded_form(self):
        return multidict.MultiDictView(self._get_urlencoded_form, self._set_urlencoded_form)

    @urlencoded_form.setter
    def urlencoded_form(self, value):
        self._set_urlencoded_form(value.fields if hasattr(value, "fields") else value)

    def _get_multipart_form(self):
        ct = self.headers.get("content-type", "")
        if "multipart/form-data" in ct.lower():
            try:
                return tuple(urls.multipart_decode(ct, self.content or b""))
            except ValueError:
                pass
        return ()

    def _set_multipart_form(self, fields):
        ct = self.headers.get("content-type", "")
        if not ct.lower().startswith("multipart/form-data"):
            ct = ""
        boundary, body = urls.multipart_encode(ct, fields)
        if not ct:
            self.headers["content-type"] = "multipart/form-data; boundary=" + boundary.decode()
        self.content = body

    @property
    def multipart_form(self):
        return multidict.MultiDictView(self._get_multipart_form, self._set_multipart_form)

    @multipart_form.setter
    def multipart_form(self, value):
        self._set_multipart_form(value.fields if hasattr(value, "fields") else value)

    def replace(self, pattern, repl, flags=0, count=0):
        """0.18-era: regex-replace in the headers, the decoded body and the
        path; returns the number of replacements."""
        if isinstance(pattern, str):
            pattern = escaped_str_to_bytes(pattern)
        if isinstance(repl, str):
            repl = escaped_str_to_bytes(repl)
        n = super().replace(pattern, repl, flags, count)
        path, pn = re.subn(pattern, repl, self.data.path, flags=flags, count=count)
        self.data.path = path
        return n + pn


class Response(Message):
    """An HTTP response."""

    _fields = _RESP_FIELDS

    def __init__(self, http_version, status_code, reason, headers=(), content=b"", trailers=None,
                 timestamp_start=None, timestamp_end=None):
        self._init_common(http_version, headers, content, trailers, timestamp_start, timestamp_end)
        self.data.status_code = int(status_code)
        self.data.reason = _always_bytes(reason)

    def _post_state(self, st):
        d = self.data
        if isinstance(d.reason, str):
            d.reason = d.reason.encode("utf-8", "surrogateescape")
        elif d.reason is None:
            d.reason = b""

    def __repr__(self):
        if self.raw_content:
            ct = self.headers.get("content-type", "unknown content type")
            size = len(self.raw_content)
            details = "%s, %d bytes" % (ct, size)
        else:
            details = "no content"
        return "Response(%s, %s)" % (self.status_code, details)

    @classmethod
    def make(cls, status_code=200, content=b"", headers=()):
        """A simple HTTP/1.1 response with the standard reason phrase."""
        resp = cls(b"HTTP/1.1", status_code, RESPONSES.get(status_code, "").encode(), Headers(), None, None,
                   time.time(), time.time())
        if isinstance(headers, Headers):
            resp.headers = headers
        elif isinstance(headers, dict):
            resp.headers = Headers((always_bytes(k, "utf-8", "surrogateescape"), always_bytes(v, "utf-8", "surrogateescape"))
                                   for k, v in headers.items())
        elif hasattr(headers, "__iter__"):
            resp.headers = Headers(headers)
        else:
            raise TypeError("Expected headers to be an iterable or dict, but is %s." % type(headers).__name__)
        if isinstance(content, bytes):
            resp.content = content
        elif isinstance(content, str):
            resp.text = content
        else:
            raise TypeError("Expected content to be str or bytes, but is %s." % type(content).__name__)
        return resp

    @property
    def status_code(self):
        return self.data.status_code

    @status_code.setter
    def status_code(self, v):
        self.data.status_code = int(v)

    @property
    def reason(self):
        return self.data.reason.decode("ISO-8859-1")

    @reason.setter
    def reason(self, v):
        self.data.reason = always_bytes(v, "ISO-8859-1")

    def _get_cookies(self):
        out = []
        for h in self.headers.get_all("set-cookie"):
            for name, value, attrs in urls.parse_set_cookie_header(h):
                out.append((name, (value, attrs)))
        return tuple(out)

    def _set_cookies(self, value):
        headers = []
        for name, (val, attrs) in value:
            headers.append(urls.format_set_cookie_header([(name, val, attrs)]))
        self.headers.set_all("set-cookie", headers)

    @property
    def cookies(self):
        """Set-Cookie headers as name -> (value, attrs)."""
        return multidict.MultiDictView(self._get_cookies, self._set_cookies)

    @cookies.setter
    def cookies(self, value):
        self._set_cookies(value.fields if hasattr(value, "fields") else value)

    def refresh(self, now=None):
        raise runtime.not_supported("Response", "refresh")


HTTPRequest = Request
HTTPResponse = Response

_PENDING = object()
_ws_mod = None


def _websocket():
    """mitmproxy.websocket, imported on first use (it imports this module);
    a global after that, as an import statement costs each hook call."""
    global _ws_mod
    if _ws_mod is None:
        from . import websocket

        _ws_mod = websocket
    return _ws_mod


class _NoSrc:
    pass


def _stream_wire(s):
    """A .stream value as mitmgo takes it: True, False, or "fn" for a
    callable (which stays in the host: runtime.store)."""
    if callable(s):
        return "fn"
    return bool(s)


class HTTPFlow(flow.Flow):
    """An HTTP request and its response (or error); WebSocket connections
    live on in the flow of their handshake."""

    type = "http"

    __slots__ = ("_request", "_response", "_websocket", "_orig_request", "_orig_response", "_orig_websocket",
                 "_rq_raw", "_rs_raw", "_ws_raw", "_lazy", "_ws_base", "_ws_live")

    def __init__(self, client_conn, server_conn, live=False, mode="regular"):
        super().__init__(client_conn, server_conn, live)
        self._request = None
        self._response = None
        self._websocket = None
        self._orig_request = self._orig_response = self._orig_websocket = _PENDING
        self._rq_raw = self._rs_raw = self._ws_raw = None
        self._lazy = ()
        self._ws_base = self._ws_live = None

    def _init_hook(self, call, env):
        # flow.Flow._init_hook, in line: this runs for every HTTP hook.
        get = env.get
        self._call = call
        self.id = get("fid")
        self.live = self._live0 = bool(get("live"))
        self._fl_raw = get("f")
        self._fl = None
        self._cc_raw = get("cc")
        self._sc_raw = get("sc")
        self._client_conn = self._server_conn = None
        self._actions = []
        self._touched = False
        self._rq_raw = rq = get("rq")
        self._rs_raw = rs = get("rs")
        self._ws_raw = ws = get("ws")
        self._lazy = get("lazy") or ()
        # How many WebSocket messages the host has already (None: the
        # state carries them all, as from a flow file).
        self._ws_base = get("wsbase")
        self._ws_live = None
        self._request = self._orig_request = _PENDING if rq is not None else None
        self._response = self._orig_response = _PENDING if rs is not None else None
        if ws is None:
            self._websocket = self._orig_websocket = None
        elif self._ws_base is not None:
            # The new messages join the flow's list now, so that a flow a
            # script kept from an earlier call shows them too.
            self._websocket = self._orig_websocket = self._load_ws()
        else:
            self._websocket = self._orig_websocket = _PENDING

    def _msg(self, part, cls, raw):
        st = loads(raw)
        src = self._call.source(part) if part in self._lazy else None
        m = cls._from_state(st, src)
        if m.stream:
            # A callable set in an earlier hook is still there.
            fn = runtime.store.streams.get((self.id, part))
            if fn is not None:
                m.stream = m._stream0 = fn
        return m

    @property
    def request(self):
        self._touched = True
        if self._request is _PENDING:
            self._request = self._orig_request = self._msg("rq", Request, self._rq_raw)
        return self._request

    @request.setter
    def request(self, value):
        self._touched = True
        if self._orig_request is _PENDING and self._rq_raw is not None:
            self.request  # decode the original first, so the change is seen
        self._request = value

    @property
    def response(self):
        self._touched = True
        if self._response is _PENDING:
            self._response = self._orig_response = self._msg("rs", Response, self._rs_raw)
        return self._response

    @response.setter
    def response(self, value):
        if value is not None and not isinstance(value, Response):
            raise TypeError("flow.response must be a Response, not %s" % type(value).__name__)
        self._touched = True
        if self._orig_response is _PENDING and self._rs_raw is not None:
            self.response
        self._response = value

    @property
    def websocket(self):
        self._touched = True
        if self._websocket is _PENDING:
            self._websocket = self._orig_websocket = self._load_ws()
        return self._websocket

    def _load_ws(self):
        """The flow's WebSocketData. For a live flow it is one object for
        all its hook calls, kept by the host: the messages of earlier calls
        and the new ones mitmgo sent, its close fields as of this call (a
        flow a script keeps, as mitmproxy's websocket-inject-message example
        does, sees timestamp_end set when the connection ends)."""
        if self._ws_live is not None:
            return self._ws_live
        WebSocketData = _websocket().WebSocketData
        st = loads(self._ws_raw)
        if self._ws_base is None:
            return WebSocketData._from_state(st)
        w = self._ws_live = self._ws_join(st)
        cr = st.get("close_reason")
        w.closed_by_client = st.get("closed_by_client")
        w.close_code = st.get("close_code")
        w.close_reason = cr.decode("utf-8", "replace") if isinstance(cr, bytes) else cr
        w.timestamp_end = st.get("timestamp_end")
        return w

    def _ws_join(self, st):
        """The host's WebSocketData of the flow with the new messages mitmgo
        sent appended (once per hook call)."""
        ws_mod = _websocket()
        WebSocketData, WebSocketMessage = ws_mod.WebSocketData, ws_mod.WebSocketMessage
        base = self._ws_base
        sent = st.get("messages") or []
        w = runtime.store.ws.get(self.id)
        if base and (w is None or len(w.messages) != base):
            # The host lacks messages mitmgo thinks it has (it dropped
            # them, or a handler changed the list): all of them, then.
            call = self._call
            if call is None or call.finished:
                raise RuntimeError("mitmgo: the WebSocket messages can no longer be fetched, because the hook has "
                                   "returned; read flow.websocket inside the handler")
            sent = runtime.request("ws", call=call.id)
            base = 0
        if w is not None and not base:
            # All of them again, into the same object: a flow a script
            # keeps sees it.
            w.messages = []
            w._track.clear()
        if w is None:
            w = WebSocketData()
            w._track = set()
        msgs, track = w.messages, w._track
        for j, m in enumerate(sent):
            msgs.append(WebSocketMessage._synced(m, base + j, track))
        return w

    def _ws_commit(self):
        """Keep the flow's WebSocketData for its next hook call, with the
        changes the reply carries as its messages' state."""
        if self._ws_base is None:
            return
        if self._ws_live is None and self._ws_raw is not None:
            self._websocket = self._orig_websocket = self._load_ws()
        w = self._ws_live
        if w is None:
            runtime.store.ws.pop(self.id, None)
            return
        w._commit()
        runtime.store.set_ws(self.id, w)

    @property
    def timestamp_start(self):
        return self.request.timestamp_start

    @property
    def mode(self):
        m = self.client_conn.proxy_mode if self.client_conn else "regular"
        return getattr(m, "full_spec", m)

    def _changes(self):
        out = {}
        if not self._touched:
            return out
        self._flow_changes(out)
        for key, cur, orig in (("request", self._request, self._orig_request),
                               ("response", self._response, self._orig_response)):
            if cur is _PENDING:
                continue
            if cur is orig and cur is not None:
                d = cur._changes()
                sc = cur._stream_change()
                if sc is not None:
                    d["stream"] = sc
                if d:
                    out[key] = d
            elif cur is not orig:
                if cur is None:
                    out[key] = None
                else:
                    st = cur.get_state()
                    st["stream"] = _stream_wire(cur.stream)
                    out[key] = st
        ws = self._websocket
        if ws is not None and ws is not _PENDING:
            d = ws._changes()
            if d:
                out["websocket"] = d
        sc = self._server_conn
        if sc is not None and hasattr(sc, "_changes"):
            # server_conn.via (mitmproxy's change_upstream_proxy example),
            # also on a new Server that replaced an open one.
            d = sc._changes()
            if d is None:
                st = sc.get_state()
                d = {k: st[k] for k in ("address", "via", "sni")}
                d["new"] = True
            if d:
                out["server"] = d
        if self._actions:
            out["actions"] = list(self._actions)
        return out

    def _full_state(self):
        """The whole flow as a state dict (bodies fetched if needed)."""
        st = self._base_state()
        st["request"] = self.request.get_state() if self.request is not None else None
        st["response"] = self.response.get_state() if self.response is not None else None
        ws = self.websocket
        st["websocket"] = ws.get_state() if ws is not None else None
        return st

    def _reset(self):
        """Forget everything decoded, back to the state mitmgo sent."""
        ws = self._websocket
        if ws is not None and ws is not _PENDING:
            ws._revert()
        self._request = self._orig_request = _PENDING if self._rq_raw is not None else None
        self._response = self._orig_response = _PENDING if self._rs_raw is not None else None
        self._websocket = self._orig_websocket = _PENDING if self._ws_raw is not None else None
        self._fl = None
        self._client_conn = self._server_conn = None
        self._actions = []

    def _apply(self, changes):
        """Re-apply changes (as _changes made them) after a _reset."""
        from ._mitmgo import apply

        apply.apply_http(self, changes)

    def _snapshot(self):
        snap = flow.Flow._snapshot(self)
        if snap is None:
            return None
        # Stream callables, which the changes only name.
        fns = {}
        for key, m in (("request", self._request), ("response", self._response)):
            if m is not None and m is not _PENDING and callable(m.stream):
                fns[key] = m.stream
        return snap + (fns,)

    def _rollback(self, snap):
        fns = snap[3] if snap is not None and len(snap) > 3 else None
        flow.Flow._rollback(self, snap[:3] if snap is not None else None)
        for key, fn in (fns or {}).items():
            m = getattr(self, key)
            if m is not None:
                m.stream = fn

    def _set_parts(self, state):
        rq, rs, ws = state.get("request"), state.get("response"), state.get("websocket")
        self.request = _message_from_state(Request, rq)
        self.response = _message_from_state(Response, rs)
        if ws is not None:
            from .websocket import WebSocketData

            self._websocket = WebSocketData.from_state(ws)
        else:
            self._websocket = None
        self._touched = True

    def copy(self):
        """A deep copy with a new id that is not live."""
        import uuid

        f = HTTPFlow(None, None, live=False)
        f._client_conn = self.client_conn
        f._server_conn = self.server_conn
        f.id = str(uuid.uuid4())
        f._error = self.error.copy() if self.error else None
        f._intercepted = self.intercepted
        f._is_replay = self.is_replay
        f._marked = self.marked
        import copy as _copy

        f._metadata = _copy.deepcopy(self.metadata)
        f._comment = self.comment
        f._timestamp_created = self.timestamp_created
        f._request = _copy_message(self.request)
        f._response = _copy_message(self.response)
        ws = self.websocket
        f._websocket = _copy.deepcopy(ws) if ws is not None else None
        return f

    def replace(self, pattern, repl, *args, **kwargs):
        """0.18-era: replace in the request and the response."""
        n = 0
        if self.request:
            n += self.request.replace(pattern, repl, *args, **kwargs)
        if self.response:
            n += self.response.replace(pattern, repl, *args, **kwargs)
        return n

    def __repr__(self):
        s = "<HTTPFlow"
        for a in ("request", "response", "websocket", "error"):
            v = getattr(self, a)
            if v:
                s += "\r\n  %s = {flow.%s}" % (a, a)
        s += ">"
        return s.format(flow=self)


def _message_from_state(cls, st):
    """A request or response from its state dict (None for None)."""
    if st is None:
        return None
    st = dict(st)
    st["headers"] = [list(x) for x in st.get("headers") or ()]
    if st.get("trailers") is not None:
        st["trailers"] = [list(x) for x in st["trailers"]]
    m = cls._from_state(st)
    m._orig = None
    return m


def _copy_message(m):
    if m is None:
        return None
    st = m.get_state()
    st["headers"] = [list(x) for x in st["headers"]]
    c = type(m)._from_state(st)
    c._orig = None
    return c
