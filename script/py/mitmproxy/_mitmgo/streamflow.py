"""What TCP and UDP flows share (mitmproxy.tcp, mitmproxy.udp): a flow that
is a list of messages, each a chunk (TCP) or a datagram (UDP) from one
side, decoded from what mitmgo sent when a script first reads it, and sent
back as the messages that changed."""
import time

from .. import flow
from .tnetstring import loads_part as loads


class Message:
    """One message of a TCP or UDP flow, from the client or the server."""

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


class MessageFlow(flow.Flow):
    """A flow of messages; message_class is what its messages are."""

    message_class = Message

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
            self._messages = [self.message_class.from_state(m) for m in st]
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
        self.messages = [self.message_class.from_state(m) for m in state.get("messages") or ()]

    def _reset(self):
        self._messages = None
        self._orig_messages = None
        self._fl = None
        self._client_conn = self._server_conn = None
        self._actions = []

    def _apply(self, changes):
        from .apply import apply_flow_fields

        apply_flow_fields(self, changes)
        for i, st in changes.get("messages", []):
            msgs = self.messages
            if i < len(msgs):
                msgs[i] = self.message_class.from_state(st)

    def __repr__(self):
        return "<{} ({} messages)>".format(type(self).__name__, len(self.messages))
