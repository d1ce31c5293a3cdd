"""Flow files (mitmproxy.io): FlowReader and FlowWriter.

FlowWriter writes what mitmgo's -w writes: each flow's state dict (version
21) as a tnetstring. FlowReader reads what mitmgo's -r reads: flow files of
any version mitmproxy wrote, and HAR files; each flow goes through mitmgo's
reader (its migrations from older versions, and the HAR import), so that a
script sees the same flows mitmgo does. Outside mitmgo's script host only
version-21 files can be read.
"""
import json
import os

from .. import exceptions, flow, flowfilter
from .._mitmgo import runtime
from .._mitmgo import tnetstring as _tns

__all__ = ["FlowReader", "FlowWriter", "FilteredFlowWriter", "read_flows_from_paths"]

_STATE_VERSION = 21


class FlowWriter:
    """Writes flows to a binary file object, as mitmgo's -w does."""

    def __init__(self, fo):
        self.fo = fo

    def add(self, f):
        self.fo.write(_tns.dumps(f.get_state()))


class FilteredFlowWriter:
    """A FlowWriter that writes only the flows flt matches (and flushes
    after each)."""

    def __init__(self, fo, flt):
        self.fo = fo
        self.flt = flt

    def add(self, f):
        if self.flt and not flowfilter.match(self.flt, f):
            return
        self.fo.write(_tns.dumps(f.get_state()))
        self.fo.flush()


def _read_raw(fo):
    """The bytes of the next tnetstring in fo; b"" at the end."""
    digits = b""
    while True:
        c = fo.read(1)
        if not c:
            if digits:
                raise ValueError("not a tnetstring: truncated length")
            return b""
        if c == b":":
            break
        if not c.isdigit() or len(digits) > 12:
            raise ValueError("not a tnetstring: invalid length prefix")
        digits += c
    n = int(digits)
    rest = fo.read(n + 1)
    if len(rest) != n + 1:
        raise ValueError("not a tnetstring: truncated")
    return digits + b":" + rest


def _peek(fo, n):
    try:
        return fo.peek(n)[:n]
    except AttributeError:
        pos = fo.tell()
        data = fo.read(n)
        fo.seek(pos)
        return data


def _go_read(data, har=False):
    try:
        return runtime.request("readflows", data=data, har=har)
    except runtime.HostUnavailable:
        raise exceptions.FlowReadException(
            "mitmgo: reading this file (an older flow format or HAR) needs the mitmgo script host")
    except RuntimeError as e:
        msg = str(e)
        if msg.startswith("mitmgo: "):
            msg = msg[len("mitmgo: "):]
        raise exceptions.FlowReadException(msg) from None


class FlowReader:
    """Reads flows from a binary file object."""

    def __init__(self, fo):
        self.fo = fo

    def peek(self, n):
        return _peek(self.fo, n)

    def stream(self):
        """Yields the flows of the file."""
        head = self.peek(4)
        if head.startswith(b"\xef\xbb\xbf{"):
            self.fo.read(3)
            head = head[3:]
        if head.startswith(b"{"):
            data = self.fo.read()
            try:
                json.loads(data.decode("utf-8"))
            except Exception:
                raise exceptions.FlowReadException("Unable to read HAR file. Please provide a valid HAR file")
            for st in _go_read(data, har=True) or ():
                yield flow.Flow.from_state(st)
            return
        while True:
            try:
                raw = _read_raw(self.fo)
            except ValueError as e:
                raise exceptions.FlowReadException("Invalid data format.") from e
            if not raw:
                return
            try:
                st = _tns.loads(raw)
            except Exception as e:
                raise exceptions.FlowReadException("Invalid data format.") from e
            if not isinstance(st, dict):
                raise exceptions.FlowReadException("Invalid flow: loaded=%r" % (st,))
            if runtime.host is not None or st.get("version") != _STATE_VERSION:
                got = _go_read(raw)
                st = got[0] if got else None
                if st is None:
                    continue
            try:
                yield flow.Flow.from_state(st)
            except (ValueError, KeyError, TypeError) as e:
                raise exceptions.FlowReadException(str(e)) from e


def read_flows_from_paths(paths):
    """Every flow of the files at paths; FlowReadException on any error."""
    flows = []
    try:
        for path in paths:
            with open(os.path.expanduser(path), "rb") as f:
                flows.extend(FlowReader(f).stream())
    except OSError as e:
        raise exceptions.FlowReadException(e.strerror)
    return flows
