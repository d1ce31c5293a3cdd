"""Commands between scripts and mitmgo's command registry.

A script's @command.command methods (and loader.add_command functions) are
described to mitmgo when the script loads: name, parameters with
mitmproxy's type names ("flow[]", "str", "choice:flow.set.options"...),
return type and help. mitmgo registers them like its own commands and runs
one by sending "command" (name, args); the reply carries the result and the
changes the command made to the flows it was given.

ctx.master.commands.call() runs a command of a script in this host
directly (the same objects, as in mitmproxy), and any other command by
asking mitmgo ("command", or "execute" for a command line); flows cross by
id, a flow made in Python (copy(), from_state()) with its whole state.
"""
import collections.abc
import inspect
import typing

from .. import exceptions
from . import runtime, tnetstring

_NoneType = type(None)


# Describing commands ----------------------------------------------------------


def _origin(t):
    get = getattr(typing, "get_origin", None)
    return get(t) if get is not None else getattr(t, "__origin__", None)


def _args(t):
    get = getattr(typing, "get_args", None)
    return get(t) if get is not None else getattr(t, "__args__", ())


def typename(t):
    """mitmproxy's display name of a command type, as mitmgo's registry
    reads it (command.TypeByName); CommandError for one it does not know."""
    from .. import flow, types

    if t is inspect.Parameter.empty:
        raise exceptions.CommandError("missing type annotation")
    if isinstance(t, types.Choice):
        return "choice:" + t.options_command
    simple = {str: "str", int: "int", bool: "bool", bytes: "bytes", types.Path: "path", types.Cmd: "cmd",
              types.CmdArgs: "arg", types.Marker: "marker", types.Unknown: "unknown", types.CutSpec: "cut[]",
              types.Data: "data[][]"}
    try:
        if t in simple:
            return simple[t]
    except TypeError:
        pass
    if isinstance(t, type) and issubclass(t, flow.Flow):
        return "flow"
    origin = _origin(t)
    if origin in (collections.abc.Sequence, list, tuple, typing.Sequence, typing.List):
        inner = _args(t)
        if len(inner) >= 1:
            x = inner[0]
            if x is str:
                return "str[]"
            if isinstance(x, type) and issubclass(x, flow.Flow):
                return "flow[]"
            if _origin(x) in (collections.abc.Sequence, list, typing.Sequence):
                return "data[][]"
    raise exceptions.CommandError("unsupported type: %s" % getattr(t, "__name__", t))


def describe(name, fn):
    """[name, params, return type, help] for mitmgo; params are [name,
    type, variadic]. Raises CommandError, as mitmproxy's Command does, for
    a parameter or a result of a type commands do not have."""
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(inspect.unwrap(fn))
    except Exception:
        hints = {}
    params = []
    for pname, p in sig.parameters.items():
        t = hints.get(pname, p.annotation)
        try:
            tn = typename(t)
        except exceptions.CommandError:
            raise exceptions.CommandError("Argument %s has an unknown type %s in %s." % (pname, t, fn))
        d = [pname, tn, p.kind == p.VAR_POSITIONAL]
        if p.default is not p.empty and isinstance(p.default, (str, bytes, bool, int)):
            # Callers may leave it out (mitmgo's Param.Default).
            d.append(p.default)
        params.append(d)
    ret = hints.get("return", sig.return_annotation)
    rname = ""
    if ret is not inspect.Signature.empty and ret is not None and ret is not _NoneType:
        try:
            rname = typename(ret)
        except exceptions.CommandError:
            raise exceptions.CommandError("Return type has an unknown type (%s) in %s." % (ret, fn))
    help_ = fn.__doc__.strip() if fn.__doc__ else ""
    return [name, params, rname, help_]


class Entry:
    __slots__ = ("name", "fn", "script", "params", "ret")

    def __init__(self, name, fn, script, desc):
        self.name = name
        self.fn = fn
        self.script = script
        self.params = desc[1]
        self.ret = desc[2]


def collect(script, addons, extra):
    """The commands of a script: its addons' @command.command attributes
    and what load() added with loader.add_command (extra: (name, fn)).
    Returns (entries by name, descriptions for mitmgo)."""
    found = []
    for a in addons:
        for attr in dir(a):
            if attr.startswith("__"):
                continue
            try:
                o = getattr(a, attr)
            except Exception:
                continue
            name = getattr(o, "command_name", None)
            if isinstance(name, str) and callable(o):
                found.append((name, o))
    found.extend(extra)
    entries, descs = {}, []
    for name, fn in found:
        try:
            d = describe(name, fn)
        except exceptions.CommandError as e:
            runtime.log("warn", "Could not load command %s: %s" % (name, e), False)
            continue
        except (TypeError, ValueError) as e:
            runtime.log("warn", "Could not load command %s: %s" % (name, e), False)
            continue
        if name not in entries:
            descs.append(d)
        else:
            descs = [x for x in descs if x[0] != name] + [d]
        entries[name] = Entry(name, fn, script, d)
    return entries, descs


# Values crossing --------------------------------------------------------------


def flow_from_env(env, cid, finished=False):
    """A flow mitmgo sent (an argument of a command, or a result)."""
    from .. import http, tcp
    from .host import Call

    call = Call(cid, "command")
    call.fid = env.get("fid")
    call.finished = finished
    if env.get("type") == "tcp":
        f = tcp.TCPFlow.__new__(tcp.TCPFlow)
    else:
        f = http.HTTPFlow.__new__(http.HTTPFlow)
    f._init_hook(call, env)
    return f


def from_go(v, cid=0, finished=True):
    """A value from mitmgo: flow envelopes become flows."""
    if isinstance(v, dict) and "fid" in v and ("f" in v or "type" in v):
        return flow_from_env(v, cid, finished)
    if isinstance(v, list):
        return [from_go(x, cid, finished) for x in v]
    if isinstance(v, bytes):
        return v
    return v


def arg_from_go(tn, v, cid):
    if tn in ("flow", "flow[]"):
        return from_go(v, cid, False)
    if tn in ("str", "path", "cmd", "arg", "marker", "unknown") or tn.startswith("choice:"):
        return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v
    if tn in ("str[]", "cut[]") and isinstance(v, list):
        return [x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else x for x in v]
    return v


def to_go(v):
    """A Python value for mitmgo: a flow by id (with its whole state when
    it was made in Python), sequences as lists."""
    from .. import flow

    if isinstance(v, flow.Flow):
        out = {"__flow__": v.id}
        if v._fl_raw is None:
            out["state"] = tnetstring.dumps(v.get_state())
        return out
    if isinstance(v, (list, tuple)):
        return [to_go(x) for x in v]
    if v is None or isinstance(v, (str, bytes, bool, int, float)):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, dict):
        return {str(k): to_go(x) for k, x in v.items()}
    return str(v)


def _flows_in(args):
    for a in args:
        if isinstance(a, list):
            for x in a:
                if hasattr(x, "_changes") and hasattr(x, "id"):
                    yield x
        elif hasattr(a, "_changes") and hasattr(a, "id"):
            yield a


# Running a script command for mitmgo -----------------------------------------


def run(host, msg):
    """mitmgo runs a command of a script ("command": name, args)."""
    from .host import Call, format_exc

    cid = msg.get("id")
    name = msg.get("name")
    if isinstance(name, bytes):
        name = name.decode()
    e = host.commands.get(name)
    if e is None:
        host.reply(cid, err="Unknown command: %s" % name)
        return
    raw = list(msg.get("args") or ())
    args = []
    for i, (pname, tn, variadic) in enumerate(p[:3] for p in e.params):
        if variadic:
            args.extend(arg_from_go(tn, x, cid) for x in (raw[i] if i < len(raw) else ()))
            break
        if i < len(raw):
            args.append(arg_from_go(tn, raw[i], cid))
    call = Call(cid, "command")
    tok = runtime.current_call.set(call)
    import sys

    old = sys.argv
    if e.script is not None:
        sys.argv = e.script.argv
    try:
        res = e.fn(*args)
    except exceptions.CommandError as ex:
        host.reply(cid, err=str(ex) or type(ex).__name__)
        return
    except Exception as ex:
        # mitmproxy's command manager lets the exception reach the caller;
        # mitmgo's callers get an error with the traceback logged here.
        host.log("error", "Addon error: %s" % format_exc(ex), False)
        host.reply(cid, err="%s: %s" % (type(ex).__name__, ex))
        return
    finally:
        call.finished = True
        runtime.current_call.reset(tok)
        sys.argv = old
    changes = {}
    for f in _flows_in(args):
        f._call.finished = True
        try:
            ch = f._changes()
        except Exception as ex:
            host.log("error", "mitmgo script host: collecting the changes of flow %s failed: %s"
                     % (f.id, format_exc(ex)), False)
            continue
        if ch:
            changes[f.id] = ch
    try:
        out = to_go(res) if e.ret else None
        host.reply(cid, ret=out, changes=changes)
    except tnetstring.TNetStringError as ex:
        host.reply(cid, err="%s returned a value mitmgo cannot take: %s" % (name, ex))


# ctx.master.commands -----------------------------------------------------------


def _refresh(args, fields):
    """Show what a command changed in the flow-level fields (marked,
    comment ...) of the flows from mitmgo it was given, unless the script
    changed those fields itself and has not handed them back yet."""
    from .. import flow

    for f in _flows_in(args):
        raw = fields.get(f.id) if isinstance(f, flow.Flow) else None
        if raw is None or f._fl_raw is None:
            continue
        pending = {}
        if f._fl is not None:
            f._flow_changes(pending)
        if pending:
            continue
        f._fl_raw = raw
        f._fl = None


class CommandInfo:
    """What ctx.master.commands.commands holds for each command."""

    def __init__(self, name, signature, help_):
        self.name = name
        self._sig = signature
        self.help = help_ or None

    def signature_help(self):
        return self._sig

    def __repr__(self):
        return "<Command %s>" % self._sig


def _err(e):
    msg = str(e)
    if msg.startswith("mitmgo: "):
        msg = msg[len("mitmgo: "):]
    return exceptions.CommandError(msg)


class CommandManager:
    """ctx.master.commands: mitmproxy's CommandManager over mitmgo's
    registry."""

    def call(self, command_name, *args):
        """Call a command with Python values (flows, strings, ints ...)."""
        h = runtime.host
        e = h.commands.get(command_name) if h is not None else None
        if e is not None:
            from ..command import verify_arg_signature

            verify_arg_signature(e.fn, args, {})
            return e.fn(*args)
        cid = runtime.call_id()
        # The flows of the call in progress, whose flow-level fields the
        # command may change: the answer brings them back.
        own = [f.id for f in _flows_in(args)
               if getattr(f, "_fl_raw", None) is not None and f._call is not None and not f._call.finished
               and cid and f._call.id == cid]
        kw = {"refresh": own} if own else {}
        try:
            out = runtime.request("command", call=cid, name=command_name, args=[to_go(a) for a in args], **kw)
        except runtime.HostUnavailable:
            raise exceptions.CommandError("Unknown command: %s" % command_name)
        except RuntimeError as e:
            raise _err(e) from None
        if not own:
            return from_go(out)
        _refresh(args, out.get("fl") or {})
        return from_go(out.get("ret"))

    def call_strings(self, command_name, args):
        """Call a command with the text of each argument, as typed."""
        try:
            ret = runtime.request("command", call=runtime.call_id(), name=command_name,
                                  args=[str(a) for a in args], strings=True)
        except RuntimeError as e:
            raise _err(e) from None
        return from_go(ret)

    def execute(self, cmdstr):
        """Run a command line: "flow.mark @all true"."""
        try:
            ret = runtime.request("execute", call=runtime.call_id(), cmdstr=cmdstr)
        except RuntimeError as e:
            raise _err(e) from None
        return from_go(ret)

    @property
    def commands(self):
        """Every command by name (each with signature_help() and help)."""
        try:
            lst = runtime.request("cmdlist", call=runtime.call_id())
        except RuntimeError:
            lst = []
        out = {}
        for name, sig, help_ in lst or ():
            out[name] = CommandInfo(name, sig, help_)
        return out

    def __contains__(self, name):
        return name in self.commands

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("ctx.master.commands", name)
