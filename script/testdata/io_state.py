"""Flow state and flow files (commands_test.go: TestFlowStateAndIO)."""
import json
from collections.abc import Sequence

from mitmproxy import command, ctx, flow, http, io, tcp, types


class IOState:
    def __init__(self):
        self.f = None
        self.w = None

    def load(self, loader):
        loader.add_option("outfile", str, "", "Write flows here.")

    def configure(self, updated):
        if "outfile" in updated and ctx.options.outfile:
            self.f = open(ctx.options.outfile, "wb")
            self.w = io.FlowWriter(self.f)

    def response(self, f):
        st = f.get_state()
        self.w.add(f)
        self.f.flush()
        f2 = http.HTTPFlow.from_state(st)
        assert f2.get_state() == st, "from_state(get_state()) differs"
        f3 = flow.Flow.from_state(st)
        assert isinstance(f3, http.HTTPFlow)
        f4 = http.HTTPFlow(None, None)
        f4.set_state(st)
        assert f4.get_state() == st
        c = f.copy()
        assert c.id != f.id and c.request.url == f.request.url and not c.live
        assert c.get_state()["request"] == st["request"]
        ctx.log.info("state ok %s %s %s" % (st["version"], st["type"], st["request"]["path"].decode()))

    def tcp_message(self, f):
        st = f.get_state()
        assert tcp.TCPFlow.from_state(st).get_state() == st
        ctx.log.info("tcp state ok %d" % len(st["messages"]))

    @command.command("test.read")
    def read(self, path: types.Path) -> Sequence[str]:
        out = []
        with open(path, "rb") as fp:
            for f in io.FlowReader(fp).stream():
                if isinstance(f, http.HTTPFlow):
                    out.append("%s %s %d" % (f.type, f.request.host, f.get_state()["version"]))
                else:
                    out.append(f.type)
        return out

    def done(self):
        if self.f:
            self.f.close()


addons = [IOState()]
