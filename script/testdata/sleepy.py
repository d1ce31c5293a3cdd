"""nonblocking.py's shape with a short sleep, for fast tests."""
import time

from mitmproxy import ctx
from mitmproxy.script import concurrent


@concurrent
def request(flow):
    ctx.log.info("handle request: %s%s" % (flow.request.host, flow.request.path))
    time.sleep(0.5)
    ctx.log.info("start  request: %s%s" % (flow.request.host, flow.request.path))
