# A response hook decodes its own flow with a command, as a script may.
from mitmproxy import ctx


def response(flow):
    ctx.master.commands.call("flow.decode", [flow], "response")
