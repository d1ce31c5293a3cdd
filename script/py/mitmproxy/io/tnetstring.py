"""tnetstrings as mitmproxy's flow files hold them
(mitmproxy.io.tnetstring): dumps/loads for bytes, dump/load for files."""
from .._mitmgo.tnetstring import TNetStringError, dumps, loads  # noqa: F401


def dump(value, file_handle):
    """Write value to a binary file object."""
    file_handle.write(dumps(value))


def load(file_handle):
    """Read one value from a binary file object; ValueError at the end of
    the file ("not a tnetstring: empty file", as mitmproxy says)."""
    from . import _read_raw

    raw = _read_raw(file_handle)
    if not raw:
        raise ValueError("not a tnetstring: empty file")
    return loads(raw)


__all__ = ["dump", "dumps", "load", "loads"]
