"""Command argument types (mitmproxy.types), for the annotations of
commands: mitmgo's registry knows them by mitmproxy's display names."""
import typing


class Choice:
    """A string that must be one of what the command options_command
    returns."""

    def __init__(self, options_command):
        self.options_command = options_command

    def __instancecheck__(self, instance):
        return isinstance(instance, str)


class Path(str):
    pass


class Cmd(str):
    pass


class CmdArgs(str):
    pass


class Marker(str):
    pass


class Unknown(str):
    pass


class Space(str):
    pass


class CutSpec(typing.Sequence[str]):
    pass


Data = typing.Sequence[typing.Sequence[typing.Union[str, bytes]]]
