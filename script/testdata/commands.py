"""Commands both ways (commands_test.go)."""
import logging
import threading
from collections.abc import Sequence
from typing import Optional

from mitmproxy import command, ctx, flow, http, types


class Cmds:
    def __init__(self):
        self.num = 0
        self.kept = None

    @command.command("myaddon.inc")
    def inc(self) -> None:
        self.num += 1
        logging.info(f"num = {self.num}")

    @command.command("myaddon.addheader")
    def addheader(self, flows: Sequence[flow.Flow]) -> None:
        for f in flows:
            if isinstance(f, http.HTTPFlow):
                f.request.headers["myheader"] = "value"
                f.marked = ":star:"

    @command.command("myaddon.sig")
    def sig(self, f: flow.Flow, path: types.Path, n: int, b: bool,
            c: types.Choice("myaddon.choices"), *rest: str) -> str:
        """Echo the arguments."""
        return "%s %s %d %s %s %s" % (f.request.path, path, n, b, c, ",".join(rest))

    @command.command("myaddon.choices")
    def choices(self) -> Sequence[str]:
        return ["a", "b"]

    @command.command("myaddon.double")
    def double(self, n: int = 5) -> int:
        return 2 * n

    @command.command("myaddon.body")
    def body(self, f: flow.Flow) -> int:
        return len(f.request.content or b"")

    @command.command("myaddon.match")
    def match(self, flows: Sequence[flow.Flow]) -> Sequence[flow.Flow]:
        from mitmproxy import flowfilter

        flt = flowfilter.parse("~m POST")
        return [f for f in flows if flt(f)]

    @command.command("myaddon.bad")
    def bad(self, x: dict) -> None:
        pass

    @command.command("myaddon.fail")
    def fail(self) -> None:
        raise ValueError("boom")

    def request(self, f):
        if f.request.path == "/reenter":
            # A Go command that calls back into this script.
            f.request.headers["x-reenter"] = str(ctx.master.commands.call("test.viago", 21))
        elif f.request.path == "/copy":
            c = f.copy()
            c.request.path = "/changed"
            ctx.master.commands.call("test.take", [c])
        elif f.request.path == "/mark":
            ctx.master.commands.call("test.mark", [f], "red")
            # The script's object shows what the command changed.
            f.request.headers["x-marked"] = f.marked
        elif f.request.path == "/keep":
            self.kept = f
        elif f.request.path == "/local":
            f.request.headers["x-local"] = str(ctx.master.commands.call("myaddon.double", 4))
        elif f.request.path == "/execute":
            f.request.headers["x-exec"] = str(ctx.master.commands.execute("test.viago 5"))
        elif f.request.path == "/unknown":
            try:
                ctx.master.commands.call("no.such.command")
            except Exception as e:
                f.request.headers["x-err"] = "%s: %s" % (type(e).__name__, e)

    @command.command("myaddon.usekept")
    def usekept(self) -> None:
        # From a thread of the script's own, outside any hook.
        def run():
            ctx.master.commands.call("test.take", [self.kept])
            logging.info("usekept done")

        threading.Thread(target=run).start()


addons = [Cmds()]
