"""Proxy mode specs (mitmproxy.proxy.mode_specs): "regular", "socks5@1080",
"reverse:https://example.com@127.0.0.1:8443" parsed into ProxyMode objects,
as mitmproxy 12 parses them and as flow.client_conn.proxy_mode gives them.

The syntax is mode[:data][@[listen_host:]listen_port]. mitmgo's proxy
parses the same specs (internal/spec); this module gives scripts the same
objects mitmproxy's scripts get."""
from dataclasses import dataclass
from typing import ClassVar, Dict, Optional

from mitmproxy.net import server_spec

__all__ = [
    "ProxyMode", "RegularMode", "TransparentMode", "UpstreamMode", "ReverseMode", "Socks5Mode",
    "DnsMode", "WireGuardMode", "LocalMode", "TunMode",
]

_TYPES: Dict[str, type] = {}


@dataclass(frozen=True)
class ProxyMode:
    """A parsed proxy mode spec; one subclass per mode."""

    full_spec: str
    data: str
    custom_listen_host: Optional[str]
    custom_listen_port: Optional[int]

    type_name: ClassVar[str] = "proxymode"
    default_port: ClassVar[Optional[int]] = 8080
    transport_protocol: ClassVar[str] = "tcp"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        if name.endswith("Mode"):
            name = name[: -len("Mode")]
        cls.type_name = name.lower()
        _TYPES[cls.type_name] = cls

    def __repr__(self):
        return "ProxyMode.parse(%r)" % (self.full_spec,)

    def __post_init__(self):
        self._validate()

    def _validate(self):
        if self.data:
            raise ValueError("invalid data for %s mode: %r" % (self.type_name, self.data))

    @property
    def description(self) -> str:
        return "%s proxy" % self.type_name

    @classmethod
    def parse(cls, spec: str) -> "ProxyMode":
        """Parse a mode spec; ValueError names what is wrong."""
        head, _, listen_at = spec.rpartition("@")
        if not head:
            head, listen_at = listen_at, ""
        mode, _, data = head.partition(":")
        host = port = None
        if listen_at:
            if ":" in listen_at:
                host, _, port_str = listen_at.rpartition(":")
            else:
                port_str = listen_at
            try:
                port = int(port_str)
                if not 0 <= port <= 65535:
                    raise ValueError
            except ValueError:
                raise ValueError("invalid port: %s" % port_str) from None
        mode_cls = _TYPES.get(mode.lower())
        if mode_cls is None:
            raise ValueError("unknown mode")
        if not issubclass(mode_cls, cls):
            raise ValueError("%r is not a spec for a %s mode" % (mode, cls.type_name))
        return mode_cls(full_spec=spec, data=data, custom_listen_host=host, custom_listen_port=port)

    def listen_host(self, default: Optional[str] = None) -> str:
        if self.custom_listen_host is not None:
            return self.custom_listen_host
        return default if default is not None else ""

    def listen_port(self, default: Optional[int] = None) -> Optional[int]:
        if self.custom_listen_port is not None:
            return self.custom_listen_port
        return default if default is not None else self.default_port

    @classmethod
    def from_state(cls, state):
        return ProxyMode.parse(state)

    def get_state(self):
        return self.full_spec


class RegularMode(ProxyMode):
    description = "HTTP(S) proxy"


class TransparentMode(ProxyMode):
    description = "Transparent Proxy"


class UpstreamMode(ProxyMode):
    description = "HTTP(S) proxy (upstream mode)"

    def _validate(self):
        scheme, address = server_spec.parse(self.data, default_scheme="http")
        if scheme not in ("http", "https"):
            raise ValueError("invalid upstream proxy scheme")
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "address", address)


class ReverseMode(ProxyMode):
    description = "Reverse proxy"

    def _validate(self):
        scheme, address = server_spec.parse(self.data, default_scheme="https")
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "address", address)

    @property
    def default_port(self):
        return 53 if self.scheme == "dns" else 8080

    @property
    def transport_protocol(self):
        if self.scheme in ("udp", "dtls", "quic", "http3"):
            return "udp"
        if self.scheme == "dns":
            return "both"
        return "tcp"


class Socks5Mode(ProxyMode):
    description = "SOCKS v5 proxy"
    default_port = 1080


class DnsMode(ProxyMode):
    description = "DNS server"
    default_port = 53
    transport_protocol = "both"


class WireGuardMode(ProxyMode):
    description = "WireGuard server"
    default_port = 51820
    transport_protocol = "udp"

    def _validate(self):
        pass


class LocalMode(ProxyMode):
    description = "Local redirector"
    default_port = None

    def _validate(self):
        pass


class TunMode(ProxyMode):
    description = "TUN interface"
    default_port = None

    def _validate(self):
        pass
