"""UDP flows (mitmproxy.udp): the datagrams between a client address and
a server, as mitmproxy's reverse:udp mode records them."""
from ._mitmgo.streamflow import Message, MessageFlow

__all__ = ["UDPMessage", "UDPFlow"]


class UDPMessage(Message):
    """One datagram."""


class UDPFlow(MessageFlow):
    """A UDP session."""

    type = "udp"
    message_class = UDPMessage
    __slots__ = ()
