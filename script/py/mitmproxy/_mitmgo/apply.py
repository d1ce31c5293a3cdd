"""Re-applying recorded changes to a flow, used to roll back the changes of a
handler that raised (the flow keeps those of earlier handlers)."""
from .. import flow as _flow
from .tnetstring import loads


def _flow_fields(f, ch):
    for k in ("marked", "comment", "is_replay", "metadata"):
        if k in ch:
            setattr(f, k, ch[k])
    if "error" in ch:
        e = ch["error"]
        f.error = _flow.Error.from_state(e) if e else None


def apply_http(f, ch):
    from ..http import Headers, Request, Response

    _flow_fields(f, ch)
    for key, cls in (("request", Request), ("response", Response)):
        if key not in ch:
            continue
        v = ch[key]
        if v is None:
            setattr(f, key, None)
            continue
        cur = getattr(f, key)
        if cur is None:
            m = cls._from_state(dict(v))
            m._orig = None
            # A callable ("fn") is put back by HTTPFlow._rollback.
            m.stream = bool(v.get("stream"))
            setattr(f, key, m)
            continue
        for k, val in v.items():
            if k == "stream":
                cur.stream = bool(val)
            elif k in ("headers", "trailers"):
                setattr(cur.data, k, Headers.from_state(val) if val is not None else None)
            else:
                setattr(cur.data, k, val)
    ws = ch.get("websocket")
    if ws and f.websocket is not None:
        for i, st in ws.get("messages", []):
            msgs = f.websocket.messages
            if i < len(msgs):
                msgs[i].set_state(st)


def apply_tcp(f, ch):
    from ..tcp import TCPMessage

    _flow_fields(f, ch)
    for i, st in ch.get("messages", []):
        msgs = f.messages
        if i < len(msgs):
            msgs[i] = TCPMessage.from_state(st)


__all__ = ["apply_http", "apply_tcp", "loads"]
