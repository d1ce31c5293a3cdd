"""0.18-era names: mitmproxy.models (HTTPFlow, HTTPRequest, HTTPResponse,
Error, TCPFlow, make_error_response ...)."""
import html

from ..connection import Client as ClientConnection, Server as ServerConnection
from ..flow import Error
from ..http import HTTPFlow, HTTPRequest, HTTPResponse, Headers
from ..tcp import TCPFlow

__all__ = ["HTTPFlow", "HTTPRequest", "HTTPResponse", "Headers", "Error", "TCPFlow",
           "ClientConnection", "ServerConnection", "make_error_response", "make_connect_request",
           "make_connect_response"]


def make_error_response(status_code, message="", headers=None):
    from ..net.http.status_codes import RESPONSES

    reason = RESPONSES.get(status_code, "Unknown")
    body = """
        <html>
            <head>
                <title>%d %s</title>
            </head>
            <body>%s</body>
        </html>
    """.strip() % (status_code, reason, html.escape(message))
    body = body.encode("utf8", "replace")
    if not headers:
        headers = Headers(Server="mitmproxy", Connection="close", Content_Length=str(len(body)),
                          Content_Type="text/html")
    return HTTPResponse(b"HTTP/1.1", status_code, reason, headers, body)


def make_connect_request(address):
    host, port = address
    return HTTPRequest(host, port, b"CONNECT", b"", b"%s:%d" % (host.encode(), port), b"", b"HTTP/1.1",
                       Headers(), b"")


def make_connect_response(http_version):
    headers = Headers(Content_Length="0", Proxy_Agent="mitmproxy")
    return HTTPResponse(http_version, 200, b"Connection established", headers, b"")
