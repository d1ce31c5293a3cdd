"""Server connection hook data (mitmproxy.proxy.server_hooks)."""


class ServerConnectionHookData:
    """The argument of server_connect, server_connected, server_disconnected
    and server_connect_error."""

    def __init__(self, server, client):
        self.server = server
        self.client = client

    def __repr__(self):
        return "ServerConnectionHookData(server=%r, client=%r)" % (self.server, self.client)
