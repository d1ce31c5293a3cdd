"""A one-shot script for script.run: records the events it sees, changes
the flow, and logs."""
import logging

from mitmproxy import ctx

events = []


def load(loader):
    events.append("load")


def configure(updated):
    events.append("configure")


def running():
    events.append("running")


def requestheaders(flow):
    events.append("requestheaders")


def request(flow):
    events.append("request")
    flow.request.headers["x-oneshot"] = "req"


def responseheaders(flow):
    events.append("responseheaders")


def response(flow):
    events.append("response")
    flow.response.headers["x-oneshot"] = "resp"
    flow.comment = " ".join(events)
    logging.warning("oneshot saw %s", flow.request.path)


def error(flow):
    events.append("error")
    flow.comment = " ".join(events)


def tcp_start(flow):
    events.append("tcp_start")


def tcp_message(flow):
    events.append("tcp_message%d" % len(flow.messages))
    flow.messages[-1].content = flow.messages[-1].content.upper()


def tcp_end(flow):
    events.append("tcp_end")
    flow.comment = " ".join(events)


def done():
    ctx.log.info("oneshot done after %d events" % len(events))
