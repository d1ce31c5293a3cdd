"""The context of scripts: ctx.master, ctx.options and ctx.log."""
from ._mitmgo import context as _context
from . import log as _log

options = _context.Options()
log = _log.Log()
master = _context.Master(options, log)
