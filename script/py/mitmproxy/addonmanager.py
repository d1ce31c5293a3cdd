"""The loader handed to load() (mitmproxy.addonmanager)."""
import contextlib
import traceback

from . import exceptions
from ._mitmgo import runtime


def _get_name(itm):
    return getattr(itm, "name", itm.__class__.__name__.lower())


def cut_traceback(tb, func_name):
    tb_orig = tb
    for _, _, fname, _ in traceback.extract_tb(tb):
        tb = tb.tb_next
        if fname == func_name:
            break
    return tb or tb_orig


@contextlib.contextmanager
def safecall():
    try:
        yield
    except (exceptions.AddonHalt, exceptions.OptionsError):
        raise
    except Exception as e:
        runtime.log("error", "Addon error: %s" % "".join(traceback.format_exception(type(e), e, e.__traceback__)),
                    False)


class Loader:
    """Passed to load(): declare options (and commands) here."""

    def __init__(self, script=None):
        self._script = script

    def add_option(self, name, typespec, default, help, choices=None):
        """Declare an option; --set NAME=VALUE sets it and ctx.options.NAME
        reads it."""
        from ._mitmgo import context

        kind, conv = context.kind_of(typespec)
        if kind is None:
            runtime.log("warn", "Option %s: mitmgo does not support the type %r yet; treating it as str"
                        % (name, typespec), False)
            kind, conv = "str", None
        from . import ctx

        ctx.options._declare(name, kind, conv, default)
        if self._script is not None:
            self._script.declared.append(
                [name, kind, context.to_wire(kind, default), help or "",
                 [str(c) for c in choices] if choices else []]
            )

    def add_command(self, path, func):
        """Add a command (as @command.command does for methods)."""
        if self._script is not None:
            self._script.added_commands.append((path, func))


def traverse(chain):
    for a in chain:
        yield a
        sub = getattr(a, "addons", None)
        if sub and not callable(sub):
            try:
                yield from traverse(sub)
            except TypeError:
                pass
