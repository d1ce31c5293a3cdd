"""mitmgo's implementation of mitmproxy's scripting API.

mitmgo (mitmproxy rebuilt in Go) runs scripts in a Python child process and
provides this package to them; it follows mitmproxy's API over mitmproxy's
flow state. What is not supported yet raises an AttributeError saying so.
"""


# Parts of mitmproxy's API that scripts import with "from mitmproxy import
# X" and mitmgo does not have yet: say so, instead of Python's bare
# "cannot import name". A module of that name that exists (added since) is
# imported as usual.
_NOT_YET = frozenset(("master", "optmanager", "certs", "dns", "udp", "tools", "addons"))


def __getattr__(name):
    if name in _NOT_YET:
        import importlib

        try:
            return importlib.import_module("mitmproxy." + name)
        except ModuleNotFoundError as e:
            if e.name != "mitmproxy." + name:
                raise
        raise ImportError("mitmproxy.%s is not supported yet by mitmgo" % name, name="mitmproxy." + name)
    raise AttributeError("module 'mitmproxy' has no attribute %r" % name)
