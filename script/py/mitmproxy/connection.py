"""Client and server connections (mitmproxy.connection), read from the
connection state mitmgo sends with a hook."""
import enum
import typing
import uuid

from ._mitmgo import runtime
from ._mitmgo.tnetstring import loads_part as loads

__all__ = ["Address", "Connection", "Client", "Server", "ConnectionState", "TransportProtocol"]

# Address is a (host, port) pair, as in mitmproxy.
Address = typing.Tuple[str, int]


class ConnectionState(enum.Flag):
    CLOSED = 0
    CAN_READ = 1
    CAN_WRITE = 2
    OPEN = CAN_READ | CAN_WRITE


TransportProtocol = str

_COMMON = (
    "id", "peername", "sockname", "transport_protocol", "error", "tls",
    "certificate_list", "alpn", "alpn_offers", "cipher", "cipher_list",
    "tls_version", "sni", "timestamp_start", "timestamp_end", "timestamp_tls_setup",
)
_CLIENT = _COMMON + ("mitmcert", "proxy_mode")
_SERVER = _COMMON + ("address", "timestamp_tcp_setup", "via")
# What a script may change and mitmgo applies.
_WRITABLE = {"client": ("error",), "server": ("error", "address", "via", "sni")}


def _addr(v):
    if v is None:
        return None
    return (v[0].decode("utf-8", "surrogateescape") if isinstance(v[0], bytes) else v[0], v[1])


def _s(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return v


class Connection:
    """Base of Client and Server."""

    _fields = _COMMON
    _kind = "connection"

    def __init__(self, **kwargs):
        self.id = kwargs.pop("id", None) or str(uuid.uuid4())
        self.peername = kwargs.pop("peername", None)
        self.sockname = kwargs.pop("sockname", None)
        self.state = kwargs.pop("state", ConnectionState.CLOSED)
        self.transport_protocol = kwargs.pop("transport_protocol", "tcp")
        self.error = kwargs.pop("error", None)
        self.tls = kwargs.pop("tls", False)
        self.certificate_list = kwargs.pop("certificate_list", [])
        self.alpn = kwargs.pop("alpn", None)
        self.alpn_offers = kwargs.pop("alpn_offers", [])
        self.cipher = kwargs.pop("cipher", None)
        self.cipher_list = kwargs.pop("cipher_list", [])
        self.tls_version = kwargs.pop("tls_version", None)
        self.sni = kwargs.pop("sni", None)
        self.timestamp_start = kwargs.pop("timestamp_start", None)
        self.timestamp_end = kwargs.pop("timestamp_end", None)
        self.timestamp_tls_setup = kwargs.pop("timestamp_tls_setup", None)
        for k, v in kwargs.items():
            setattr(self, k, v)
        self._orig = None

    @classmethod
    def _from_state(cls, state, live=False):
        c = cls.__new__(cls)
        c._load(state)
        c.state = ConnectionState.OPEN if live and state.get("timestamp_end") is None else ConnectionState.CLOSED
        c._orig = state
        return c

    @classmethod
    def _from_raw(cls, raw, live=False):
        return cls._from_state(loads(raw), live)

    def _load(self, st):
        self.id = _s(st.get("id"))
        self.peername = _addr(st.get("peername"))
        self.sockname = _addr(st.get("sockname"))
        self.transport_protocol = _s(st.get("transport_protocol")) or "tcp"
        self.error = _s(st.get("error"))
        self.tls = bool(st.get("tls"))
        self.certificate_list = list(st.get("certificate_list") or [])
        self.alpn = st.get("alpn")
        self.alpn_offers = list(st.get("alpn_offers") or [])
        self.cipher = _s(st.get("cipher"))
        self.cipher_list = [_s(c) for c in st.get("cipher_list") or []]
        self.tls_version = _s(st.get("tls_version"))
        self.sni = _s(st.get("sni"))
        self.timestamp_start = st.get("timestamp_start")
        self.timestamp_end = st.get("timestamp_end")
        self.timestamp_tls_setup = st.get("timestamp_tls_setup")

    def get_state(self):
        return {
            "id": self.id,
            "peername": list(self.peername) if self.peername else None,
            "sockname": list(self.sockname) if self.sockname else None,
            "transport_protocol": self.transport_protocol,
            "error": self.error,
            "tls": self.tls,
            "certificate_list": list(self.certificate_list),
            "alpn": self.alpn,
            "alpn_offers": list(self.alpn_offers),
            "cipher": self.cipher,
            "cipher_list": list(self.cipher_list),
            "tls_version": self.tls_version,
            "sni": self.sni,
            "timestamp_start": self.timestamp_start,
            "timestamp_end": self.timestamp_end,
            "timestamp_tls_setup": self.timestamp_tls_setup,
        }

    def _changes(self):
        """The writable fields that differ from what mitmgo sent."""
        if self._orig is None:
            return None
        cur = self.get_state()
        out = {}
        for k in _WRITABLE[self._kind]:
            v = cur.get(k)
            o = self._orig.get(k)
            if k in ("address", "via"):
                o = list(o) if o is not None else None
                if o is not None and k == "via":
                    o = [_s(o[0]), list(_addr(o[1]))]
            elif isinstance(o, bytes):
                o = _s(o)
            if v != o:
                out[k] = v
        return out

    @property
    def connected(self):
        return self.state is ConnectionState.OPEN

    @property
    def tls_established(self):
        return self.timestamp_tls_setup is not None

    @property
    def alpn_proto_negotiated(self):
        return self.alpn

    @property
    def cipher_name(self):
        return self.cipher

    def __eq__(self, other):
        if isinstance(other, Connection):
            return self.id == other.id
        return False

    def __hash__(self):
        return hash(self.id)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported(type(self).__name__, name)


class Client(Connection):
    """The connection between a client and mitmgo."""

    _fields = _CLIENT
    _kind = "client"

    def __init__(self, peername=None, sockname=None, timestamp_start=None, **kwargs):
        self.mitmcert = kwargs.pop("mitmcert", None)
        self.proxy_mode = kwargs.pop("proxy_mode", "regular")
        super().__init__(peername=peername, sockname=sockname, timestamp_start=timestamp_start, **kwargs)

    def _load(self, st):
        super()._load(st)
        self.mitmcert = st.get("mitmcert")
        self.proxy_mode = _s(st.get("proxy_mode")) or "regular"

    @property
    def proxy_mode(self):
        """The mode spec the client connected through, as a ProxyMode
        (mitmproxy.proxy.mode_specs), parsed when first read."""
        m = self._proxy_mode
        if isinstance(m, str):
            from .proxy.mode_specs import ProxyMode

            try:
                m = ProxyMode.parse(m)
            except ValueError:
                return m
            self._proxy_mode = m
        return m

    @proxy_mode.setter
    def proxy_mode(self, mode):
        self._proxy_mode = mode

    def get_state(self):
        d = super().get_state()
        d["mitmcert"] = self.mitmcert
        m = self._proxy_mode
        d["proxy_mode"] = m if isinstance(m, str) else m.full_spec
        return d

    @property
    def address(self):
        return self.peername

    @property
    def clientcert(self):
        return self.certificate_list[0] if self.certificate_list else None

    def __repr__(self):
        return "Client(%s, state=%s)" % (
            "%s:%s" % self.peername if self.peername else "?",
            self.state.name.lower() if self.state.name else "open",
        )


class Server(Connection):
    """The connection between mitmgo and an upstream server."""

    _fields = _SERVER
    _kind = "server"

    def __init__(self, address=None, **kwargs):
        self.address = address
        self.timestamp_tcp_setup = kwargs.pop("timestamp_tcp_setup", None)
        self.via = kwargs.pop("via", None)
        super().__init__(**kwargs)

    def _load(self, st):
        super()._load(st)
        self.address = _addr(st.get("address"))
        self.timestamp_tcp_setup = st.get("timestamp_tcp_setup")
        via = st.get("via")
        self.via = (_s(via[0]), _addr(via[1])) if via else None

    def get_state(self):
        d = super().get_state()
        d["address"] = list(self.address) if self.address else None
        d["timestamp_tcp_setup"] = self.timestamp_tcp_setup
        d["via"] = [self.via[0], list(self.via[1])] if self.via else None
        return d

    @property
    def ip_address(self):
        return self.peername

    @property
    def cert(self):
        return self.certificate_list[0] if self.certificate_list else None

    def __repr__(self):
        return "Server(%s, state=%s)" % (
            "%s:%s" % self.address if self.address else "?",
            self.state.name.lower() if self.state.name else "open",
        )
