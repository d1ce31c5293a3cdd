"""Content views (mitmproxy.contentviews): custom views that scripts add.

mitmgo's own views (JSON, XML, query, hex ...) are Go code; a script adds
its views here with add(), and mitmgo uses them as its own: the dumper at
flow_detail 3 and 4 picks, for each body, the view with the highest
render_priority (mitmgo's views win ties, as mitmproxy's built-ins do,
being registered first), or the view dumper_default_contentview names.

Both APIs work: mitmproxy 12's Contentview (prettify, render_priority with
a Metadata) and the older View (__call__ returning a description and lines,
render_priority with keyword arguments).
"""
import typing
from dataclasses import dataclass

from .._mitmgo import runtime
from .base import View, format_dict, format_pairs, format_text  # noqa: F401

SyntaxHighlight = str

__all__ = ["Contentview", "InteractiveContentview", "Metadata", "SyntaxHighlight", "View", "add", "remove", "get",
           "registry", "format_text", "format_dict", "format_pairs"]


class Contentview:
    """A content view: prettify() turns data into text."""

    @property
    def name(self):
        n = type(self).__name__
        return n[:-len("Contentview")] if n.endswith("Contentview") and n != "Contentview" else n

    @property
    def syntax_highlight(self):
        return "none"

    def prettify(self, data, metadata):
        raise NotImplementedError

    def render_priority(self, data, metadata):
        return 0

    def __lt__(self, other):
        return self.name.__lt__(other.name)


class InteractiveContentview(Contentview):
    """A view whose output can be edited and turned back into data."""

    def reencode(self, prettified, metadata):
        raise NotImplementedError


@dataclass
class Metadata:
    """What is known about the data besides the bytes (mitmgo fills in
    content_type)."""

    flow: typing.Any = None
    content_type: typing.Optional[str] = None
    http_message: typing.Any = None
    tcp_message: typing.Any = None
    udp_message: typing.Any = None
    websocket_message: typing.Any = None
    dns_message: typing.Any = None
    protobuf_definitions: typing.Any = None
    original_data: typing.Optional[bytes] = None


class LegacyContentview(Contentview):
    """A View of the older API, as a Contentview."""

    def __init__(self, contentview):
        self.contentview = contentview

    @property
    def name(self):
        return self.contentview.name

    @property
    def syntax_highlight(self):
        return getattr(self.contentview, "syntax_highlight", "none")

    def render_priority(self, data, metadata):
        return self.contentview.render_priority(data=data, content_type=metadata.content_type, flow=metadata.flow,
                                                http_message=metadata.http_message) or 0.0

    def prettify(self, data, metadata):
        from ..utils.strutils import always_str

        _, lines = self.contentview(data, content_type=metadata.content_type, flow=metadata.flow,
                                    http_message=metadata.http_message)
        return "\n".join("".join(always_str(text, "utf8", "backslashreplace") for _, text in line) for line in lines)


class ContentviewRegistry:
    """The views scripts added, by lower-cased name."""

    def __init__(self):
        self._views = {}

    def register(self, view):
        self._views[view.name.lower()] = view
        self._publish()

    def unregister(self, view):
        for k, v in list(self._views.items()):
            if v is view or getattr(v, "contentview", None) is view:
                del self._views[k]
        self._publish()

    def __getitem__(self, name):
        return self._views[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._views

    def __iter__(self):
        return iter(self._views.values())

    def __len__(self):
        return len(self._views)

    def available_views(self):
        return ["auto"] + sorted(self._views)

    def _publish(self):
        """Tell mitmgo which views there are."""
        h = runtime.host
        if h is None:
            return
        views = [[v.name, str(getattr(v, "syntax_highlight", "none") or "none")] for v in self._views.values()]
        try:
            h.send({"cmd": "views", "views": views})
        except OSError:
            pass


registry = ContentviewRegistry()


def add(view):
    """Add a view: a Contentview (class or instance) or an older View."""
    if isinstance(view, type):
        view = view()
    if isinstance(view, View):
        view = LegacyContentview(view)
    registry.register(view)


def remove(view):
    """Remove a view added with add() (the older API's remove)."""
    registry.unregister(view)


def get(name):
    """The view named name, or None."""
    try:
        return registry[name]
    except KeyError:
        return None


def _render(msg):
    """mitmgo asks for a view's priority or output ("cvprio" / "cvrender":
    name, data, content_type)."""
    name = msg.get("name")
    if isinstance(name, bytes):
        name = name.decode()
    view = registry[name]
    data = msg.get("data") or b""
    ct = msg.get("content_type")
    if isinstance(ct, bytes):
        ct = ct.decode("utf-8", "replace")
    md = Metadata(content_type=ct or None)
    if msg.get("cmd") == "cvprio":
        return float(view.render_priority(data, md) or 0)
    out = view.prettify(data, md)
    if isinstance(out, bytes):
        out = out.decode("utf-8", "backslashreplace")
    return out
