"""Version information. mitmgo follows the scripting API of mitmproxy's
latest release (and the 0.18-era API of its seed)."""
VERSION = "12.2.3"
MITMGO = True
MITMPROXY = "mitmproxy " + VERSION + " (mitmgo)"
FLOW_FORMAT_VERSION = 21


def get_dev_version():
    return VERSION
