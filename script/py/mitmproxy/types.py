"""Command argument types (mitmproxy.types), for type hints in scripts."""


class Choice:
    def __init__(self, options_command):
        self.options_command = options_command


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


class Data:
    pass
