"""DNS parameters and name encoding (mitmproxy.net.dns)."""
