"""mitmgo's private glue: the pipe protocol, the script host and helpers
shared by the public mitmproxy modules. Nothing here is mitmproxy API."""
