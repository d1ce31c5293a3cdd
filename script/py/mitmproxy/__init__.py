"""mitmgo's implementation of mitmproxy's scripting API.

mitmgo (mitmproxy rebuilt in Go) runs scripts in a Python child process and
provides this package to them; it follows mitmproxy's API over mitmproxy's
flow state. What is not supported yet raises an AttributeError saying so.
"""
