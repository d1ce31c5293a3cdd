"""DNS response codes (mitmproxy.net.dns.response_codes)."""
NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5
YXDOMAIN = 6
YXRRSET = 7
NXRRSET = 8
NOTAUTH = 9
NOTZONE = 10
DSOTYPENI = 11

_NAMES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
          "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI")
_STRINGS = dict(enumerate(_NAMES))
_INTS = {v: k for k, v in _STRINGS.items()}
# The HTTP status code each stands for (mitmweb shows it).
_CODES = {0: 200, 1: 400, 2: 500, 3: 404, 4: 501, 5: 403, 6: 409, 7: 409, 8: 410, 9: 401, 10: 404, 11: 501}


def http_equiv_status_code(response_code: int) -> int:
    return _CODES.get(response_code, 500)


def to_str(response_code: int) -> str:
    return _STRINGS.get(response_code, "RCODE(%d)" % response_code)


def from_str(response_code: str) -> int:
    try:
        return _INTS[response_code]
    except KeyError:
        return int(response_code.removeprefix("RCODE(").removesuffix(")"))
