"""mitmproxy's dialect of tnetstrings, the encoding of the pipe to mitmgo.

An item is ``<length>:<payload><tag>``. Tags: ``,`` bytes, ``;`` str (UTF-8),
``#`` int, ``^`` float, ``!`` bool, ``~`` None, ``]`` list, ``}`` dict.
Dict entries are written in reverse order and reversed again when read, as
mitmgo's Go codec does, so insertion order survives a round trip.
"""

__all__ = ["dumps", "loads", "parse", "TNetStringError"]


class TNetStringError(ValueError):
    pass


def dumps(value):
    """Encode value as one tnetstring item."""
    out = []
    _dump(value, out.append)
    return b"".join(out)


def _dump(v, emit):
    # Ordered by frequency in flow states.
    t = type(v)
    if t is bytes:
        emit(b"%d:" % len(v))
        emit(v)
        emit(b",")
    elif t is str:
        try:
            b = v.encode("utf-8")
        except UnicodeEncodeError:
            # Surrogate-escaped text (undecodable wire bytes): send the bytes.
            b = v.encode("utf-8", "surrogateescape")
            emit(b"%d:" % len(b))
            emit(b)
            emit(b",")
            return
        emit(b"%d:" % len(b))
        emit(b)
        emit(b";")
    elif v is None:
        emit(b"0:~")
    elif t is bool:
        emit(b"4:true!" if v else b"5:false!")
    elif t is int:
        s = b"%d" % v
        emit(b"%d:%s#" % (len(s), s))
    elif t is float:
        s = repr(v).encode()
        emit(b"%d:%s^" % (len(s), s))
    elif t is dict or isinstance(v, dict):
        parts = []
        add = parts.append
        for k, x in reversed(list(v.items())):
            _dump(k if isinstance(k, (str, bytes)) else str(k), add)
            _dump(x, add)
        body = b"".join(parts)
        emit(b"%d:" % len(body))
        emit(body)
        emit(b"}")
    elif t is list or t is tuple or isinstance(v, (list, tuple)):
        parts = []
        add = parts.append
        for x in v:
            _dump(x, add)
        body = b"".join(parts)
        emit(b"%d:" % len(body))
        emit(body)
        emit(b"]")
    elif isinstance(v, (bytearray, memoryview)):
        _dump(bytes(v), emit)
    elif isinstance(v, bool):
        _dump(bool(v), emit)
    elif isinstance(v, int):
        _dump(int(v), emit)
    elif isinstance(v, float):
        _dump(float(v), emit)
    elif isinstance(v, str):
        _dump(str(v), emit)
    else:
        raise TNetStringError("cannot encode a %s" % type(v).__name__)


def loads(data):
    """Decode the single item in data."""
    v, end = parse(data, 0)
    if end != len(data):
        raise TNetStringError("trailing data after the item")
    return v


def parse(data, pos):
    """Decode the item at data[pos:]; return it and the offset after it."""
    colon = data.index(b":", pos)
    n = int(data[pos:colon])
    start = colon + 1
    end = start + n
    if end >= len(data):
        raise TNetStringError("item runs past the end of the data")
    tag = data[end]
    if tag == 44:  # ,
        return data[start:end], end + 1
    if tag == 59:  # ;
        return data[start:end].decode("utf-8"), end + 1
    if tag == 125:  # }
        pairs = []
        i = start
        while i < end:
            k, i = parse(data, i)
            if type(k) is bytes:
                k = k.decode("utf-8", "surrogateescape")
            v, i = parse(data, i)
            pairs.append((k, v))
        if i != end:
            raise TNetStringError("dict item overruns its length")
        pairs.reverse()
        return dict(pairs), end + 1
    if tag == 93:  # ]
        out = []
        i = start
        while i < end:
            v, i = parse(data, i)
            out.append(v)
        if i != end:
            raise TNetStringError("list item overruns its length")
        return out, end + 1
    if tag == 35:  # #
        return int(data[start:end]), end + 1
    if tag == 126:  # ~
        if n:
            raise TNetStringError("null with a payload")
        return None, end + 1
    if tag == 33:  # !
        p = data[start:end]
        if p == b"true":
            return True, end + 1
        if p == b"false":
            return False, end + 1
        raise TNetStringError("invalid bool %r" % p)
    if tag == 94:  # ^
        return float(data[start:end]), end + 1
    raise TNetStringError("unknown tag %r" % chr(tag))
