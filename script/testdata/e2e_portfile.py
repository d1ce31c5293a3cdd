"""Writes the listening ports by mode (as mitmproxy's portfile example)."""
import json
import pathlib
from typing import Optional

from mitmproxy import ctx


class PortFile:
    def load(self, loader):
        loader.add_option(name="datadir", typespec=Optional[str], default=None, help="Where to write portfile.")

    def running(self):
        if not ctx.options.datadir:
            return
        datadir = pathlib.Path(ctx.options.datadir)
        proxies = ctx.master.addons.get("proxyserver")
        modemap = {
            instance.mode.full_spec: addr[1]
            for instance in proxies.servers
            if (addr := next(iter(instance.listen_addrs), None))
        }
        print("view" in ctx.master.addons, ctx.master.addons.get("no.such.addon"))
        with datadir.joinpath("portfile").open("w", encoding="utf-8") as fp:
            json.dump(modemap, fp)


addons = [PortFile()]
