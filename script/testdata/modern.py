"""Today's addon style: addons list, options, configure, running, done,
logging, async handlers, named classes."""
import asyncio
import logging
import typing

from mitmproxy import ctx, exceptions, http

log = logging.getLogger(__name__)


class Tagger:
    name = "tagger-addon"

    def __init__(self):
        self.configured = 0

    def load(self, loader):
        loader.add_option("tag_value", str, "default-tag", "The value of the x-tag header.")
        loader.add_option("tag_count", int, 1, "How many x-tag headers to add (0 to 5).")
        loader.add_option("tag_enabled", bool, True, "Add the x-tag header.")
        loader.add_option("tag_list", typing.Sequence[str], [], "Extra tags.")
        loader.add_option("tag_opt", typing.Optional[str], None, "An optional tag.")

    def configure(self, updated):
        self.configured += 1
        if "tag_count" in updated and not 0 <= ctx.options.tag_count <= 5:
            raise exceptions.OptionsError("tag_count must be between 0 and 5")
        if "tag_value" in updated:
            log.info("tag_value is now %s", ctx.options.tag_value)

    def running(self):
        logging.warning("tagger running")

    def request(self, flow: http.HTTPFlow) -> None:
        if ctx.options.tag_enabled:
            for i in range(ctx.options.tag_count):
                flow.request.headers.add("x-tag", ctx.options.tag_value)
            for t in ctx.options.tag_list:
                flow.request.headers.add("x-list", t)
            if ctx.options.tag_opt is not None:
                flow.request.headers["x-opt"] = ctx.options.tag_opt

    def done(self):
        logging.info("tagger done")


class Answer:
    async def request(self, flow):
        await asyncio.sleep(0.01)
        if flow.request.path == "/answer":
            flow.response = http.Response.make(
                201, b"answered by the script", {"Content-Type": "text/plain"}
            )


addons = [Tagger(), Answer()]
