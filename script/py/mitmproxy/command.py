"""Command decorators (mitmproxy.command). mitmgo has no command system
for scripts yet: decorated methods stay plain methods."""


def command(name=None):
    def decorator(fn):
        fn.command_name = name or fn.__name__.replace("_", ".")
        return fn

    return decorator


def argument(name, type):
    def decorator(f):
        return f

    return decorator
