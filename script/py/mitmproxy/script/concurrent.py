"""@concurrent: run a handler on its own thread so that it does not hold up
other flows."""
import functools

from .. import hooks


def concurrent(fn):
    if fn.__name__ not in set(hooks.all_hooks) - {"load", "configure"}:
        raise NotImplementedError(
            "Concurrent decorator not supported for '%s' method." % fn.__name__
        )

    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)

    # The script host sees this mark and runs the handler on a thread.
    wrapper._mitmgo_concurrent = True
    return wrapper
