"""0.18-era: netlib was mitmproxy's network library; scripts imported
Headers and friends from it."""
