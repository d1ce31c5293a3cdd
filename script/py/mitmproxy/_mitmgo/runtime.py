"""The link between the public API objects and the script host.

The host installs itself here when it starts. Without a host (unit tests,
or mitmproxy's modules imported outside mitmgo) log lines go to stderr and
requests to the Go side fail with a clear error.
"""
import sys
import threading

# The running Host, or None.
host = None

# Thread-local state: the hook call being served on this thread (for
# on-demand bodies) and the script whose handler runs.
local = threading.local()


class HostUnavailable(RuntimeError):
    pass


def request(op, **kw):
    """Ask the Go side for something and wait for the answer."""
    h = host
    if h is None:
        raise HostUnavailable("mitmgo: %s needs the mitmgo script host" % op)
    return h.request(op, **kw)


def log(level, msg, from_script=True):
    h = host
    if h is None:
        sys.stderr.write("%s: %s\n" % (level, msg))
        return
    h.log(level, msg, from_script)


def not_supported(owner, name):
    """The AttributeError for mitmproxy API that mitmgo lacks."""
    return AttributeError(
        "%s.%s is not supported yet by mitmgo" % (owner, name)
    )


class _Lazy:
    """Marks a body that stayed on the Go side until first use."""

    __slots__ = ()

    def __repr__(self):
        return "<body on demand>"


LAZY = _Lazy()
