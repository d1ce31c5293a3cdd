"""Server specs (mitmproxy.net.server_spec): an upstream proxy or a
server, "[scheme://]host[:port][/]", as mitmproxy 12 parses them and as
mitmgo's upstream and reverse modes read them (internal/spec). A flow's
server_conn.via is a ServerSpec: (scheme, (host, port))."""
import functools
import ipaddress
import re

__all__ = ["ServerSpec", "parse"]

try:
    ServerSpec = tuple[str, tuple[str, int]]
except TypeError:  # Python 3.8: no subscripted builtins, and none needed
    ServerSpec = tuple

_SCHEMES = ("http", "https", "http3", "tls", "dtls", "tcp", "udp", "dns", "quic")
_DEFAULT_PORTS = {"http": 80, "https": 443, "quic": 443, "http3": 443, "dns": 53}

_spec_re = re.compile(
    r"""
        ^
        (?:(?P<scheme>\w+)://)?  # optional scheme
        (?P<host>[^:/]+|\[.+\])  # a name, an IPv4 address, or an IPv6 one in brackets
        (?::(?P<port>\d+))?      # optional port
        /?                       # a trailing slash, but no path
        $
    """,
    re.VERBOSE,
)

_label = re.compile(rb"[A-Z\d\-_]{1,63}$", re.IGNORECASE)


def _valid_host(host: str) -> bool:
    """A DNS name (letters, digits, "-" and "_" in each label; IDNA) or an
    IP address, as mitmproxy.net.check.is_valid_host."""
    try:
        b = host.encode("idna")
        b.decode("idna")
    except (UnicodeError, ValueError):
        return False
    if len(b) > 255:
        return False
    if b.endswith(b"."):
        b = b[:-1]
    if all(_label.match(x) for x in b.split(b".")):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


@functools.lru_cache
def parse(server_spec: str, default_scheme: str = "http") -> ServerSpec:
    """Parse a server spec such as "http://example.com/", "example.org" or
    "example.com:443" into (scheme, (host, port)).

    Raises ValueError when the spec is invalid, with mitmproxy's message."""
    m = _spec_re.match(server_spec)
    if not m:
        raise ValueError(f"Invalid server specification: {server_spec}")
    scheme = m.group("scheme") or default_scheme
    if scheme not in _SCHEMES:
        raise ValueError(f"Invalid server scheme: {scheme}")
    host = m.group("host")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _valid_host(host):
        raise ValueError(f"Invalid hostname: {host}")
    if m.group("port"):
        port = int(m.group("port"))
    else:
        try:
            port = _DEFAULT_PORTS[scheme]
        except KeyError:
            raise ValueError("Port specification missing.")
    if not 0 <= port <= 65535:
        raise ValueError(f"Invalid port: {port}")
    return scheme, (host, port)
