"""mitmproxy.options: the options object scripts see is ctx.options."""
from ._mitmgo.context import Options  # noqa: F401
