"""WebSocket messages and connection data (mitmproxy.websocket)."""
import time

from ._mitmgo import runtime

__all__ = ["WebSocketMessage", "WebSocketData"]

TEXT = 1
BINARY = 2


class WebSocketMessage:
    """One (reassembled) WebSocket message."""

    def __init__(self, type, from_client, content, timestamp=None, dropped=False, injected=False):
        self.type = int(type)
        self.from_client = from_client
        self.content = content
        self.timestamp = timestamp or time.time()
        self.dropped = dropped
        self.injected = injected

    @classmethod
    def from_state(cls, state):
        return cls(*state)

    def get_state(self):
        return [self.type, self.from_client, self.content, self.timestamp, self.dropped, self.injected]

    def __repr__(self):
        if self.type == TEXT:
            return repr(self.content.decode(errors="replace"))
        return repr(self.content)

    @property
    def is_text(self):
        return self.type == TEXT

    def drop(self):
        """Do not forward this message."""
        self.dropped = True

    def kill(self):
        self.drop()

    @property
    def text(self):
        if self.type != TEXT:
            raise AttributeError("binary WebSocket messages have no .text; use .content")
        return self.content.decode()

    @text.setter
    def text(self, value):
        if self.type != TEXT:
            raise AttributeError("binary WebSocket messages have no .text; use .content")
        self.content = value.encode()


class WebSocketData:
    """The WebSocket part of an HTTPFlow."""

    def __init__(self):
        self.messages = []
        self.closed_by_client = None
        self.close_code = None
        self.close_reason = None
        self.timestamp_end = None
        self._orig = None

    @classmethod
    def _from_state(cls, st):
        w = cls()
        w.messages = [WebSocketMessage.from_state(m) for m in st.get("messages") or []]
        w.closed_by_client = st.get("closed_by_client")
        w.close_code = st.get("close_code")
        cr = st.get("close_reason")
        w.close_reason = cr.decode("utf-8", "replace") if isinstance(cr, bytes) else cr
        w.timestamp_end = st.get("timestamp_end")
        w._orig = st
        return w

    def get_state(self):
        return {
            "messages": [m.get_state() for m in self.messages],
            "closed_by_client": self.closed_by_client,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "timestamp_end": self.timestamp_end,
        }

    def _changes(self):
        if self._orig is None:
            return None
        omsgs = self._orig.get("messages") or []
        changed = []
        for i, m in enumerate(self.messages):
            st = m.get_state()
            if i >= len(omsgs) or list(omsgs[i]) != st:
                changed.append([i, st])
        return {"messages": changed} if changed else None

    def __repr__(self):
        return "<WebSocketData (%d messages)>" % len(self.messages)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("WebSocketData", name)
