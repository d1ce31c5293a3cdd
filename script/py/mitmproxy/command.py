"""Typed commands (mitmproxy.command).

@command.command("name") makes a method of a script (or of an addon it
lists) a command in mitmgo's registry, with the types its annotations
give: callable by name from Go, from other scripts
(ctx.master.commands.call) and listed by --commands.
"""
import functools
import inspect

from . import exceptions


def verify_arg_signature(f, args, kwargs):
    """CommandError if f cannot be called with args and kwargs."""
    sig = inspect.signature(f)
    try:
        sig.bind(*args, **kwargs)
    except TypeError as v:
        raise exceptions.CommandError("command argument mismatch: %s" % v.args[0])


def typename(t):
    """The display name of a command type ("flow[]", "str" ...)."""
    from ._mitmgo import commands

    name = commands.typename(t)
    return "choice" if name.startswith("choice:") else name


def command(name=None):
    """Make a function or method a command named name (by default its name
    with dots for underscores)."""

    def decorator(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            verify_arg_signature(function, args, kwargs)
            return function(*args, **kwargs)

        wrapper.__dict__["command_name"] = name or function.__name__.replace("_", ".")
        return wrapper

    return decorator


def argument(name, type):
    """Set the type of one argument of a command (for types that Python's
    annotations cannot express, as types.Choice)."""

    def decorator(f):
        assert name in f.__annotations__
        f.__annotations__[name] = type
        return f

    return decorator
