"""Domain names in record data, without compression (mitmproxy.net.dns.domain_names)."""
import struct


def pack(name: str) -> bytes:
    """A domain name as record data."""
    out = bytearray()
    if name:
        for part in name.split("."):
            label = part.encode("idna")
            if not label:
                raise ValueError("domain name '%s' contains empty labels" % name)
            if len(label) >= 64:
                raise ValueError("encoded label '%s' of domain name '%s' is too long (%d bytes)" % (part, name, len(label)))
            out.append(len(label))
            out += label
    out.append(0)
    return bytes(out)


def unpack_from(buffer: bytes, offset: int):
    """A domain name from record data at offset, and the offset after it."""
    labels = []
    while True:
        if offset >= len(buffer):
            raise struct.error("unpack requires a buffer of 1 bytes")
        size = buffer[offset]
        if size & 0xC0 == 0xC0:
            raise struct.error("unpack encountered a pointer which is not supported in RDATA")
        if size >= 64:
            raise struct.error("unpack encountered a label of length %d" % size)
        offset += 1
        if size == 0:
            break
        if len(buffer) < offset + size:
            raise struct.error("unpack requires a label buffer of %d bytes" % size)
        try:
            labels.append(buffer[offset:offset + size].decode("idna"))
        except UnicodeError:
            raise struct.error("unpack encountered an illegal characters at offset %d" % offset)
        offset += size
    return ".".join(labels), offset


def unpack(buffer: bytes) -> str:
    name, length = unpack_from(buffer, 0)
    if length != len(buffer):
        raise struct.error("unpack requires a buffer of %d bytes" % length)
    return name
