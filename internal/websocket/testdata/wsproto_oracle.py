# Reads a JSON list of cases ({"role": "server"|"client", "ext": header value
# or "", "data": hex}) on stdin and prints, for each, the events wsproto 1.2
# gives for those bytes (messages reassembled as mitmproxy's WebSocket layer
# does), as a JSON list of lists of strings.
import json
import sys

import wsproto
import wsproto.extensions
import wsproto.events as ev
from wsproto.frame_protocol import ParseFailed


def run(case):
    exts = []
    if case["ext"]:
        d = wsproto.extensions.PerMessageDeflate()
        d.finalize(case["ext"])
        exts.append(d)
    typ = wsproto.ConnectionType.SERVER if case["role"] == "server" else wsproto.ConnectionType.CLIENT
    conn = wsproto.Connection(typ, exts)
    out = []
    buf = []
    try:
        conn.receive_data(bytes.fromhex(case["data"]))
        for e in conn.events():
            if isinstance(e, ev.Message):
                data = e.data.encode() if isinstance(e.data, str) else bytes(e.data)
                buf.append(data)
                if e.message_finished:
                    kind = "TEXT" if isinstance(e.data, str) else "BINARY"
                    out.append("%s %s" % (kind, b"".join(buf).hex()))
                    buf = []
            elif isinstance(e, ev.Ping):
                out.append("PING %s" % bytes(e.payload).hex())
            elif isinstance(e, ev.Pong):
                out.append("PONG %s" % bytes(e.payload).hex())
            elif isinstance(e, ev.CloseConnection):
                out.append("CLOSE %d %s" % (e.code, e.reason or ""))
                break
    except Exception as exc:  # pragma: no cover
        out.append("EXCEPTION %r" % exc)
    return out


print(json.dumps([run(c) for c in json.load(sys.stdin)]))
