"""Flow filter expressions (mitmproxy.flowfilter): "~d example.com & ~m POST".

mitmgo compiles and matches filters on the Go side, with the same language
as mitmdump's filters; parse() and match() ask it. Inside a hook, a flow
no handler has changed yet is matched as mitmgo holds it; otherwise its
current state is sent along.
"""
from ._mitmgo import runtime


class TFilter:
    """A compiled filter; call it with a flow to match."""

    def __init__(self, pattern, description):
        self.pattern = pattern
        self._description = description

    def __call__(self, flow):
        return match(self, flow)

    def __str__(self):
        return self._description

    def __repr__(self):
        return "<TFilter %r>" % self.pattern


def _ask(**kw):
    try:
        return runtime.request("filter", **kw)
    except runtime.HostUnavailable:
        raise runtime.not_supported("mitmproxy.flowfilter", "parse outside mitmgo")
    except RuntimeError as e:
        msg = str(e)
        if msg.startswith("mitmgo: "):
            msg = msg[len("mitmgo: "):]
        raise ValueError(msg) from None


def parse(s):
    """Compile a filter expression; ValueError if it is invalid."""
    if not isinstance(s, str):
        raise TypeError("a filter expression must be a str, not %s" % type(s).__name__)
    return TFilter(s, _ask(expr=s, parse=True))


def match(flt, flow):
    """Whether flow matches flt (a TFilter, an expression, or None: all)."""
    if flt is None:
        return True
    pattern = flt if isinstance(flt, str) else flt.pattern
    call = getattr(flow, "_call", None)
    if call is not None and not call.finished and not flow._changes():
        if call.fid is not None:
            return bool(_ask(expr=pattern, call=call.id, fid=call.fid))
        return bool(_ask(expr=pattern, call=call.id))
    return bool(_ask(expr=pattern, state=flow._full_state()))


# mitmproxy's names for the match-everything and match-nothing filters.
def match_all(flow):
    return True


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise runtime.not_supported("mitmproxy.flowfilter", name)
