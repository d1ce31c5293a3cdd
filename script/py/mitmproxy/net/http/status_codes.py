"""HTTP status codes and reason phrases (mitmproxy.net.http.status_codes)."""
import http as _http

RESPONSES = {s.value: s.phrase for s in _http.HTTPStatus}
RESPONSES.setdefault(418, "I'm a teapot")
for _s in _http.HTTPStatus:
    globals()[_s.name] = _s.value
del _s
