"""Flow filter expressions (mitmproxy.flowfilter).

mitmgo's filter language lives on the Go side and is not wired to scripts
yet; parse() and match() raise until it is."""
from ._mitmgo import runtime


def parse(s):
    raise runtime.not_supported("mitmproxy.flowfilter", "parse")


def match(flt, flow):
    raise runtime.not_supported("mitmproxy.flowfilter", "match")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise runtime.not_supported("mitmproxy.flowfilter", name)
