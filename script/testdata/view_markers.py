"""Flows made and marked through the view (as mitmproxy's all_markers and
duplicate-modify-replay examples)."""
from mitmproxy import command, ctx
from mitmproxy.utils import emoji

N = 30


@command.command("all.markers")
def all_markers():
    "Create a new flow showing all marker values"
    for marker in list(emoji.emoji)[:N]:
        ctx.master.commands.call("view.flows.create", "get", f"https://example.com/{marker}")
        ctx.master.commands.call("flow.mark", [ctx.master.view[-1]], marker)


def request(flow):
    if flow.is_replay == "request" or flow.request.path != "/dup":
        return
    flow = flow.copy()
    if "view" in ctx.master.addons:
        ctx.master.commands.call("view.flows.duplicate", [flow])
