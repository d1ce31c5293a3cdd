"""The older content view API (mitmproxy.contentviews.base): a View returns
a description and lines of (style, text) pieces."""
import typing

TTextType = typing.Union[str, bytes]
TViewLine = typing.List[typing.Tuple[str, TTextType]]
TViewResult = typing.Tuple[str, typing.Iterator[TViewLine]]

KEY_MAX = 30


class View:
    name = None
    syntax_highlight = "none"

    def __call__(self, data, *, content_type=None, flow=None, http_message=None, **unknown_metadata):
        raise NotImplementedError()

    def render_priority(self, data, *, content_type=None, flow=None, http_message=None, **unknown_metadata):
        return 0

    def __lt__(self, other):
        return self.name.__lt__(other.name)


def format_pairs(items):
    """Key/value lines, the keys padded to a common width."""
    items = list(items)
    width = min(max((len(k) for k, _ in items), default=0) + 1, KEY_MAX)
    for k, v in items:
        from ..utils.strutils import always_str

        k = always_str(k, "utf8", "backslashreplace") if isinstance(k, bytes) else k
        yield [("header", (k + ":").ljust(width)), ("text", v)]


def format_dict(d):
    return format_pairs(d.items())


def format_text(text):
    """Lines of plain text."""
    for line in text.splitlines():
        yield [("text", line)]
