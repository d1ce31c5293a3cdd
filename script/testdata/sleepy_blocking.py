"""sleepy.py without @concurrent: the handlers run one at a time."""
import time

from mitmproxy import ctx
from mitmproxy.script import concurrent



def request(flow):
    ctx.log.info("handle request: %s%s" % (flow.request.host, flow.request.path))
    time.sleep(1)
    ctx.log.info("start  request: %s%s" % (flow.request.host, flow.request.path))
