"""The objects behind mitmproxy.ctx: options, master and log."""
import collections.abc
import typing

from .. import exceptions
from . import runtime

_NoneType = type(None)


def kind_of(typespec):
    """Map a mitmproxy option typespec to (mitmgo option kind, converter).

    mitmgo's kinds: bool, int, str, optional str, optional int, strings.
    Types mitmgo lacks (float, optional bool ...) travel as str and are
    converted here."""
    if typespec is bool:
        return "bool", _to_bool
    if typespec is int:
        return "int", int
    if typespec is str:
        return "str", str
    if typespec is float:
        return "str", float
    origin = getattr(typing, "get_origin", lambda t: getattr(t, "__origin__", None))(typespec)
    args = getattr(typespec, "__args__", ()) or ()
    if origin is typing.Union and _NoneType in args:
        inner = [a for a in args if a is not _NoneType]
        if len(inner) == 1:
            if inner[0] is str:
                return "optional str", _opt(str)
            if inner[0] is int:
                return "optional int", _opt(int)
            if inner[0] is float:
                return "optional str", _opt(float)
            if inner[0] is bool:
                return "optional str", _opt(_to_bool)
            k, conv = kind_of(inner[0])
            if k == "strings":
                return "strings", conv
    if origin in (list, tuple, collections.abc.Sequence, typing.Sequence, typing.List):
        return "strings", list
    if typespec in (list, tuple, collections.abc.Sequence):
        return "strings", list
    return None, None


def _to_bool(v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "yes", "on", "1", ""):
        return True
    if s in ("false", "no", "off", "0"):
        return False
    raise ValueError("%r is not a boolean" % (v,))


def _opt(conv):
    def c(v):
        if v is None or v == "":
            return None
        return conv(v)

    return c


def to_wire(kind, value):
    """A Python option value as mitmgo expects it for kind."""
    if value is None:
        return None
    if kind == "strings":
        return [str(x) for x in value]
    if kind in ("str", "optional str") and not isinstance(value, str):
        return repr(value) if isinstance(value, float) else str(value)
    return value


class Options:
    """ctx.options: every mitmgo option by name. Reading is local; setting
    asks mitmgo to update the option (configure runs afterwards)."""

    def __init__(self):
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_conv", {})
        object.__setattr__(self, "_kinds", {})

    def _declare(self, name, kind, conv, default):
        self._conv[name] = conv
        self._kinds[name] = kind
        if name not in self._values:
            self._values[name] = default

    def _set_from_go(self, values):
        """Values from mitmgo (configure); raises OptionsError if a value
        does not fit a script-declared type."""
        for name, v in values.items():
            conv = self._conv.get(name)
            if conv is not None and v is not None:
                try:
                    v = conv(v)
                except (TypeError, ValueError) as e:
                    raise exceptions.OptionsError("Option %s: %s" % (name, e))
            self._values[name] = v

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError("No such option: %s" % name)

    def __setattr__(self, name, value):
        self.update(**{name: value})

    def __contains__(self, name):
        return name in self._values

    def __iter__(self):
        return iter(sorted(self._values))

    def keys(self):
        return set(self._values)

    def items(self):
        return sorted(self._values.items())

    def update(self, **kwargs):
        for name in kwargs:
            if name not in self._values:
                raise KeyError("No such option: %s" % name)
        wire = {}
        for name, v in kwargs.items():
            self._values[name] = v
            wire[name] = to_wire(self._kinds.get(name), v)
        if runtime.host is not None:
            runtime.host.send({"cmd": "set_options", "options": wire})

    def update_defer(self, **kwargs):
        self.update(**kwargs)

    def set(self, *specs):
        upd = {}
        for s in specs:
            name, _, value = s.partition("=")
            upd[name] = value
        self.update(**upd)

    def setter(self, name):
        if name not in self._values:
            raise KeyError("No such option: %s" % name)

        def setter(x):
            self.update(**{name: x})

        return setter

    def toggler(self, name):
        if name not in self._values:
            raise KeyError("No such option: %s" % name)

        def toggle():
            self.update(**{name: not self._values[name]})

        return toggle

    def __repr__(self):
        return "Options(%s)" % ", ".join("%s=%r" % kv for kv in self.items())


class BuiltinAddon:
    """A built-in addon of mitmgo as scripts see it: the attributes of
    mitmproxy's addon of that name that mitmgo has (proxyserver: servers,
    each with mode.full_spec and listen_addrs)."""

    def __init__(self, name, attrs):
        self.name = name
        for k, v in attrs.items():
            setattr(self, k, _attrs(v))

    def __repr__(self):
        return "<mitmgo addon %s>" % self.name


class _Attrs:
    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, _attrs(v))

    def __repr__(self):
        return "<%s>" % ", ".join("%s=%r" % kv for kv in sorted(vars(self).items()))


def _attrs(v):
    if isinstance(v, dict):
        return _Attrs(v)
    if isinstance(v, list):
        if len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int):
            return tuple(v)  # an address
        return [_attrs(x) for x in v]
    return v


class _Addons:
    def get(self, name):
        """A script's addon, or a built-in's description; None when there
        is no addon of that name."""
        h = runtime.host
        if h is None:
            return None
        a = h.addon_by_name(name)
        if a is not None:
            return a
        try:
            d = runtime.request("addon", call=runtime.call_id(), name=name)
        except RuntimeError:
            return None
        if not isinstance(d, dict):
            return None
        d.pop("name", None)
        return BuiltinAddon(name, d)

    def __contains__(self, item):
        return self.get(getattr(item, "name", item)) is not None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("ctx.master.addons", name)


class Master:
    """ctx.master: the controls of the running mitmgo."""

    def __init__(self, options, log):
        from .commands import CommandManager

        self.options = options
        self.log = log
        self.addons = _Addons()
        self.commands = CommandManager()

    def shutdown(self):
        """Stop mitmgo (thread-safe)."""
        if runtime.host is not None:
            runtime.host.send({"cmd": "shutdown"})

    @property
    def view(self):
        """The flows of mitmweb and the console (mitmdump has no view):
        len(), [i] (negative from the end) and iteration."""
        if self.addons.get("view") is None:
            raise AttributeError("ctx.master.view: there is no view in this tool (mitmweb and the console have one)")
        return _View()

    @property
    def event_loop(self):
        h = runtime.host
        return h.loop if h else None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("ctx.master", name)


class _View:
    """ctx.master.view: the shown flows, in order."""

    def __len__(self):
        return runtime.request("viewlen", call=runtime.call_id())

    def __getitem__(self, i):
        from .commands import from_go

        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        try:
            return from_go(runtime.request("viewat", call=runtime.call_id(), index=i))
        except RuntimeError as e:
            raise IndexError(str(e)) from None

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
