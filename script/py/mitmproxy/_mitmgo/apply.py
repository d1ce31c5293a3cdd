"""Re-applying recorded changes to a flow, used to roll back the changes of a
handler that raised (the flow keeps those of earlier handlers)."""
from .. import flow as _flow
from .tnetstring import loads


def apply_flow_fields(f, ch):
    """The flow-level fields of a change: marked, comment, is_replay,
    metadata, error."""
    for k in ("marked", "comment", "is_replay", "metadata"):
        if k in ch:
            setattr(f, k, ch[k])
    if "error" in ch:
        e = ch["error"]
        f.error = _flow.Error.from_state(e) if e else None


def apply_http(f, ch):
    from ..http import Headers, Request, Response

    apply_flow_fields(f, ch)
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
    sv = ch.get("server")
    if sv and f.server_conn is not None:
        from ..connection import Server

        if sv.get("new"):
            f.server_conn = Server(address=f.server_conn.address)
        for k in ("address", "via", "sni", "error"):
            if k in sv:
                v = sv[k]
                if k in ("address", "via") and v is not None:
                    v = tuple(v) if k == "address" else (v[0], tuple(v[1]))
                setattr(f.server_conn, k, v)


__all__ = ["apply_flow_fields", "apply_http", "loads"]
