"""Raw TCP flows (mitmproxy.tcp)."""
from ._mitmgo.streamflow import Message, MessageFlow

__all__ = ["TCPMessage", "TCPFlow"]


class TCPMessage(Message):
    """One chunk of a TCP stream, as read."""


class TCPFlow(MessageFlow):
    """A TCP connection that is not HTTP."""

    type = "tcp"
    message_class = TCPMessage
    __slots__ = ()
