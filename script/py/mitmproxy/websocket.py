"""WebSocket messages and connection data (mitmproxy.websocket).

mitmgo keeps the messages of a WebSocket flow in the script host between
its hook calls, so that each websocket_message call carries only the new
message: a long session costs every call the same. A message records what
a handler changes in it (its attributes are tracked), and only those
changes go back to mitmgo.
"""
import enum
import time
import warnings

from ._mitmgo import runtime

__all__ = ["WebSocketMessage", "WebSocketData", "Opcode"]


class Opcode(enum.IntEnum):
    """RFC 6455 opcodes, as wsproto.frame_protocol.Opcode (which mitmproxy
    uses): an int, so that ``message.type == 1`` holds for text."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


TEXT = Opcode.TEXT
BINARY = Opcode.BINARY
# The members by value: a dict lookup costs a fraction of Opcode(value),
# which runs enum's Python-level __call__ for every message.
_OPCODES = {int(op): op for op in Opcode}
_MISSING = object()

# The attributes that make a message's state.
_STATE = frozenset(("type", "from_client", "content", "timestamp", "dropped", "injected"))


class WebSocketMessage:
    """A single WebSocket message sent from one peer to the other
    (fragmented messages are reassembled). ``content`` is bytes; ``text``
    decodes a text message."""

    def __init__(self, type, from_client, content, timestamp=None, dropped=False, injected=False):
        d = self.__dict__
        d["_track"] = None  # the dirty set of the flow it belongs to
        d["_i"] = -1  # its index in the flow's messages
        d["_st"] = None  # its state as mitmgo has it
        d["from_client"] = from_client
        d["type"] = Opcode(type)
        d["content"] = content
        d["timestamp"] = timestamp or time.time()
        d["dropped"] = dropped
        d["injected"] = injected

    def __setattr__(self, name, value):
        d = self.__dict__
        if name == "type":
            op = _OPCODES.get(value) if type(value) is int or type(value) is Opcode else None
            value = op if op is not None else Opcode(value)
        if name in _STATE:
            old = d.get(name, _MISSING)
            d[name] = value
            if old is value:
                # Set to the very value it had (content += b"" gives the
                # same bytes back): nothing to compare or send.
                return
            track = d["_track"]
            if track is not None:
                track.add(self)
            return
        object.__setattr__(self, name, value)

    @classmethod
    def from_state(cls, state):
        return cls(*state)

    @classmethod
    def _synced(cls, state, i, track):
        """A message as mitmgo sent it, at index i of a tracked flow."""
        m = cls.__new__(cls)
        typ, fc, content, ts, dropped, injected = state
        op = _OPCODES.get(typ)
        if op is None:
            op = Opcode(typ)
        m.__dict__.update(_track=track, _i=i, _st=(int(typ), fc, content, ts, dropped, injected),
                          type=op, from_client=fc, content=content, timestamp=ts,
                          dropped=dropped, injected=injected)
        return m

    def get_state(self):
        return (int(self.type), self.from_client, self.content, self.timestamp, self.dropped, self.injected)

    def set_state(self, state):
        (typ, self.from_client, self.content, self.timestamp, self.dropped, self.injected) = state
        self.type = Opcode(typ)

    def _revert(self):
        """Back to the state mitmgo has (a handler that raised)."""
        st = self.__dict__["_st"]
        if st is not None:
            typ, fc, content, ts, dropped, injected = st
            self.__dict__.update(type=Opcode(typ), from_client=fc, content=content, timestamp=ts,
                                 dropped=dropped, injected=injected)

    def _format_ws_message(self):
        if self.from_client:
            return b"[OUTGOING] " + self.content
        return b"[INCOMING] " + self.content

    def __repr__(self):
        if self.type == Opcode.TEXT:
            return repr(self.content.decode(errors="replace"))
        return repr(self.content)

    @property
    def is_text(self):
        """True for a message of TEXT frames, False for BINARY ones."""
        return self.type == Opcode.TEXT

    def drop(self):
        """Drop this message, i.e. don't forward it to the other peer."""
        self.dropped = True

    def kill(self):
        """A deprecated alias for .drop()."""
        warnings.warn("WebSocketMessage.kill() is deprecated, use .drop() instead.", DeprecationWarning, stacklevel=2)
        self.drop()

    @property
    def text(self):
        """The content of a text message as str."""
        if self.type != Opcode.TEXT:
            raise AttributeError("%s WebSocket frames do not have a 'text' attribute." % self.type.name.title())
        return self.content.decode()

    @text.setter
    def text(self, value):
        if self.type != Opcode.TEXT:
            raise AttributeError("%s WebSocket frames do not have a 'text' attribute." % self.type.name.title())
        self.content = value.encode()


class WebSocketData:
    """The WebSocket part of an HTTPFlow (flow.websocket)."""

    def __init__(self, messages=None, closed_by_client=None, close_code=None, close_reason=None,
                 timestamp_end=None):
        self.messages = messages if messages is not None else []
        self.closed_by_client = closed_by_client
        self.close_code = close_code
        self.close_reason = close_reason
        self.timestamp_end = timestamp_end
        # The messages a handler changed (None: not backed by mitmgo).
        self._track = None

    @classmethod
    def _from_state(cls, st, messages=None, track=None):
        """The data in a state dict; messages, when given, replace the
        state's (the host's list of the flow's messages)."""
        if messages is None:
            messages = [WebSocketMessage.from_state(m) for m in st.get("messages") or []]
        cr = st.get("close_reason")
        w = cls(messages, st.get("closed_by_client"), st.get("close_code"),
                cr.decode("utf-8", "replace") if isinstance(cr, bytes) else cr, st.get("timestamp_end"))
        w._track = track
        return w

    @classmethod
    def from_state(cls, st):
        return cls._from_state(st)

    def get_state(self):
        return {
            "messages": [list(m.get_state()) for m in self.messages],
            "closed_by_client": self.closed_by_client,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "timestamp_end": self.timestamp_end,
        }

    def _changes(self):
        """The messages a handler changed, as [index, state] pairs."""
        track = self._track
        if track is None:
            return None
        changed = {}
        for m in track:
            st = m.get_state()
            if st != m._st and 0 <= m._i:
                changed[m._i] = list(st)
        # A message put in the place of the newest one.
        msgs = self.messages
        if msgs:
            last = msgs[-1]
            i = len(msgs) - 1
            if isinstance(last, WebSocketMessage) and (last._track is not track or last._i != i):
                changed[i] = list(last.get_state())
        return {"messages": [[i, changed[i]] for i in sorted(changed)]} if changed else None

    def _commit(self):
        """mitmgo has taken the changes: they are the messages' state now."""
        track = self._track
        if track is None:
            return
        msgs = self.messages
        if msgs:
            last = msgs[-1]
            if isinstance(last, WebSocketMessage) and (last._track is not track or last._i != len(msgs) - 1):
                last.__dict__.update(_track=track, _i=len(msgs) - 1)
                track.add(last)
        for m in track:
            m.__dict__["_st"] = m.get_state()
        track.clear()

    def _revert(self):
        """Undo what handlers changed in the messages."""
        track = self._track
        if track is None:
            return
        for m in track:
            m._revert()
        track.clear()

    def _get_formatted_messages(self):
        return b"\n".join(m._format_ws_message() for m in self.messages)

    def __repr__(self):
        return "<WebSocketData (%d messages)>" % len(self.messages)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("WebSocketData", name)
