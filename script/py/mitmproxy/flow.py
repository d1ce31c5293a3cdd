"""The flow base class and flow errors (mitmproxy.flow)."""
import time
import uuid

from . import exceptions
from ._mitmgo import runtime
from ._mitmgo.tnetstring import loads_part as loads

__all__ = ["Flow", "Error"]


class Error:
    """A failure that ended a flow (not an HTTP error response)."""

    KILLED_MESSAGE = "Connection killed."

    def __init__(self, msg, timestamp=None):
        if not isinstance(msg, str):
            raise TypeError("Error message must be str, not %s" % type(msg).__name__)
        self.msg = msg
        self.timestamp = timestamp if timestamp is not None else time.time()

    def __str__(self):
        return self.msg

    def __repr__(self):
        return self.msg

    def __eq__(self, other):
        if isinstance(other, Error):
            return self.msg == other.msg and self.timestamp == other.timestamp
        return False

    __hash__ = object.__hash__

    def get_state(self):
        return {"msg": self.msg, "timestamp": self.timestamp}

    @classmethod
    def from_state(cls, state):
        msg = state.get("msg")
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "surrogateescape")
        return cls(msg, state.get("timestamp"))

    def copy(self):
        return Error(self.msg, self.timestamp)


_FLOW_FIELDS = ("error", "is_replay", "marked", "metadata", "comment", "timestamp_created")


def _s(v):
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v


class Flow:
    """What HTTP and TCP flows share. A flow handed to a hook is backed by
    the state mitmgo sent; its parts are decoded when first used, and what a
    handler changes goes back to mitmgo when the hook returns."""

    type = "flow"

    # Internal state lives in slots, so that __dict__ holds only what
    # scripts set on a flow (kept across its hook calls).
    __slots__ = (
        "_call", "_fl_raw", "_fl", "id", "_client_conn", "_server_conn", "_cc_raw", "_sc_raw", "live",
        "_error", "_intercepted", "_is_replay", "_marked", "_metadata", "_comment", "_timestamp_created",
        "_actions", "_touched", "_live0", "__dict__", "__weakref__",
    )

    def __init__(self, client_conn, server_conn, live=False):
        self._call = None
        self._fl_raw = None
        self._fl = {}
        self.id = str(uuid.uuid4())
        self._client_conn = client_conn
        self._server_conn = server_conn
        self._cc_raw = self._sc_raw = None
        self.live = live
        self._error = None
        self._intercepted = False
        self._is_replay = None
        self._marked = ""
        self._metadata = {}
        self._comment = ""
        self._timestamp_created = time.time()
        self._actions = []
        self._touched = True
        self._live0 = live

    # Hook flows --------------------------------------------------------

    def _init_hook(self, call, env):
        """Set up a flow for a hook call from the message envelope."""
        self._call = call
        self.id = env.get("fid")
        self.live = bool(env.get("live"))
        self._fl_raw = env.get("f")
        self._fl = None
        self._cc_raw = env.get("cc")
        self._sc_raw = env.get("sc")
        self._client_conn = self._server_conn = None
        self._actions = []
        self._touched = False
        self._live0 = self.live

    def _load_fl(self):
        st = loads(self._fl_raw) if self._fl_raw is not None else {}
        self._fl = st
        err = st.get("error")
        self._error = Error.from_state(err) if err else None
        self._intercepted = bool(st.get("intercepted"))
        self._is_replay = _s(st.get("is_replay"))
        m = st.get("marked")
        self._marked = ":default:" if m is True else (_s(m) or "")
        self._metadata = st.get("metadata") or {}
        self._comment = _s(st.get("comment")) or ""
        self._timestamp_created = st.get("timestamp_created")

    def _fld(self):
        if self._fl is None:
            self._touched = True
            self._load_fl()

    def _flow_changes(self, out):
        """Add the flow-level fields a handler changed to out."""
        if self._fl is None:
            return
        # A fresh decode: metadata may have been changed in place.
        st = loads(self._fl_raw) if self._fl_raw is not None else {}
        err = self._error.get_state() if self._error else None
        oerr = st.get("error")
        if oerr is not None:
            oerr = {"msg": _s(oerr.get("msg")), "timestamp": oerr.get("timestamp")}
        if err != oerr:
            out["error"] = err
        if self._marked != (_s(st.get("marked")) or ""):
            out["marked"] = self._marked
        if self._comment != (_s(st.get("comment")) or ""):
            out["comment"] = self._comment
        if self._is_replay != _s(st.get("is_replay")):
            out["is_replay"] = self._is_replay
        if self._metadata != (st.get("metadata") or {}):
            out["metadata"] = self._metadata

    def _snapshot(self):
        """What a handler may roll back to: the changes so far (None: the
        flow as mitmgo sent it)."""
        if not self._touched:
            return None
        return (self._changes(), list(self._actions), self.live)

    def _rollback(self, snap):
        """Undo what the last handler did (it raised)."""
        self._reset()
        if snap is None:
            self.live = self._live0
            self._touched = False
            return
        changes, actions, live = snap
        self.live = live
        changes = dict(changes)
        changes.pop("actions", None)
        if changes:
            self._apply(changes)
        self._actions = actions

    def _base_state(self):
        """The flow-level part of the state dict, as it is now."""
        st = {"version": 21, "type": self.type, "id": self.id}
        err = self.error
        st["error"] = err.get_state() if err else None
        st["intercepted"] = self.intercepted
        st["is_replay"] = self.is_replay
        st["marked"] = self.marked
        st["metadata"] = self.metadata
        st["comment"] = self.comment
        st["timestamp_created"] = self.timestamp_created
        st["backup"] = None
        for key, raw, obj in (("client_conn", self._cc_raw, self._client_conn),
                              ("server_conn", self._sc_raw, self._server_conn)):
            if obj is not None:
                st[key] = obj.get_state()
            elif raw is not None:
                st[key] = loads(raw)
            else:
                st[key] = None
        return st

    # Flow-level attributes ---------------------------------------------

    @property
    def error(self):
        self._fld()
        return self._error

    @error.setter
    def error(self, value):
        self._fld()
        self._error = value

    @property
    def intercepted(self):
        self._fld()
        return self._intercepted

    @intercepted.setter
    def intercepted(self, value):
        self._fld()
        self._intercepted = bool(value)

    @property
    def is_replay(self):
        self._fld()
        return self._is_replay

    @is_replay.setter
    def is_replay(self, value):
        self._fld()
        self._is_replay = value

    @property
    def marked(self):
        self._fld()
        return self._marked

    @marked.setter
    def marked(self, value):
        self._fld()
        if value is True:
            value = ":default:"
        elif value is False or value is None:
            value = ""
        self._marked = value

    @property
    def metadata(self):
        self._fld()
        return self._metadata

    @metadata.setter
    def metadata(self, value):
        self._fld()
        self._metadata = value

    @property
    def comment(self):
        self._fld()
        return self._comment

    @comment.setter
    def comment(self, value):
        self._fld()
        self._comment = value

    @property
    def timestamp_created(self):
        self._fld()
        return self._timestamp_created

    @timestamp_created.setter
    def timestamp_created(self, value):
        self._fld()
        self._timestamp_created = value

    @property
    def client_conn(self):
        self._touched = True
        if self._client_conn is None and self._cc_raw is not None:
            from .connection import Client

            self._client_conn = Client._from_raw(self._cc_raw, self.live)
        return self._client_conn

    @client_conn.setter
    def client_conn(self, value):
        self._touched = True
        self._client_conn = value

    @property
    def server_conn(self):
        self._touched = True
        if self._server_conn is None and self._sc_raw is not None:
            from .connection import Server

            self._server_conn = Server._from_raw(self._sc_raw, self.live)
        return self._server_conn

    @server_conn.setter
    def server_conn(self, value):
        self._touched = True
        self._server_conn = value

    # Control -----------------------------------------------------------

    @property
    def killable(self):
        return self.live and not (self.error and self.error.msg == Error.KILLED_MESSAGE)

    def kill(self, *_master):
        """Kill the flow: mitmgo drops its connection. The 0.18-era form
        kill(master) is accepted; the argument is ignored."""
        if not self.killable:
            raise exceptions.ControlException("Flow is not killable.")
        self.error = Error(Error.KILLED_MESSAGE)
        self._intercepted = False
        self.live = False
        self._action("kill")

    def intercept(self, *_master):
        """Pause the flow until resume() (or kill())."""
        if self.intercepted:
            return
        self.intercepted = True
        self._action("intercept")

    def resume(self, *_master):
        """Continue an intercepted flow."""
        if not self.intercepted:
            return
        self.intercepted = False
        self._action("resume")

    accept_intercept = resume

    def _action(self, name):
        self._touched = True
        call = self._call
        if call is not None and not call.finished:
            self._actions.append(name)
        elif call is not None and runtime.host is not None:
            # After the hook returned: act on the live flow directly.
            runtime.host.flowop(self.id, name)

    @property
    def timestamp_start(self):
        return self.timestamp_created

    def modified(self):
        return False

    # State (mitmproxy's Serializable) ---------------------------------

    def get_state(self):
        """The flow as mitmproxy's state dict (version 21), as flow files
        hold it; bodies a hook left on the Go side are fetched."""
        return self._full_state()

    def set_state(self, state):
        """Replace the flow's contents with a state dict (its id too)."""
        from .connection import Client, Server

        state = dict(state)
        self.id = _s(state.get("id")) or self.id
        err = state.get("error")
        self.error = Error.from_state(err) if err else None
        self.intercepted = bool(state.get("intercepted"))
        self.is_replay = _s(state.get("is_replay"))
        self.marked = _s(state.get("marked")) or ""
        self.metadata = state.get("metadata") or {}
        self.comment = _s(state.get("comment")) or ""
        if state.get("timestamp_created") is not None:
            self.timestamp_created = state.get("timestamp_created")
        cc, sc = state.get("client_conn"), state.get("server_conn")
        self.client_conn = Client._from_state(cc) if cc is not None else None
        self.server_conn = Server._from_state(sc) if sc is not None else None
        self._set_parts(state)

    def _set_parts(self, state):
        pass

    @classmethod
    def from_state(cls, state):
        """A flow made from a state dict (of the flow type it names, when
        called on Flow)."""
        if cls is Flow:
            typ = _s(state.get("type"))
            cls = flow_types().get(typ)
            if cls is None:
                raise ValueError("unknown flow type %r" % (typ,))
        f = cls(None, None)
        f.set_state(state)
        return f

    def copy(self):
        """A copy with a new id that is not live."""
        import copy as _copy

        st = _copy.deepcopy(self.get_state())
        f = type(self).from_state(st)
        f.id = str(uuid.uuid4())
        f.live = False
        return f

    def backup(self, force=False):
        raise runtime.not_supported(type(self).__name__, "backup")

    def revert(self):
        raise runtime.not_supported(type(self).__name__, "revert")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _UNSUPPORTED:
            raise runtime.not_supported(type(self).__name__, name)
        raise AttributeError(
            "%r object has no attribute %r (if this is mitmproxy API, mitmgo does not support it yet)"
            % (type(self).__name__, name)
        )


_UNSUPPORTED = {"reply"}


def flow_types():
    """mitmproxy's flow.flow_types-like map: type name -> class."""
    from .dns import DNSFlow
    from .http import HTTPFlow
    from .tcp import TCPFlow
    from .udp import UDPFlow

    return {"http": HTTPFlow, "tcp": TCPFlow, "dns": DNSFlow, "udp": UDPFlow}
