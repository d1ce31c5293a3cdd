"""Event hook names (mitmproxy.hooks): the handlers a script may define."""

_names = [
    "load", "configure", "running", "done", "update", "add_log",
    "client_connected", "client_disconnected",
    "server_connect", "server_connected", "server_disconnected", "server_connect_error",
    "requestheaders", "request", "responseheaders", "response", "error",
    "http_connect", "http_connect_upstream", "http_connected", "http_connect_error",
    "websocket_start", "websocket_message", "websocket_end",
    "tcp_start", "tcp_message", "tcp_end", "tcp_error",
    "udp_start", "udp_message", "udp_end", "udp_error",
    "dns_request", "dns_response", "dns_error",
    "tls_clienthello", "tls_start_client", "tls_start_server",
    "tls_established_client", "tls_established_server", "tls_failed_client", "tls_failed_server",
    "quic_start_client", "quic_start_server", "socks5_auth", "next_layer",
]

# Every hook by name (mitmproxy maps names to Hook classes).
all_hooks = {n: None for n in _names}


class Hook:
    name = ""

    def args(self):
        return list(vars(self).values())


# The 0.18-era events that later versions renamed or dropped; mitmgo calls
# the old names too.
legacy_hooks = {
    "clientconnect": "client_connected",
    "clientdisconnect": "client_disconnected",
    "serverconnect": "server_connected",
    "serverdisconnect": "server_disconnected",
    "start": None,
    "tick": None,
}
