"""URL, query, cookie and multipart helpers for the http module."""
import mimetypes
import os
import re
import urllib.parse

from ..coretypes import multidict


def default_port(scheme):
    if isinstance(scheme, bytes):
        scheme = scheme.decode("ascii", "replace")
    return {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)


def hostport(scheme, host, port):
    """host[:port], leaving out the scheme's default port."""
    if isinstance(host, bytes):
        host = host.decode("idna")
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    if port == default_port(scheme):
        return host
    return "%s:%d" % (host, port)


def unparse(scheme, host, port, path=""):
    if isinstance(path, bytes):
        path = path.decode("utf-8", "surrogateescape")
    return "%s://%s%s" % (scheme, hostport(scheme, host, port), path)


def parse(url):
    """Split an absolute URL into (scheme, host, port, path)."""
    if isinstance(url, bytes):
        url = url.decode("utf-8", "surrogateescape")
    parsed = urllib.parse.urlparse(url)
    if not parsed.hostname:
        raise ValueError("No hostname given")
    scheme = parsed.scheme.lower()
    if not scheme:
        raise ValueError("No scheme given")
    host = parsed.hostname
    try:
        port = parsed.port
    except ValueError:
        raise ValueError("Invalid port in %r" % url)
    if not port:
        port = default_port(scheme)
        if port is None:
            raise ValueError("Unknown scheme %r and no port given" % scheme)
    path = urllib.parse.urlunparse(("", "", parsed.path, parsed.params, parsed.query, parsed.fragment))
    if not path.startswith("/"):
        path = "/" + path
    return scheme, host, port, path


def parse_authority(authority, check=True):
    """Split "host[:port]" (IPv6 bracketed); port is None when absent."""
    if isinstance(authority, bytes):
        authority = authority.decode("utf-8", "surrogateescape")
    m = re.match(r"^\[(.*)\](?::(\d+))?$", authority)
    if m:
        host, port = m.group(1), m.group(2)
    elif authority.count(":") == 1:
        host, port = authority.split(":")
    else:
        host, port = authority, None
    if port is not None:
        try:
            port = int(port)
        except ValueError:
            if check:
                raise ValueError("Invalid port: %r" % port)
            return authority.lower(), None
    return host.lower(), port


def decode_query(qs):
    return urllib.parse.parse_qsl(qs, keep_blank_values=True, errors="surrogateescape")


def encode_query(fields):
    parts = []
    for k, v in fields:
        k = urllib.parse.quote_plus(k, errors="surrogateescape") if isinstance(k, str) else urllib.parse.quote_plus(k)
        if v is None:
            parts.append(k)
            continue
        v = urllib.parse.quote_plus(v, errors="surrogateescape") if isinstance(v, str) else urllib.parse.quote_plus(v)
        parts.append("%s=%s" % (k, v))
    return "&".join(parts)


def quote(s, safe="/"):
    return urllib.parse.quote(s, safe=safe, errors="surrogateescape")


def unquote(s):
    return urllib.parse.unquote(s, errors="surrogateescape")


# Cookies -----------------------------------------------------------------


def parse_cookie_header(line):
    """A Cookie header's (name, value) pairs."""
    out = []
    for part in line.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((k.strip(), v.strip()))
        else:
            out.append((part, ""))
    return out


def parse_cookie_headers(lines):
    out = []
    for line in lines:
        out.extend(parse_cookie_header(line))
    return out


def format_cookie_header(pairs):
    return "; ".join("%s=%s" % (k, v) if v is not None else k for k, v in pairs)


class CookieAttrs(multidict.MultiDict):
    """The attributes of one Set-Cookie header; names compare case-
    insensitively, flags (HttpOnly, Secure) have the value None."""

    @staticmethod
    def _kconv(key):
        return key.lower()

    @staticmethod
    def _reduce_values(values):
        return values[-1]


def parse_set_cookie_header(line):
    """[(name, value, CookieAttrs)] for one Set-Cookie header."""
    parts = [p.strip() for p in line.split(";")]
    if not parts or not parts[0]:
        return []
    first = parts[0]
    if "=" in first:
        name, value = first.split("=", 1)
    else:
        name, value = first, ""
    attrs = []
    for p in parts[1:]:
        if not p:
            continue
        if "=" in p:
            k, v = p.split("=", 1)
            attrs.append((k.strip(), v.strip()))
        else:
            attrs.append((p, None))
    return [(name.strip(), value.strip(), CookieAttrs(attrs))]


def format_set_cookie_header(items):
    out = []
    for name, value, attrs in items:
        parts = ["%s=%s" % (name, value)]
        for k, v in attrs.fields if hasattr(attrs, "fields") else attrs:
            parts.append(k if v is None else "%s=%s" % (k, v))
        out.append("; ".join(parts))
    return ", ".join(out)


# Multipart ---------------------------------------------------------------


def multipart_decode(content_type, content):
    """[(name, value)] as bytes from a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "", re.I)
    if not m:
        return []
    boundary = m.group(1).encode("latin-1")
    out = []
    for part in content.split(b"--" + boundary):
        part = part.lstrip(b"\r\n")
        if not part or part.startswith(b"--"):
            continue
        head, sep, body = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition"):
                n = re.search(rb'\bname="([^"]*)"', line)
                if n:
                    name = n.group(1)
        if name is not None:
            if body.endswith(b"\r\n"):
                body = body[:-2]
            out.append((name, body))
    return out


def multipart_encode(content_type, fields):
    m = re.search(r'boundary="?([^";]+)"?', content_type or "", re.I)
    if m:
        boundary = m.group(1).encode("latin-1")
    else:
        boundary = os.urandom(8).hex().encode()
    lines = []
    for name, value in fields:
        if isinstance(name, str):
            name = name.encode("utf-8", "surrogateescape")
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        lines.append(b"--" + boundary)
        disp = b'Content-Disposition: form-data; name="' + name + b'"'
        lines.append(disp)
        guess, _ = mimetypes.guess_type(name.decode("utf-8", "replace"))
        if guess:
            lines.append(b"Content-Type: " + guess.encode())
        lines.append(b"")
        lines.append(value)
    lines.append(b"--" + boundary + b"--")
    lines.append(b"")
    return boundary, b"\r\n".join(lines)
