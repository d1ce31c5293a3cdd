from mitmproxy.http import Headers, Request, Response  # noqa: F401
from mitmproxy.net.http import status_codes  # noqa: F401
