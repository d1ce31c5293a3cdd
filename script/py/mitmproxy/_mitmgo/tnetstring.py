"""mitmproxy's dialect of tnetstrings, the encoding of the pipe to mitmgo.

An item is ``<length>:<payload><tag>``. Tags: ``,`` bytes, ``;`` str (UTF-8),
``#`` int, ``^`` float, ``!`` bool, ``~`` None, ``]`` list, ``}`` dict.
Dict entries are written in reverse order and reversed again when read, as
mitmgo's Go codec does, so insertion order survives a round trip.
"""

import marshal

__all__ = ["dumps", "loads", "loads_part", "parse", "TNetStringError"]

_DIGITS = b"0123456789"


class TNetStringError(ValueError):
    pass


def dumps(value):
    """Encode value as one tnetstring item."""
    return _dump(value)


def _dump(v):
    # Ordered by frequency in flow states and messages.
    t = type(v)
    if t is bytes:
        return b"%d:%s," % (len(v), v)
    if t is str:
        try:
            b = v.encode("utf-8")
        except UnicodeEncodeError:
            # Surrogate-escaped text (undecodable wire bytes): send the bytes.
            b = v.encode("utf-8", "surrogateescape")
            return b"%d:%s," % (len(b), b)
        return b"%d:%s;" % (len(b), b)
    if t is list or t is tuple:
        body = b"".join([_dump(x) for x in v])
        return b"%d:%s]" % (len(body), body)
    if t is dict:
        parts = []
        for k, x in reversed(list(v.items())):
            parts.append(_dump(k if type(k) is str or type(k) is bytes else str(k)))
            parts.append(_dump(x))
        body = b"".join(parts)
        return b"%d:%s}" % (len(body), body)
    if v is None:
        return b"0:~"
    if t is bool:
        return b"4:true!" if v else b"5:false!"
    if t is int:
        s = b"%d" % v
        return b"%d:%s#" % (len(s), s)
    if t is float:
        s = repr(v).encode()
        return b"%d:%s^" % (len(s), s)
    if isinstance(v, (bytearray, memoryview)):
        return _dump(bytes(v))
    if isinstance(v, bool):
        return _dump(bool(v))
    if isinstance(v, int):
        return _dump(int(v))
    if isinstance(v, float):
        return _dump(float(v))
    if isinstance(v, str):
        return _dump(str(v))
    if isinstance(v, dict):
        return _dump(dict(v))
    if isinstance(v, (list, tuple)):
        return _dump(list(v))
    raise TNetStringError("cannot encode a %s" % type(v).__name__)


def loads(data):
    """Decode the single item in data."""
    v, end = parse(data, 0)
    if end != len(data):
        raise TNetStringError("trailing data after the item")
    return v


def loads_part(data):
    """Decode a part of a message from mitmgo: marshal data (pywire.go in
    mitmgo: about ten times faster to decode than a tnetstring in pure
    Python), or a tnetstring, which starts with a digit; or the part
    itself, already decoded (mitmgo sends a part with large bodies in
    line, see pyInline)."""
    if type(data) is dict:
        return data
    if data[:1] in _DIGITS:
        return loads(data)
    try:
        return marshal.loads(data)
    except (ValueError, EOFError, TypeError) as e:
        raise TNetStringError("bad marshal data from mitmgo: %s" % e) from None


def dumps_reply(msg):
    """msg framed for mitmgo as a tnetstring bytes item holding
    marshal.dumps(msg, 2), which mitmgo decodes (pywire.go), in three
    pieces (a large body is not copied to join them); None when msg holds
    something marshal cannot carry (the caller sends a tnetstring)."""
    try:
        m = marshal.dumps(msg, 2)
    except ValueError:
        return None
    return (b"%d:" % len(m), m, b",")


def parse(data, pos, limit=None):
    """Decode the item at data[pos:limit] (limit: the end of data by
    default); return it and the offset after it.

    data may be a bytearray (a read buffer holding more than this message,
    the rest stale or the start of the next one): every length is checked
    against limit and the item's container, never against the buffer, and
    bytes values are copied out of it once, through a memoryview."""
    if limit is None:
        limit = len(data)
    colon, end = _span(data, pos, limit)
    start = colon + 1
    if end >= limit:
        raise TNetStringError("item runs past the end of the data")
    tag = data[end]
    try:
        if type(data) is bytearray:
            with memoryview(data) as mv:
                if tag == 125 or tag == 93:  # } ]
                    return _container(data, start, end, tag, mv), end + 1
                return _leaf(data, start, end, tag, mv), end + 1
        if tag == 125 or tag == 93:  # } ]
            return _container(data, start, end, tag, None), end + 1
        return _leaf(data, start, end, tag, None), end + 1
    except RecursionError:
        raise TNetStringError("items nested too deeply") from None


# The longest length prefix read: more digits than any message can have.
_MAX_DIGITS = 12


def _span(data, i, limit):
    """The colon of the item at data[i:limit] and the offset of its tag:
    a length of ASCII digits only (int() would take a sign, spaces and
    underscores, and a negative length would walk backwards)."""
    colon = data.find(b":", i, min(limit, i + _MAX_DIGITS + 1))
    if colon < 0:
        raise TNetStringError("no length prefix at offset %d" % i)
    n = data[i:colon]
    if not n.isdigit():
        raise TNetStringError("bad length prefix %r" % bytes(n))
    return colon, colon + 1 + int(n)


def _leaf(data, start, end, tag, mv):
    if tag == 44:  # ,
        return data[start:end] if mv is None else bytes(mv[start:end])
    if tag == 59:  # ;
        return data[start:end].decode("utf-8")
    if tag == 35:  # #
        return int(data[start:end])
    if tag == 126:  # ~
        if end != start:
            raise TNetStringError("null with a payload")
        return None
    if tag == 33:  # !
        p = data[start:end]
        if p == b"true":
            return True
        if p == b"false":
            return False
        raise TNetStringError("invalid bool %r" % p)
    if tag == 94:  # ^
        return float(data[start:end])
    raise TNetStringError("unknown tag %r" % chr(tag))


def _container(data, i, end, tag, mv):
    # Leaves are decoded in line: a flow state is mostly leaves, and a call
    # per item is most of the cost.
    out = []
    append = out.append
    while i < end:
        colon, e = _span(data, i, end)
        s = colon + 1
        if e >= end:
            raise TNetStringError("item overruns its list or dict")
        t = data[e]
        if t == 44:
            append(data[s:e] if mv is None else bytes(mv[s:e]))
        elif t == 59:
            append(data[s:e].decode("utf-8"))
        elif t == 125 or t == 93:
            append(_container(data, s, e, t, mv))
        else:
            append(_leaf(data, s, e, t, mv))
        i = e + 1
    if i != end:
        raise TNetStringError("item overruns its list or dict")
    if tag == 93:
        return out
    n = len(out)
    if n % 2:
        raise TNetStringError("dict with an odd number of items")
    # Keys and values alternate; entries are stored in reverse.
    d = {}
    for j in range(n - 2, -1, -2):
        k = out[j]
        if type(k) is bytes:
            k = k.decode("utf-8", "surrogateescape")
        d[k] = out[j + 1]
    return d
