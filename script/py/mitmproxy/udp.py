"""UDP flows (mitmproxy.udp): the datagrams between a client address and
a server, as mitmproxy's reverse:udp mode records them."""
import time

from . import flow
from ._mitmgo.tnetstring import loads_part as loads

__all__ = ["UDPMessage", "UDPFlow"]


class UDPMessage:
    """One datagram."""

    def __init__(self, from_client, content, timestamp=None):
        self.from_client = from_client
        self.content = content
        self.timestamp = timestamp or time.time()

    @classmethod
    def from_state(cls, state):
        return cls(*state)

    def get_state(self):
        return [self.from_client, self.content, self.timestamp]

    def set_state(self, state):
        self.from_client, self.content, self.timestamp = state

    def __repr__(self):
        return "{direction} {content}".format(
            direction="->" if self.from_client else "<-", content=repr(self.content)
        )


class UDPFlow(flow.Flow):
    """A UDP session."""

    type = "udp"

    __slots__ = ("_messages", "_tm_raw", "_orig_messages")

    def __init__(self, client_conn, server_conn, live=False):
        super().__init__(client_conn, server_conn, live)
        self._messages = []
        self._tm_raw = None
        self._orig_messages = None

    def _init_hook(self, call, env):
        super()._init_hook(call, env)
        self._tm_raw = env.get("tm")
        self._messages = None
        self._orig_messages = None

    @property
    def messages(self):
        self._touched = True
        if self._messages is None:
            st = loads(self._tm_raw) if self._tm_raw is not None else []
            self._orig_messages = st
            self._messages = [UDPMessage.from_state(m) for m in st]
        return self._messages

    @messages.setter
    def messages(self, value):
        self.messages
        self._messages = value

    def _changes(self):
        out = {}
        self._flow_changes(out)
        if self._messages is not None and self._orig_messages is not None:
            changed = []
            for i, m in enumerate(self._messages):
                st = m.get_state()
                if i >= len(self._orig_messages) or list(self._orig_messages[i]) != st:
                    changed.append([i, st])
            if changed:
                out["messages"] = changed
        if self._actions:
            out["actions"] = list(self._actions)
        return out

    def _full_state(self):
        st = self._base_state()
        st["messages"] = [m.get_state() for m in self.messages]
        return st

    def _set_parts(self, state):
        self.messages = [UDPMessage.from_state(m) for m in state.get("messages") or ()]

    def _reset(self):
        self._messages = None
        self._orig_messages = None
        self._fl = None
        self._client_conn = self._server_conn = None
        self._actions = []

    def _apply(self, changes):
        for k in ("marked", "comment", "is_replay", "metadata"):
            if k in changes:
                setattr(self, k, changes[k])
        if "error" in changes:
            e = changes["error"]
            self.error = flow.Error.from_state(e) if e else None
        for i, st in changes.get("messages", []):
            msgs = self.messages
            if i < len(msgs):
                msgs[i] = UDPMessage.from_state(st)

    def __repr__(self):
        return "<UDPFlow ({} messages)>".format(len(self.messages))
