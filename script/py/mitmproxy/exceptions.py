"""mitmproxy's exception types."""


class MitmproxyException(Exception):
    """Base class for all of mitmproxy's exceptions."""

    def __init__(self, message=None):
        super().__init__(message)


class FlowReadException(MitmproxyException):
    pass


class ControlException(MitmproxyException):
    pass


class CommandError(Exception):
    pass


class OptionsError(MitmproxyException):
    """Raise in configure() to reject option values."""


class AddonManagerError(MitmproxyException):
    pass


class AddonHalt(MitmproxyException):
    """Raise in a handler to stop the event from reaching later addons."""


class TypeError(MitmproxyException):  # noqa: A001 - mitmproxy's name
    pass


class NetlibException(MitmproxyException):
    pass


class ScriptException(MitmproxyException):
    pass


class AddonError(MitmproxyException):
    pass


class ReplayException(MitmproxyException):
    pass


class HttpException(NetlibException):
    pass


class TlsException(NetlibException):
    pass
