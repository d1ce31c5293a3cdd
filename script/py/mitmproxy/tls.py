"""TLS hook data (mitmproxy.tls)."""
from ._mitmgo import runtime


class ClientHello:
    """What mitmgo read from a TLS ClientHello."""

    def __init__(self, sni=None, alpn_protocols=()):
        self.sni = sni
        self.alpn_protocols = list(alpn_protocols)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise runtime.not_supported("ClientHello", name)


class Context:
    """The connection context of a TLS hook: .client and .server."""

    def __init__(self, client, server):
        self.client = client
        self.server = server


class ClientHelloData:
    """tls_clienthello: set ignore_connection to pass the connection
    through undecrypted."""

    def __init__(self, context, client_hello, ignore_connection=False, establish_server_tls_first=False):
        self.context = context
        self.client_hello = client_hello
        self.ignore_connection = ignore_connection
        self.establish_server_tls_first = establish_server_tls_first


class TlsData:
    """tls_start/established/failed: the connection and its context."""

    def __init__(self, conn, context, ssl_conn=None, is_dtls=False):
        self.conn = conn
        self.context = context
        self.ssl_conn = ssl_conn
        self.is_dtls = is_dtls
