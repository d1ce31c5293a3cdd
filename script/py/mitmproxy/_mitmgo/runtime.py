"""The link between the public API objects and the script host.

The host installs itself here when it starts. Without a host (unit tests,
or mitmproxy's modules imported outside mitmgo) log lines go to stderr and
requests to the Go side fail with a clear error.
"""
import contextvars
import sys
import threading

# The running Host, or None.
host = None

# Thread-local state: the hook call being served on this thread (for
# on-demand bodies) and the script whose handler runs.
local = threading.local()


# The mitmgo call (a hook, or a command mitmgo runs in a script) whose
# handler runs in this context: requests made from it (a command a handler
# calls) are answered by the goroutine that waits for that call, so that
# a command acting on the call's flow runs where the flow is.
current_call = contextvars.ContextVar("mitmgo_current_call", default=None)


def call_id():
    """The id of the call in progress in this context, or 0."""
    c = current_call.get()
    if c is None or c.finished:
        return 0
    return c.id


class HostUnavailable(RuntimeError):
    pass


def request(op, **kw):
    """Ask the Go side for something and wait for the answer."""
    h = host
    if h is None:
        raise HostUnavailable("mitmgo: %s needs the mitmgo script host" % op)
    return h.request(op, **kw)


def log(level, msg, from_script=True):
    h = host
    if h is None:
        sys.stderr.write("%s: %s\n" % (level, msg))
        return
    h.log(level, msg, from_script)


def not_supported(owner, name):
    """The AttributeError for mitmproxy API that mitmgo lacks."""
    return AttributeError(
        "%s.%s is not supported yet by mitmgo" % (owner, name)
    )


class _Lazy:
    """Marks a body that stayed on the Go side until first use."""

    __slots__ = ()

    def __repr__(self):
        return "<body on demand>"


LAZY = _Lazy()


class FlowStore:
    """What the host keeps of flows between their hook calls: stream
    callables by (flow id, "rq" or "rs"), and the WebSocketData of a flow
    by its id. mitmgo says when a flow is over ("forget"); the oldest
    entries go first past MAX, as a safeguard."""

    MAX = 10000

    def __init__(self):
        import collections

        self.streams = collections.OrderedDict()
        self.ws = collections.OrderedDict()

    def kept(self):
        """How many flows something is kept for (tests watch it return to
        0 once the flows are over)."""
        return len(set(self.ws) | {k[0] for k in self.streams})

    def set_stream(self, key, fn):
        self.streams[key] = fn
        self.streams.move_to_end(key)
        while len(self.streams) > self.MAX:
            self.streams.popitem(last=False)

    def set_ws(self, fid, entry):
        self.ws[fid] = entry
        self.ws.move_to_end(fid)
        while len(self.ws) > self.MAX:
            self.ws.popitem(last=False)

    def forget(self, fid, end=None):
        """Drop what is kept of flow fid; end, for a WebSocket flow, is how
        its connection ended (a state dict's close fields), for the flow
        objects scripts still hold."""
        # Most flows had neither (every HTTP flow passes here).
        if self.streams:
            self.streams.pop((fid, "rq"), None)
            self.streams.pop((fid, "rs"), None)
        w = self.ws.pop(fid, None) if self.ws else None
        if w is not None and end:
            cr = end.get("close_reason")
            w.closed_by_client = end.get("closed_by_client")
            w.close_code = end.get("close_code")
            w.close_reason = cr.decode("utf-8", "replace") if isinstance(cr, bytes) else cr
            w.timestamp_end = end.get("timestamp_end") or w.timestamp_end


store = FlowStore()
