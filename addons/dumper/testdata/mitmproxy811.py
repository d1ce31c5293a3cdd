#!/usr/bin/python3
"""Print what Debian's mitmproxy 8.1.1 dumper shows for the flows in scenarios.json.

Usage: /usr/bin/python3 mitmproxy811.py scenarios.json OUTDIR

Writes OUTDIR/<name>.d<N>.txt for flow_detail 0..4, exactly as mitmdump 8.1.1
prints them when its output is not a terminal (no colours, terminal width 80),
and OUTDIR/<name>.color.d<N>.txt as it prints them to a terminal (colours,
width 80). HTTP flows go through the response (or error) hook; WebSocket
flows then through websocket_message per message and websocket_end; TCP
flows through tcp_message per message and tcp_error. The Go tests compare
addons/dumper's output with these files.
"""
import base64
import io
import json
import os
import sys

from mitmproxy import connection, flow, http, tcp, websocket
from mitmproxy.addons import dumper
from mitmproxy.test import taddons


def content(d):
    if "content_b64" in d:
        return base64.b64decode(d["content_b64"])
    if d.get("content") is None:
        return None
    return d["content"].encode("utf-8")


def headers(pairs):
    return http.Headers([(k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs])


class TTY(io.StringIO):
    def isatty(self):
        return True


def build_tcp(s):
    client = connection.Client(tuple(s["client"]), ("127.0.0.1", 8080), 1.0)
    server = connection.Server(tuple(s["server"]))
    f = tcp.TCPFlow(client, server)
    if "error" in s:
        f.error = flow.Error(s["error"])
    return f


def build(s):
    if s.get("kind") == "tcp":
        return build_tcp(s)
    client = connection.Client(tuple(s["client"]), ("127.0.0.1", 8080), 1.0)
    server = connection.Server(tuple(s["server"]))
    f = http.HTTPFlow(client, server)
    r = s["request"]
    f.request = http.Request(
        r["host"], r["port"], r["method"].encode(), r["scheme"].encode(),
        r["authority"].encode(), r["path"].encode(), r["http_version"].encode(),
        headers(r["headers"]), content(r),
        headers(r["trailers"]) if "trailers" in r else None, 1.0, 1.0,
    )
    if "response" in s:
        p = s["response"]
        f.response = http.Response(
            p["http_version"].encode(), p["status_code"], p["reason"].encode(),
            headers(p["headers"]), content(p),
            headers(p["trailers"]) if "trailers" in p else None, 1.0, 1.0,
        )
    if "error" in s:
        f.error = flow.Error(s["error"])
    if "is_replay" in s:
        f.is_replay = s["is_replay"]
    return f


def main():
    scenarios = json.load(open(sys.argv[1]))
    outdir = sys.argv[2]
    os.environ.pop("COLUMNS", None)
    for s in scenarios:
        for color in (False, True):
            for detail in range(5):
                out = TTY() if color else io.StringIO()
                d = dumper.Dumper(out)
                with taddons.context(d) as tctx:
                    tctx.configure(d, flow_detail=detail)
                    replay(d, s, build(s))
                kind = ".color" if color else ""
                path = os.path.join(outdir, f"{s['name']}{kind}.d{detail}.txt")
                with open(path, "w", newline="") as fp:
                    fp.write(out.getvalue())


def replay(d, s, f):
    if s.get("kind") == "tcp":
        for m in s["tcp"]["messages"]:
            f.messages.append(tcp.TCPMessage(m["from_client"], content(m), 1.0))
            d.tcp_message(f)
        if f.error:
            d.tcp_error(f)
        return
    if f.response:
        d.response(f)
    else:
        d.error(f)
    if "websocket" in s:
        w = s["websocket"]
        f.websocket = websocket.WebSocketData()
        for m in w["messages"]:
            f.websocket.messages.append(
                websocket.WebSocketMessage(websocket.Opcode(m["type"]), m["from_client"], content(m), 1.0))
            d.websocket_message(f)
        f.websocket.close_code = w["close_code"]
        f.websocket.close_reason = w["close_reason"]
        f.websocket.closed_by_client = w["closed_by_client"]
        d.websocket_end(f)


if __name__ == "__main__":
    main()
