"""Logging for scripts: ctx.log (every era) and Python's logging module,
both routed into mitmgo's log at the matching level."""
import logging

from ._mitmgo import runtime

ALERT = logging.INFO + 1
logging.addLevelName(ALERT, "ALERT")

LogLevels = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "alert": ALERT,
             "debug": logging.DEBUG}
LogTierOrder = ["error", "warn", "info", "alert", "debug"]


def log_tier(level):
    return dict(error=0, warn=1, info=2, alert=2, debug=3).get(level)


class LogEntry:
    def __init__(self, msg, level):
        self.msg = str(msg)
        self.level = level

    def __eq__(self, other):
        return isinstance(other, LogEntry) and self.__dict__ == other.__dict__

    def __repr__(self):
        return "LogEntry(%s, %s)" % (self.msg, self.level)


class Log:
    """ctx.log: ctx.log.info(text) and friends, or ctx.log(text, level)."""

    def debug(self, txt):
        self(txt, "debug")

    def info(self, txt):
        self(txt, "info")

    def alert(self, txt):
        self(txt, "alert")

    def warn(self, txt):
        self(txt, "warn")

    warning = warn

    def error(self, txt):
        self(txt, "error")

    def __call__(self, text, level="info"):
        if level == "warning":
            level = "warn"
        if level not in LogLevels:
            level = "info"
        runtime.log(level, str(text), True)


def level_name(levelno):
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno == ALERT:
        return "alert"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class MitmgoLogHandler(logging.Handler):
    """Sends records of Python's logging module to mitmgo's log."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        try:
            runtime.log(level_name(record.levelno), self.format(record), True)
        except Exception:
            self.handleError(record)


def install():
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, MitmgoLogHandler):
            return
    root.addHandler(MitmgoLogHandler())
    root.setLevel(logging.DEBUG)
    # Our own loggers and asyncio's debug chatter stay quiet.
    logging.getLogger("asyncio").setLevel(logging.WARNING)
