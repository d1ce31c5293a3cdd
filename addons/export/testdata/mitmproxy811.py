#!/usr/bin/python3
"""Write what Debian's mitmproxy 8.1.1 exports for the flows in scenarios.json.

Usage: /usr/bin/python3 mitmproxy811.py scenarios.json OUTDIR

For every scenario and format (curl, httpie, raw, raw_request, raw_response)
it writes OUTDIR/<name>.<format> with the exported bytes, or
OUTDIR/<name>.<format>.err with the error message. The Go tests compare
addons/export's output with these files; where current mitmproxy differs
from 8.1.1, scenarios.json holds the current output under "current" and
the file is not used.
"""
import base64
import json
import os
import sys

from mitmproxy import connection, http, websocket
from mitmproxy.addons import export
from mitmproxy.test import taddons


def content(d):
    if "content_b64" in d:
        return base64.b64decode(d["content_b64"])
    if d.get("content") is None:
        return None
    return d["content"].encode("utf-8")


def headers(pairs):
    return http.Headers([(k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs])


def build(s):
    client = connection.Client(("127.0.0.1", 50000), ("127.0.0.1", 8080), 1.0)
    server = connection.Server(("example.com", 80))
    if "server_peername" in s:
        server.peername = tuple(s["server_peername"])
    f = http.HTTPFlow(client, server)
    r = s["request"]
    body = content(r)
    f.request = http.Request(
        r["host"], r["port"], r["method"].encode(), r["scheme"].encode(),
        r["authority"].encode(), r["path"].encode(), r.get("http_version", "HTTP/1.1").encode(),
        headers(r["headers"]), body if body is None or "encode" not in r else b"",
        headers(r["trailers"]) if "trailers" in r else None, 1.0, 2.0)
    if "encode" in r:
        f.request.encode(r["encode"])
        f.request.content = body
    if "response" in s:
        p = s["response"]
        body = content(p)
        f.response = http.Response(
            p.get("http_version", "HTTP/1.1").encode(), p["status_code"], p["reason"].encode(),
            headers(p["headers"]), body if body is None or "encode" not in p else b"", None, 3.0, 4.0)
        if "encode" in p:
            f.response.encode(p["encode"])
            f.response.content = body
    if "websocket" in s:
        f.websocket = websocket.WebSocketData()
        for from_client, text in s["websocket"]:
            f.websocket.messages.append(websocket.WebSocketMessage(1, from_client, text.encode(), 5.0))
    return f


def main():
    scenarios = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    e = export.Export()
    with taddons.context(e) as tctx:
        for s in scenarios:
            tctx.configure(e, export_preserve_original_ip=s.get("preserve_ip", False))
            for fmt, fn in sorted(export.formats.items()):
                path = os.path.join(out, "%s.%s" % (s["name"], fmt))
                try:
                    v = fn(build(s))
                except Exception as err:
                    with open(path + ".err", "w") as fp:
                        fp.write(str(err) + "\n")
                    continue
                if isinstance(v, str):
                    v = v.encode("utf-8", "surrogateescape")
                with open(path, "wb") as fp:
                    fp.write(v)


if __name__ == "__main__":
    main()
