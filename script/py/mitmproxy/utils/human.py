"""Human-readable sizes, durations, times and addresses, as
mitmproxy.utils.human gives them to scripts."""
import datetime
import ipaddress

SIZE_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def pretty_size(size):
    """A byte count in at most five characters: 512b, 1.5k, 120m."""
    if size < 1024:
        return "%sb" % size
    value = float(size)
    for suffix in "kmgt":
        value /= 1024
        if value < 99.95:
            return "%.1f%s" % (value, suffix)
        if value < 1024 or suffix == "t":
            return "%.0f%s" % (value, suffix)
    raise AssertionError("unreachable")


def parse_size(s):
    """A size with an optional b/k/m/g/t suffix; None stays None, anything
    else invalid raises ValueError."""
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    if s and s[-1] in SIZE_UNITS:
        try:
            return int(s[:-1]) * SIZE_UNITS[s[-1]]
        except ValueError:
            pass
    raise ValueError("Invalid size specification.")


def pretty_duration(secs):
    """Seconds as 120s, 12.5s, 1.25s or 250ms; None as ""."""
    if secs is None:
        return ""
    if secs >= 100:
        return "%.0fs" % secs
    if secs >= 10:
        return "%2.1fs" % secs
    if secs >= 1:
        return "%1.2fs" % secs
    return "%.0fms" % (secs * 1000)


def format_timestamp(s):
    return datetime.datetime.fromtimestamp(int(s)).strftime("%Y-%m-%d %H:%M:%S")


def format_timestamp_with_milli(s):
    return datetime.datetime.fromtimestamp(s).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def format_address(address):
    """host:port, [v6]:port, *:port for an unspecified address, and an
    IPv4-mapped IPv6 address as its IPv4 form."""
    if address is None:
        return "<no address>"
    host, port = address[0], address[1]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "%s:%s" % (host, port)
    if ip.is_unspecified:
        return "*:%s" % port
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "%s:%s" % (ip.ipv4_mapped, port)
    if ip.version == 6:
        return "[%s]:%s" % (ip, port)
    return "%s:%s" % (ip, port)
