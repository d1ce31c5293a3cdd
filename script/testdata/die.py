import os

from mitmproxy import ctx

loads = 0


def load(loader):
    ctx.log.info("die.py loaded")


def request(flow):
    if flow.request.path == "/die":
        os._exit(7)
    flow.request.headers["x-alive"] = "1"
