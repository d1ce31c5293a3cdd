"""DNS flows (mitmproxy.dns): DNSFlow with its request and response
messages, their questions and resource records.

A DNSFlow handed to a hook carries its request and response as mitmproxy's
state dicts; a handler changes them in place or replaces them (the
dns-simple example sets ``flow.response = flow.request.succeed([...])``),
and mitmgo receives the messages whole when the hook returns.
"""
import base64
import itertools
import random
import struct
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar, List, Optional

from . import flow
from ._mitmgo.tnetstring import loads_part as loads
from .net.dns import classes, domain_names, op_codes, response_codes, types

__all__ = ["Question", "ResourceRecord", "DNSMessage", "Message", "DNSFlow",
           "classes", "domain_names", "op_codes", "response_codes", "types"]


def _s(v):
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v


@dataclass
class Question:
    HEADER: ClassVar[struct.Struct] = struct.Struct("!HH")

    name: str
    type: int
    class_: int

    def __str__(self):
        return self.name

    def get_state(self):
        return {"name": self.name, "type": self.type, "class_": self.class_}

    @classmethod
    def from_state(cls, state):
        return cls(name=_s(state["name"]), type=state["type"], class_=state["class_"])

    def to_json(self):
        return {"name": self.name, "type": types.to_str(self.type), "class": classes.to_str(self.class_)}


@dataclass
class ResourceRecord:
    DEFAULT_TTL: ClassVar[int] = 60
    HEADER: ClassVar[struct.Struct] = struct.Struct("!HHIH")

    name: str
    type: int
    class_: int
    ttl: int
    data: bytes

    def __str__(self):
        return str(self._data_json())

    @property
    def text(self):
        return self.data.decode("utf-8")

    @text.setter
    def text(self, value):
        self.data = value.encode("utf-8")

    @property
    def ipv4_address(self):
        return IPv4Address(self.data)

    @ipv4_address.setter
    def ipv4_address(self, ip):
        self.data = ip.packed

    @property
    def ipv6_address(self):
        return IPv6Address(self.data)

    @ipv6_address.setter
    def ipv6_address(self, ip):
        self.data = ip.packed

    @property
    def domain_name(self):
        return domain_names.unpack(self.data)

    @domain_name.setter
    def domain_name(self, name):
        self.data = domain_names.pack(name)

    def _data_json(self):
        try:
            if self.type == types.A:
                return str(self.ipv4_address)
            if self.type == types.AAAA:
                return str(self.ipv6_address)
            if self.type in (types.NS, types.CNAME, types.PTR):
                return self.domain_name
            if self.type == types.TXT:
                return self.text
            return "0x%s" % self.data.hex()
        except Exception:
            return "0x%s (invalid %s data)" % (self.data.hex(), types.to_str(self.type))

    def to_json(self):
        return {"name": self.name, "type": types.to_str(self.type), "class": classes.to_str(self.class_),
                "ttl": self.ttl, "data": self._data_json()}

    def get_state(self):
        return {"name": self.name, "type": self.type, "class_": self.class_, "ttl": self.ttl, "data": self.data}

    @classmethod
    def from_state(cls, state):
        return cls(name=_s(state["name"]), type=state["type"], class_=state["class_"], ttl=state["ttl"],
                   data=bytes(state["data"]))

    @classmethod
    def A(cls, name, ip, *, ttl=DEFAULT_TTL):
        """An IPv4 record."""
        return cls(name, types.A, classes.IN, ttl, ip.packed)

    @classmethod
    def AAAA(cls, name, ip, *, ttl=DEFAULT_TTL):
        """An IPv6 record."""
        return cls(name, types.AAAA, classes.IN, ttl, ip.packed)

    @classmethod
    def CNAME(cls, alias, canonical, *, ttl=DEFAULT_TTL):
        """A canonical name record."""
        return cls(alias, types.CNAME, classes.IN, ttl, domain_names.pack(canonical))

    @classmethod
    def PTR(cls, inaddr, ptr, *, ttl=DEFAULT_TTL):
        """A pointer record."""
        return cls(inaddr, types.PTR, classes.IN, ttl, domain_names.pack(ptr))

    @classmethod
    def TXT(cls, name, text, *, ttl=DEFAULT_TTL):
        """A text record (the text as it is, as mitmproxy writes it)."""
        return cls(name, types.TXT, classes.IN, ttl, text.encode("utf-8"))


_HEADER = struct.Struct("!HHHHHH")


def _read_name(buf, off, depth=0):
    """A possibly compressed name at off, and the offset after it."""
    labels = []
    while True:
        if off >= len(buf):
            raise struct.error("unpack requires a buffer of 1 bytes")
        size = buf[off]
        if size & 0xC0 == 0xC0:
            if depth > 64 or off + 2 > len(buf):
                raise struct.error("unpack encountered domain name loop")
            ptr = struct.unpack_from("!H", buf, off)[0] & 0x3FFF
            name, _ = _read_name(buf, ptr, depth + 1)
            if name:
                labels.append(name)
            return ".".join(labels), off + 2
        if size >= 64:
            raise struct.error("unpack encountered a label of length %d" % size)
        off += 1
        if size == 0:
            return ".".join(labels), off
        if off + size > len(buf):
            raise struct.error("unpack requires a label buffer of %d bytes" % size)
        labels.append(buf[off:off + size].decode("idna"))
        off += size


@dataclass
class DNSMessage:
    HEADER: ClassVar[struct.Struct] = _HEADER

    id: int
    query: bool
    op_code: int
    authoritative_answer: bool
    truncation: bool
    recursion_desired: bool
    recursion_available: bool
    reserved: int
    response_code: int
    questions: List[Question]
    answers: List[ResourceRecord]
    authorities: List[ResourceRecord]
    additionals: List[ResourceRecord]
    timestamp: Optional[float] = None

    def __str__(self):
        return "\r\n".join(map(str, itertools.chain(self.questions, self.answers, self.authorities,
                                                    self.additionals)))

    @property
    def content(self):
        return self.packed

    @property
    def question(self):
        """The only question, or None when there are none or several."""
        if len(self.questions) == 1:
            return self.questions[0]
        return None

    @property
    def size(self):
        return sum(len(x.data) for x in itertools.chain(self.answers, self.authorities, self.additionals))

    def fail(self, response_code):
        if response_code == response_codes.NOERROR:
            raise ValueError("response_code must be an error code.")
        return DNSMessage(timestamp=time.time(), id=self.id, query=False, op_code=self.op_code,
                          authoritative_answer=False, truncation=False,
                          recursion_desired=self.recursion_desired, recursion_available=False, reserved=0,
                          response_code=response_code, questions=self.questions, answers=[], authorities=[],
                          additionals=[])

    def succeed(self, answers):
        return DNSMessage(timestamp=time.time(), id=self.id, query=False, op_code=self.op_code,
                          authoritative_answer=False, truncation=False,
                          recursion_desired=self.recursion_desired, recursion_available=True, reserved=0,
                          response_code=response_codes.NOERROR, questions=self.questions, answers=answers,
                          authorities=[], additionals=[])

    @property
    def packed(self):
        """The message on the wire, without name compression."""
        for what, v, hi in (("id", self.id, 0xFFFF), ("op_code", self.op_code, 0xF),
                            ("response_code", self.response_code, 0xF)):
            if v < 0 or v > hi:
                raise ValueError("DNS message's %s %s is out of bounds." % (what, v))
        if self.reserved < 0 or self.reserved > 7:
            raise ValueError("DNS message's reserved value of %s is out of bounds." % self.reserved)
        flags = (0 if self.query else 1 << 15) | self.op_code << 11 | self.reserved << 4 | self.response_code
        for bit, on in ((10, self.authoritative_answer), (9, self.truncation), (8, self.recursion_desired),
                        (7, self.recursion_available)):
            if on:
                flags |= 1 << bit
        out = bytearray(_HEADER.pack(self.id, flags, len(self.questions), len(self.answers),
                                     len(self.authorities), len(self.additionals)))
        for q in self.questions:
            out += domain_names.pack(q.name) + Question.HEADER.pack(q.type, q.class_)
        for rr in itertools.chain(self.answers, self.authorities, self.additionals):
            out += domain_names.pack(rr.name) + ResourceRecord.HEADER.pack(rr.type, rr.class_, rr.ttl, len(rr.data))
            out += rr.data
        return bytes(out)

    @classmethod
    def unpack(cls, buffer, timestamp=None):
        """A message from its wire form (names decompressed; record data
        kept as it is)."""
        buffer = bytes(buffer)
        mid, flags, nq, na, nns, nad = _HEADER.unpack_from(buffer, 0)
        m = cls(timestamp=timestamp, id=mid, query=(flags & (1 << 15)) == 0, op_code=(flags >> 11) & 0xF,
                authoritative_answer=bool(flags & (1 << 10)), truncation=bool(flags & (1 << 9)),
                recursion_desired=bool(flags & (1 << 8)), recursion_available=bool(flags & (1 << 7)),
                reserved=(flags >> 4) & 7, response_code=flags & 0xF, questions=[], answers=[],
                authorities=[], additionals=[])
        off = _HEADER.size
        for _ in range(nq):
            name, off = _read_name(buffer, off)
            t, c = Question.HEADER.unpack_from(buffer, off)
            off += Question.HEADER.size
            m.questions.append(Question(name, t, c))
        for sec, n in ((m.answers, na), (m.authorities, nns), (m.additionals, nad)):
            for _ in range(n):
                name, off = _read_name(buffer, off)
                t, c, ttl, ln = ResourceRecord.HEADER.unpack_from(buffer, off)
                off += ResourceRecord.HEADER.size
                if off + ln > len(buffer):
                    raise struct.error("unpack requires a data buffer of %d bytes" % ln)
                sec.append(ResourceRecord(name, t, c, ttl, buffer[off:off + ln]))
                off += ln
        if off != len(buffer):
            raise struct.error("unpack requires a buffer of %d bytes" % off)
        return m

    def get_state(self):
        return {
            "id": self.id, "query": self.query, "op_code": self.op_code,
            "authoritative_answer": self.authoritative_answer, "truncation": self.truncation,
            "recursion_desired": self.recursion_desired, "recursion_available": self.recursion_available,
            "reserved": self.reserved, "response_code": self.response_code,
            "questions": [q.get_state() for q in self.questions],
            "answers": [r.get_state() for r in self.answers],
            "authorities": [r.get_state() for r in self.authorities],
            "additionals": [r.get_state() for r in self.additionals],
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_state(cls, state):
        return cls(
            id=state["id"], query=bool(state["query"]), op_code=state["op_code"],
            authoritative_answer=bool(state["authoritative_answer"]), truncation=bool(state["truncation"]),
            recursion_desired=bool(state["recursion_desired"]),
            recursion_available=bool(state["recursion_available"]), reserved=state["reserved"],
            response_code=state["response_code"],
            questions=[Question.from_state(q) for q in state.get("questions") or ()],
            answers=[ResourceRecord.from_state(r) for r in state.get("answers") or ()],
            authorities=[ResourceRecord.from_state(r) for r in state.get("authorities") or ()],
            additionals=[ResourceRecord.from_state(r) for r in state.get("additionals") or ()],
            timestamp=state.get("timestamp"),
        )

    def set_state(self, state):
        other = DNSMessage.from_state(state)
        self.__dict__.update(other.__dict__)

    def to_json(self):
        ret = {
            "id": self.id, "query": self.query, "op_code": op_codes.to_str(self.op_code),
            "authoritative_answer": self.authoritative_answer, "truncation": self.truncation,
            "recursion_desired": self.recursion_desired, "recursion_available": self.recursion_available,
            "response_code": response_codes.to_str(self.response_code),
            "status_code": response_codes.http_equiv_status_code(self.response_code),
            "questions": [q.to_json() for q in self.questions],
            "answers": [r.to_json() for r in self.answers],
            "authorities": [r.to_json() for r in self.authorities],
            "additionals": [r.to_json() for r in self.additionals],
            "size": self.size,
        }
        if self.timestamp:
            ret["timestamp"] = self.timestamp
        return ret

    def copy(self):
        # mitmproxy's copy: the same message with a new random id.
        st = self.get_state()
        st["id"] = random.randint(0, 65535)
        return DNSMessage.from_state(st)


# mitmproxy 9 to 11 called it Message.
Message = DNSMessage


def _message_state(raw):
    """A message's state as DNSMessage.get_state() writes it (None for None),
    from what mitmgo sent."""
    if raw is None:
        return None
    st = loads(raw)
    return DNSMessage.from_state(st).get_state() if st is not None else None


_UNSET = object()


class DNSFlow(flow.Flow):
    """One DNS query and its response."""

    type = "dns"

    __slots__ = ("_request", "_response", "_rq_raw", "_rs_raw", "_orig_rq", "_orig_rs", "_parts")

    def __init__(self, client_conn, server_conn, live=False):
        super().__init__(client_conn, server_conn, live)
        self._request = None
        self._response = None
        self._rq_raw = self._rs_raw = None
        self._orig_rq = self._orig_rs = None
        self._parts = True

    def _init_hook(self, call, env):
        super()._init_hook(call, env)
        self._rq_raw = env.get("rq")
        self._rs_raw = env.get("rs")
        self._request = self._response = None
        self._orig_rq = self._orig_rs = None
        self._parts = False

    def _load_parts(self):
        self._touched = True
        if self._parts:
            return
        self._parts = True
        self._orig_rq = _message_state(self._rq_raw)
        self._orig_rs = _message_state(self._rs_raw)
        self._request = DNSMessage.from_state(self._orig_rq) if self._orig_rq is not None else None
        self._response = DNSMessage.from_state(self._orig_rs) if self._orig_rs is not None else None

    @property
    def request(self):
        self._load_parts()
        return self._request

    @request.setter
    def request(self, value):
        self._load_parts()
        self._request = value

    @property
    def response(self):
        self._load_parts()
        return self._response

    @response.setter
    def response(self, value):
        self._load_parts()
        self._response = value

    @property
    def timestamp_start(self):
        rq = self.request
        if rq is not None and rq.timestamp:
            return rq.timestamp
        return self.timestamp_created

    def _changes(self):
        out = {}
        self._flow_changes(out)
        if self._parts and self._call is not None:
            rq = self._request.get_state() if self._request is not None else None
            if rq != self._orig_rq and rq is not None:
                out["request"] = rq
            rs = self._response.get_state() if self._response is not None else None
            if rs != self._orig_rs:
                out["response"] = rs
        if self._server_conn is not None:
            d = self._server_conn._changes()
            if d:
                out["server"] = d
        if self._actions:
            out["actions"] = list(self._actions)
        return out

    def _full_state(self):
        st = self._base_state()
        rq, rs = self.request, self.response
        st["request"] = rq.get_state() if rq is not None else None
        st["response"] = rs.get_state() if rs is not None else None
        return st

    def _set_parts(self, state):
        rq, rs = state.get("request"), state.get("response")
        self._parts = True
        self._request = DNSMessage.from_state(rq) if rq is not None else None
        self._response = DNSMessage.from_state(rs) if rs is not None else None

    def _reset(self):
        self._request = self._response = None
        self._orig_rq = self._orig_rs = None
        self._parts = False
        self._fl = None
        self._client_conn = self._server_conn = None
        self._actions = []

    def _apply(self, changes):
        from ._mitmgo.apply import apply_flow_fields

        apply_flow_fields(self, changes)
        if "request" in changes:
            self.request = DNSMessage.from_state(changes["request"])
        if "response" in changes:
            rs = changes["response"]
            self.response = DNSMessage.from_state(rs) if rs is not None else None
        srv = changes.get("server")
        if srv and self.server_conn is not None and "address" in srv:
            a = srv["address"]
            self.server_conn.address = tuple(a) if a else None

    def __repr__(self):
        return "<DNSFlow\r\n  request=%r\r\n  response=%r\r\n>" % (self.request, self.response)
