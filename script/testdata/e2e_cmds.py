"""Commands as mitmproxy's commands-* and search examples declare them."""
import logging
from collections.abc import Sequence

from mitmproxy import command, flow, http, types
from mitmproxy.log import ALERT


class MyAddon:
    def __init__(self):
        self.num = 0

    @command.command("myaddon.inc")
    def inc(self) -> None:
        self.num += 1
        logging.info(f"num = {self.num}")

    @command.command("myaddon.histogram")
    def histogram(self, flows: Sequence[flow.Flow], path: types.Path) -> None:
        totals = {}
        for f in flows:
            if isinstance(f, http.HTTPFlow):
                totals[f.request.host] = totals.setdefault(f.request.host, 0) + 1
        with open(path, "w+") as fp:
            for cnt, dom in sorted((v, k) for (k, v) in totals.items()):
                fp.write(f"{cnt}: {dom}\n")
        logging.log(ALERT, "done")

    @command.command("search")
    def _search(self, flows: Sequence[flow.Flow], regex: str) -> None:
        """
        Defines a command named "search" that matches
        the given regular expression against most parts
        of each request/response included in the selected flows.
        """

    def running(self):
        # A command from a script's lifecycle hook, outside any flow.
        self.inc()


addons = [MyAddon()]
