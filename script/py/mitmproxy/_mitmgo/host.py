"""mitmgo's Python script host.

mitmgo starts one python3 child for all scripts and talks to it over two
pipes: it writes to file descriptor 3 and reads from 4 (stdout and stderr stay
free for the scripts' print()). Each message is one dict, framed as a
tnetstring item: a tnetstring dict, or a bytes item holding the dict in
marshal's format (version 2), which marshal decodes and encodes in C, ten
times faster than tnetstring.py. mitmgo sends its messages that way; the host
replies to hook calls and chunks that way (Host.reply), everything else as
tnetstrings. The parts of a flow in a hook call are marshal data, or
tnetstrings when mitmgo could not marshal them (tnetstring.loads_part).

The main thread runs an asyncio loop that also reads the pipe, so one thread
takes a plain hook call from the bytes in to the reply out. Handlers run on
that loop one at a time, in order, as in mitmproxy; ``async def`` handlers
are awaited there, and ``@concurrent`` handlers run on a thread pool so they
do not hold up other flows. Several hook calls can therefore be in progress
at once; each has its own id.

Protocol, mitmgo -> host (all with "cmd" and, if they need an answer, "id"):
  init        options: every option's value
  load        sid, path, argv, name: (re)load a script (done on the old one);
              oneshot: kept out of the order (script.run), reached by
              hook calls that name it in "sids"
  unload      sid
  order       sids: the scripts' order
  configure   updated: option names, options: their values, sids: scripts
              (all if absent), load: bool (errors are load errors)
  options     options: values only (a rejected change rolled back)
  running     sids (all if absent)
  done
  hook        hook: name, fid, live, and the flow's parts as nested
              tnetstrings: f (flow fields), rq, rs (HTTP or DNS messages),
              ws, tm (TCP and UDP messages; ws with large messages is
              the dict itself, so that they are copied once),
              cc, sc (connections); lazy: parts whose body was left out
              (fetched on first use); wsbase: how many WebSocket messages
              the host has from earlier calls (ws carries the others);
              hook-specific extras (sni, alpn ...); sids: only these
              scripts' handlers run (script.run). rq and rs carry
              "stream": True when the body will be streamed.
  chunk       fid, part (rq or rs), data: one chunk of a streamed body for
              the stream callable a handler set; the reply's data is what
              is sent on (an empty chunk marks the end)
  forget      fid, ws (its close fields): mitmgo is done with the flow;
              its stream callables and WebSocket messages go
  reply       rid, data or err: the answer to a request of ours
  command     name, args: run a script's command (flows as hook envelopes);
              the reply's ret is its result, changes {fid: changes}
  cvprio, cvrender  name, data, content_type: a script's content view

host -> mitmgo:
  ret         id, and for hooks changes: what handlers changed (see
              changes.go); for lifecycle commands hooks: the hooks scripts
              define, hook_scripts: {hook: [script names]}, ok, options
              (declarations from load), err
  log         level, msg, script: whether the script wrote it
  req         rid, call (0: none), op: body (part, fid), codec (dir, enc,
              data), filter (expr, parse, state, fid), ws (every WebSocket
              message of the call's flow), command (name, args, strings),
              execute (cmdstr), cmdlist, addon (name), viewlen, viewat
              (index), readflows (data, har); mitmgo answers with a reply.
              A request made from a handler names the call in progress
              (runtime.current_call); while this thread waits for the
              answer, "command" messages are run at once (nested calls)
  set_options options; shutdown; flowop fid, op (after a hook returned);
  views       views: [name, syntax] of the scripts' content views
  overdue     id, script, hook, secs: a handler of that hook call ran past
              script_hook_timeout (sent by the watchdog thread; the handler
              is then interrupted)
  beat        nothing: the watchdog is alive (every second while
              script_hook_timeout is set)

The watchdog thread (Host.watch) does what the busy main thread cannot: it
exits the process at once when mitmgo goes away (its end of fd 3 closes, or
our parent changes), and enforces script_hook_timeout.
"""
import asyncio
import collections
import concurrent.futures
import inspect
import itertools
import marshal
import os
import select
import selectors
import signal
import sys
import threading
import time
import traceback

from .. import connection as _connection
from .. import exceptions
from .. import http as _http
from .. import tcp as _tcp
from . import runtime, tnetstring

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Hooks that get an HTTPFlow.
HTTP_HOOKS = {
    "requestheaders", "request", "responseheaders", "response", "error",
    "http_connect", "http_connect_upstream", "http_connected", "http_connect_error",
    "websocket_start", "websocket_message", "websocket_end",
}
TCP_HOOKS = {"tcp_start", "tcp_message", "tcp_end", "tcp_error"}
UDP_HOOKS = {"udp_start", "udp_message", "udp_end", "udp_error"}
DNS_HOOKS = {"dns_request", "dns_response", "dns_error"}
CLIENT_HOOKS = {"client_connected", "client_disconnected"}
SERVER_HOOKS = {"server_connect", "server_connected", "server_disconnected", "server_connect_error"}
TLS_HOOKS = {"tls_start_client", "tls_start_server", "tls_established_client", "tls_established_server",
             "tls_failed_client", "tls_failed_server"}
LIFECYCLE = {"load", "configure", "running", "done"}
# 0.18-era names and the hook they ride on.
LEGACY = {"clientconnect": "client_connected", "clientdisconnect": "client_disconnected",
          "serverconnect": "server_connected", "serverdisconnect": "server_disconnected"}
_LEGACY_OF = {}
for _k, _v in LEGACY.items():
    _LEGACY_OF.setdefault(_v, []).append(_k)
# Whether each cmd_ method of Host is a coroutine function, as dispatch
# learns them.
_CMD_ASYNC = {}
# Hooks after which mitmgo will not send the flow again.
FINAL_HOOKS = {"error", "http_connected", "http_connect_error", "websocket_end", "tcp_end", "tcp_error",
               "udp_end", "udp_error", "dns_response", "dns_error"}
# Every name looked up on scripts.
HOOK_NAMES = sorted(HTTP_HOOKS | TCP_HOOKS | UDP_HOOKS | DNS_HOOKS | CLIENT_HOOKS | SERVER_HOOKS | TLS_HOOKS | {"tls_clienthello"}
                    | LIFECYCLE | set(LEGACY) | {"tick"})

_HALT = object()
_monotonic = time.monotonic
_HTTPFlow = _http.HTTPFlow
_current_call = runtime.current_call
# os.readv reads into the host's buffer (None where it is missing: a read
# then copies).
_readv = getattr(os, "readv", None)
# Room the read buffer keeps between messages: what one read of a full
# pipe takes (mitmgo's pipes hold 1 MiB, _grow_pipes).
_RBUF_KEEP = (1 << 20) + (1 << 16)
# The keys of a hook's changes whose values the host builds itself (so
# that marshal carries them as a tnetstring would).
_MARSHAL_SAFE = frozenset(("request", "response", "websocket", "messages", "actions", "server", "client", "error",
                           "ignore_connection", "establish_server_tls_first"))
_TIMED_OUT = object()
# Messages up to this size are sliced out of the read buffer for decoding
# (a copy), larger ones decoded through a memoryview.
_SLICE_MAX = 16 << 10
_STICKY_MAX = 10000


class HookTimeout(BaseException):
    """Raised inside a handler that ran past script_hook_timeout. A
    BaseException, so that a script's ``except Exception`` lets it through."""


def _clean_tb(tb):
    """Drop the host's own frames (and importlib's) from a traceback, so it
    starts where the script's code does."""
    first = tb
    while tb is not None:
        fn = tb.tb_frame.f_code.co_filename
        if not (fn.startswith(_HERE) or fn.startswith("<frozen")):
            return tb
        tb = tb.tb_next
    return first


def format_exc(e):
    return "".join(traceback.format_exception(type(e), e, _clean_tb(e.__traceback__)))


class Call:
    """One hook call from mitmgo, in progress until its reply is sent.

    While one of its handlers runs, t0 is when it started (the watchdog
    reads these fields from its own thread): script, kind ("sync", "async"
    or "concurrent"), frame (the frame of invoke or ainvoke running it: the
    main thread is inside the handler exactly when this frame is on its
    stack), thread (the pool thread of a @concurrent handler)."""

    # Class-level defaults rather than slots: a call is made for every
    # hook, and two attribute stores cost less than fourteen.
    finished = False
    fetched = None  # {part: body} fetched on demand (_Source)
    script = None
    kind = None
    t0 = None
    frame = None
    thread = None
    task = None
    overdue = False
    nudged = 0.0
    nudges = 0
    # The flow this call's requests are about, when there are several
    # (the flows of a command mitmgo runs in a script).
    fid = None

    def __init__(self, cid, hook=None):
        self.id = cid
        self.hook = hook

    def running(self, script, kind, frame):
        self.script = script
        self.kind = kind
        self.frame = frame
        self.t0 = time.monotonic()

    def idle(self):
        self.t0 = None
        self.frame = None

    def source(self, part):
        return _Source(self, part)


class _Source:
    """Fetches a body mitmgo left out of a hook call."""

    __slots__ = ("call", "part")

    def __init__(self, call, part):
        self.call = call
        self.part = part

    def cached(self):
        f = self.call.fetched
        return f.get(self.part) if f is not None else None

    def fetch(self):
        c = self.call
        if c.fetched is None:
            c.fetched = {}
        elif self.part in c.fetched:
            return c.fetched[self.part]
        if c.finished:
            raise RuntimeError(
                "mitmgo: this body was not sent with the hook call and can no longer be fetched, "
                "because the hook has returned; read it inside the handler"
            )
        if c.fid is not None:
            data = runtime.request("body", call=c.id, part=self.part, fid=c.fid)
        else:
            data = runtime.request("body", call=c.id, part=self.part)
        c.fetched[self.part] = data
        return data


class Script:
    """One -s script: its module (or the object start() returned)."""

    def __init__(self, sid, path, argv, name):
        self.sid = sid
        self.path = path
        self.argv = argv
        self.name = name
        self.ns = None
        self.declared = []
        # Commands: what loader.add_command added, and every command of
        # the script by name (commands.Entry).
        self.added_commands = []
        self.commands = {}
        self.dir = os.path.dirname(os.path.abspath(path))

    def addons(self):
        from ..addonmanager import traverse

        return list(traverse([self.ns])) if self.ns is not None else []


class _Loop(asyncio.SelectorEventLoop):
    """asyncio's event loop with a short turn for the host's usual wait:
    nothing to run, no timer, and the pipe from mitmgo the only thing that
    becomes ready. asyncio's turn (_run_once, the selector's select,
    _process_events, the ready queue) costs each hook call about as many
    interpreter steps as the hook's own dispatch (callgrind on the python3
    child); the short turn is one epoll wait and the pipe's handler run as
    asyncio runs it (Handle._run: same context, same error handling). Any
    other case takes asyncio's own turn, which polls again and sees
    everything (the epoll set is level-triggered)."""

    _fast = None  # (epoll object, fd, its reader Handle)

    def fast_reader(self, fd):
        """Take the short turn for the reader registered on fd (an epoll
        selector only: elsewhere every turn is asyncio's)."""
        sel = self._selector
        ep = getattr(sel, "_selector", None)
        if not isinstance(sel, selectors.EpollSelector) or not isinstance(ep, select.epoll):
            return
        # asyncio registers a reader as (its Handle, the writer's or None);
        # anything else (another Python's asyncio) keeps asyncio's turn.
        data = sel.get_key(fd).data
        if isinstance(data, tuple) and data and isinstance(data[0], asyncio.Handle):
            self._fast = (ep, fd, data[0])

    def _run_once(self):
        fast = self._fast
        if fast is None or self._ready or self._scheduled or self._stopping or self._debug:
            return super()._run_once()
        ep, fd, handle = fast
        if handle._cancelled:
            # The reader was removed (the input ended).
            self._fast = None
            return super()._run_once()
        events = ep.poll(-1, 2)
        if len(events) == 1 and events[0][0] == fd:
            handle._run()
            return
        # Something else is ready (the loop's self-pipe: a thread's
        # call_soon_threadsafe; a script's socket).
        super()._run_once()


class Host:
    def __init__(self, rfd, wfd):
        self.rfd = rfd
        self.wfd = wfd
        self.wlock = threading.Lock()
        self.loop = _Loop() if sys.platform != "win32" else asyncio.new_event_loop()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="concurrent")
        self.loop.set_default_executor(self.executor)
        self.pending = {}
        self.plock = threading.Lock()
        self.rids = itertools.count(1)
        self.scripts = {}
        self.order = []
        self.is_running = False
        self.hookmap = {}
        # {hook name: its handlers as _plan makes them}, from hookmap.
        self.plans = {}
        # The scripts' commands by name (commands.Entry), later scripts
        # winning.
        self.commands = {}
        self.sticky = collections.OrderedDict()
        self.closed = False
        self.tick_handle = None
        # The read buffer: its first rlen bytes are read and not yet
        # decoded; need is how many more the message they begin lacks.
        self.rbuf = bytearray(1 << 16)
        # A view of rbuf for the reads, made once: rbuf is never resized in
        # place (it is replaced when it grows, and moving the start of a
        # message to the front keeps its size), so the view stays valid.
        self.rview = memoryview(self.rbuf)
        self.rlen = 0
        self.need = 0
        # A message larger than _RBUF_KEEP, being read into a buffer of its
        # own: big, its first big_len bytes filled.
        self.big = None
        self.big_len = 0
        self.inbox = collections.deque()
        self.draining = False
        self.loop_thread = threading.get_ident()
        # Hook calls in progress, by id (read by the watchdog thread: plain
        # dict operations and list(values()) are atomic under the GIL).
        self.calls = {}
        # The frame the SIGINT handler interrupts when the main thread is
        # inside it (a handler past script_hook_timeout).
        self.interrupt_frame = None
        # Serialises raising HookTimeout in a @concurrent handler's thread
        # with that thread leaving the handler.
        self.tlock = threading.Lock()
        self.exiting = threading.Event()

    # Wire ---------------------------------------------------------------

    def send(self, msg):
        self.send_data(tnetstring.dumps(msg))

    def send_parts(self, parts):
        """Write the pieces of one message (writev: no copy to join them)."""
        writev = getattr(os, "writev", None)
        if writev is None or len(parts[1]) < 4096:
            self.send_data(b"".join(parts))
            return
        total = sum(map(len, parts))
        with self.wlock:
            n = writev(self.wfd, parts)
            if n < total:
                view = memoryview(b"".join(parts))[n:]
                while view:
                    n = os.write(self.wfd, view)
                    view = view[n:]

    def send_data(self, data):
        with self.wlock:
            # One write takes all of a message the pipe has room for (the
            # common case): no memoryview unless it did not.
            n = os.write(self.wfd, data)
            if n < len(data):
                view = memoryview(data)[n:]
                while view:
                    n = os.write(self.wfd, view)
                    view = view[n:]

    def log(self, level, msg, from_script):
        try:
            self.send({"cmd": "log", "level": level, "msg": msg, "script": bool(from_script)})
        except OSError:
            pass

    def request(self, op, call=0, **kw):
        """Ask mitmgo for something and wait for the answer. On the loop's
        thread this reads the pipe itself (queueing other messages); other
        threads wait for the loop's thread to deliver the answer."""
        rid = next(self.rids)
        slot = [threading.Event(), None, None]
        with self.plock:
            if self.closed:
                raise RuntimeError("mitmgo: the connection to mitmgo is closed")
            self.pending[rid] = slot
        msg = {"cmd": "req", "rid": rid, "call": call, "op": op}
        msg.update(kw)
        self.send(msg)
        if threading.get_ident() == self.loop_thread:
            try:
                while not slot[0].is_set():
                    select.select([self.rfd], [], [])
                    self.read_available()
                    if self.inbox:
                        self.nested_commands()
            except BaseException:
                # Interrupted (a handler past script_hook_timeout): the
                # answer, when it comes, is dropped.
                with self.plock:
                    self.pending.pop(rid, None)
                raise
            finally:
                if self.inbox:
                    self.loop.call_soon(self.drain)
        else:
            slot[0].wait()
        if slot[2] is not None:
            raise RuntimeError("mitmgo: %s" % slot[2])
        return slot[1]

    def nested_commands(self):
        """Run the script commands mitmgo sent while this thread waits for
        an answer: the command it asked for may be one of them, or call
        one (a hook calling a command that calls back into a script, as
        mitmproxy allows). Everything else waits its turn."""
        inbox = self.inbox
        if not any(m.get("cmd") == "command" for m in inbox):
            return
        cmds = [m for m in inbox if m.get("cmd") == "command"]
        rest = [m for m in inbox if m.get("cmd") != "command"]
        inbox.clear()
        inbox.extend(rest)
        for m in cmds:
            self.dispatch(m)

    def flowop(self, fid, op):
        self.send({"cmd": "flowop", "fid": fid, "op": op})

    def on_readable(self):
        self.read_available()
        self.drain()

    def read_available(self):
        """Read what the pipe holds (it is non-blocking); answers to our
        requests are delivered at once, everything else queued in order.

        The pipe is read into one buffer that lives as long as the host
        (rbuf, its first rlen bytes filled), with readv: no bytes object
        per read to copy again, and no fresh memory (page faults) for each
        message. rbuf grows as messages need, up to _RBUF_KEEP, and never
        beyond: a larger message is read into a buffer of its own (big),
        exactly its size, which goes once the message is decoded. A message
        that is not complete yet is read on at once, not on the loop's next
        turn: its rest is usually in the pipe already (mitmgo writes a
        message in one writev)."""
        while True:
            big = self.big
            if big is not None:
                # The rest of a large message, and nothing after it.
                target, filled = big, self.big_len
            else:
                target, filled = self.rbuf, self.rlen
                if len(target) - filled < max(self.need, 4096):
                    try:
                        room = self._make_room()
                    except (MemoryError, OverflowError):
                        # A length no message of mitmgo's has (a corrupt
                        # stream): end, as for any bad input.
                        self.eof("bad message from mitmgo: %d bytes do not fit in memory" % (self.rlen + self.need))
                        return
                    if not room:
                        continue
                target = self.rbuf
            free = len(target) - filled
            try:
                if _readv is not None:
                    if big is None:
                        got = _readv(self.rfd, (self.rview[filled:],))
                    else:
                        with memoryview(target) as mv, mv[filled:] as tail:
                            got = _readv(self.rfd, (tail,))
                else:
                    chunk = os.read(self.rfd, free)
                    got = len(chunk)
                    target[filled:filled + got] = chunk
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError as e:
                self.eof("reading from mitmgo failed: %s" % e)
                return
            if not got:
                self.eof(None)
                return
            if big is not None:
                self.big_len += got
                if self.big_len < len(big):
                    continue
                self.big = None
                if self.parse_messages(big, len(big)) is None or self.closed:
                    return
                continue
            self.rlen += got
            if self.parse_rbuf():
                return
            if self.need <= 0 and got < free:
                # Every message complete and the pipe (most likely)
                # empty.
                break

    def _make_room(self):
        """Room in rbuf for the message being read (need more bytes) or
        for a good read. Returns False when the message goes to a buffer
        of its own instead (big): the caller reads into that."""
        buf, rlen, need = self.rbuf, self.rlen, self.need
        if rlen + need > _RBUF_KEEP:
            # rbuf holds the start of this message only (parse_rbuf moves
            # it to the front): it moves to a buffer of its size.
            big = bytearray(rlen + need)
            big[:rlen] = self.rview[:rlen]
            self.big, self.big_len = big, rlen
            self.rlen = self.need = 0
            return False
        size = min(max(2 * len(buf), rlen + need + 4096), _RBUF_KEEP)
        if size > len(buf):
            # A new buffer and one copy of what it holds (extending in
            # place would build a zero-filled temporary of the growth).
            nbuf = bytearray(size)
            nbuf[:rlen] = self.rview[:rlen]
            self.rview.release()
            self.rbuf = nbuf
            self.rview = memoryview(nbuf)
        return True

    def parse_rbuf(self):
        """Decode the complete messages in rbuf and move the start of an
        incomplete one to the front. Returns whether the host must stop
        reading (its input ended badly)."""
        buf, n = self.rbuf, self.rlen
        self.need = 0
        pos = self.parse_messages(buf, n)
        if pos is None:
            return True
        if pos:
            rest = n - pos
            if rest:
                buf[:rest] = buf[pos:n]
            self.rlen = rest
        return self.closed

    def parse_messages(self, buf, n):
        """Decode the complete messages in buf[:n]; returns the offset of
        the first incomplete one (setting need to the bytes it lacks, when
        its length is known), or None when the input is bad (the host
        stops)."""
        pos = 0
        parse = tnetstring.parse
        loads_marshal = marshal.loads
        while pos < n:
            i = buf.find(b":", pos, min(n, pos + 21))
            if i < 0:
                if n - pos > 20:
                    self.eof("bad message from mitmgo")
                    return None
                break
            ln = buf[pos:i]
            if not ln.isdigit():
                self.eof("bad message from mitmgo: length %r" % bytes(ln[:20]))
                return None
            end = i + 1 + int(ln) + 1
            if end > n:
                self.need = end - n
                break
            try:
                if buf[end - 1] == 44:
                    # A bytes item: marshal data (mitmgo's pywire.go).
                    if end - i < _SLICE_MAX:
                        # A small message: a copy of it costs less than the
                        # two memoryviews (and their releases) below.
                        msg = loads_marshal(buf[i + 1:end - 1])
                    else:
                        # Decoded in place (marshal copies the values out).
                        with memoryview(buf) as mv, mv[i + 1:end - 1] as data:
                            msg = loads_marshal(data)
                    pos = end
                else:
                    # Parsed in place, within this message: values are
                    # copied out of the buffer once.
                    msg, pos = parse(buf, pos, end)
            except (ValueError, EOFError, TypeError) as e:
                self.eof("bad message from mitmgo: %s" % e)
                return None
            if type(msg) is not dict:
                self.eof("bad message from mitmgo: a %s" % type(msg).__name__)
                return None
            if msg.get("cmd") == "reply":
                with self.plock:
                    slot = self.pending.pop(msg.get("rid"), None)
                if slot is not None:
                    slot[1] = msg.get("data")
                    slot[2] = msg.get("err")
                    slot[0].set()
                continue
            self.inbox.append(msg)
        return pos

    def drain(self):
        """Dispatch queued messages in order."""
        if self.draining:
            return
        self.draining = True
        try:
            inbox = self.inbox
            while inbox:
                self.dispatch(inbox.popleft())
        finally:
            self.draining = False

    def eof(self, why):
        if why:
            self.log("error", "mitmgo script host: %s" % why, False)
        try:
            self.loop.remove_reader(self.rfd)
        except Exception:
            pass
        with self.plock:
            self.closed = True
            for slot in self.pending.values():
                slot[2] = "the connection to mitmgo closed"
                slot[0].set()
            self.pending.clear()
        self.inbox.clear()
        self.loop.stop()

    # Watchdog -----------------------------------------------------------

    def watch(self):
        """The watchdog thread. Exits the process as soon as mitmgo is gone,
        whatever the main thread is doing (a handler in an endless loop keeps
        it from ever reading the EOF), and enforces script_hook_timeout."""
        from .. import ctx

        ppid = os.getppid()
        # Mask 0: poll reports only POLLHUP/POLLERR, which a pipe's read end
        # gets when every writer is gone: mitmgo closed it or died.
        poller = select.poll()
        poller.register(self.rfd, 0)
        last_beat = 0.0
        while True:
            limit = ctx.options._values.get("script_hook_timeout") or 0
            busy = bool(limit > 0 and self.calls)
            if poller.poll(100 if busy else 1000) or os.getppid() != ppid:
                self.parent_gone()
            if limit <= 0:
                continue
            now = time.monotonic()
            if now - last_beat >= 1.0:
                # Also while idle or in a long lifecycle handler (a script's
                # load()), with hook calls queued behind it: mitmgo must not
                # take a busy host for a frozen one.
                last_beat = now
                self.send_quiet({"cmd": "beat"})
            for c in list(self.calls.values()):
                self.check_call(c, now, limit)

    def parent_gone(self):
        # Without a hook running, the main thread reads the EOF itself and
        # is on its way out through main()'s finally (which ends in
        # os._exit): leave it the time to finish. Otherwise exit now.
        if not self.calls and self.exiting.wait(0.5):
            time.sleep(5)
        os._exit(0)

    def check_call(self, c, now, limit):
        t0 = c.t0
        if t0 is None or c.finished:
            return
        if not c.overdue:
            if now - t0 < limit:
                return
            c.overdue = True
            script = c.script
            self.send_quiet({"cmd": "overdue", "id": c.id, "hook": c.hook, "secs": limit,
                             "script": script.name if script is not None else ""})
        elif now - c.nudged < 1.0:
            return
        c.nudged = now
        c.nudges += 1
        if c.kind == "concurrent":
            with self.tlock:
                if c.thread is not None:
                    _async_raise(c.thread, HookTimeout)
            return
        if c.kind == "async" and c.task is not None:
            # Awaiting: cancel the task (the loop is free to run that).
            try:
                self.loop.call_soon_threadsafe(c.task.cancel)
            except RuntimeError:
                pass
        frame = c.frame
        if frame is None:
            return
        if c.nudges > 3 and self.main_inside(frame):
            # A handler that ignores HookTimeout holds up every flow: the
            # host exits, and mitmgo restarts it (the flows in progress are
            # killed).
            self.log("error", "in script %s: the %s handler does not stop after %d s "
                              "(script_hook_timeout); restarting the script host"
                     % (c.script.name if c.script is not None else "?", c.hook, limit), False)
            os._exit(70)
        self.interrupt_frame = frame
        try:
            signal.pthread_kill(self.loop_thread, signal.SIGINT)
        except (AttributeError, OSError, ValueError):
            pass

    def main_inside(self, frame):
        f = sys._current_frames().get(self.loop_thread)
        while f is not None:
            if f is frame:
                return True
            f = f.f_back
        return False

    def send_quiet(self, msg):
        try:
            self.send(msg)
        except (OSError, ValueError):
            pass

    # Dispatch -----------------------------------------------------------

    def dispatch(self, msg):
        cmd = msg.get("cmd")
        if cmd == "hook":
            # The hot message: straight to its (sync) handler.
            try:
                self.cmd_hook(msg)
            except Exception as e:
                self.log("error", "mitmgo script host: hook failed: %s" % format_exc(e), False)
                self.reply(msg.get("id"), err=str(e))
            return
        cid = msg.get("id")
        try:
            fn = getattr(self, "cmd_" + cmd)
        except (AttributeError, TypeError):
            self.reply(cid, err="unknown command %r" % (cmd,))
            return
        is_async = _CMD_ASYNC.get(cmd)
        if is_async is None:
            is_async = _CMD_ASYNC[cmd] = inspect.iscoroutinefunction(fn)
        if is_async:
            self.loop.create_task(self._guard(cmd, cid, fn(msg)))
            return
        try:
            fn(msg)
        except Exception as e:
            self.log("error", "mitmgo script host: %s failed: %s" % (cmd, format_exc(e)), False)
            self.reply(cid, err=str(e))

    async def _guard(self, cmd, cid, coro):
        try:
            await coro
        except Exception as e:
            self.log("error", "mitmgo script host: %s failed: %s" % (cmd, format_exc(e)), False)
            self.reply(cid, err=str(e))

    def reply(self, cid, **kw):
        if cid is None:
            return
        msg = {"cmd": "ret", "id": cid}
        msg.update(kw)
        ch = kw.get("changes")
        if len(kw) == 1 and ((ch is not None and _MARSHAL_SAFE.issuperset(ch)) or type(kw.get("data")) is bytes):
            # A hook's changes or a stream chunk: marshal, which mitmgo
            # decodes (pywire.go) and which costs a tenth of a tnetstring.
            # Fields a script may set to anything (metadata, comment ...)
            # go the tnetstring way, whose errors are reported below.
            parts = tnetstring.dumps_reply(msg)
            if parts is not None:
                self.send_parts(parts)
                return
        try:
            self.send(msg)
        except tnetstring.TNetStringError as e:
            if "changes" in kw:
                self.log("error", "mitmgo: the changes to the flow cannot be sent (%s); "
                                  "flow metadata must hold only None, bool, int, float, str, bytes, list "
                                  "and dict values" % e, True)
                self.send({"cmd": "ret", "id": cid, "changes": _sendable(kw["changes"])})
            else:
                raise

    def hooks_defined(self):
        return sorted(self.hook_scripts())

    def hook_scripts(self):
        """{hook: names of the scripts that handle it}: mitmgo names them
        when a hook call fails without an answer (the host died)."""
        by = {}
        for name, entries in self.hookmap.items():
            if not entries or name == "tick":
                continue
            names = by.setdefault(LEGACY.get(name, name), [])
            for s, _, _ in entries:
                if s.name not in names:
                    names.append(s.name)
        return by

    def hooks_info(self):
        by = self.hook_scripts()
        return {"hooks": sorted(by), "hook_scripts": by}

    def rebuild_hooks(self):
        cmds = {}
        for sid in self.order:
            s = self.scripts.get(sid)
            if s is not None and s.ns is not None:
                cmds.update(s.commands)
        self.commands = cmds
        self.hookmap = self._hookmap(self.order)
        self.plans = {}
        self._schedule_tick()

    def _hookmap(self, sids):
        """{hook name: [(script, handler, kind)]} for the scripts sids."""
        m = {}
        for sid in sids:
            s = self.scripts.get(sid)
            if s is None or s.ns is None:
                continue
            for a in s.addons():
                for name in HOOK_NAMES:
                    fn = getattr(a, name, None)
                    if fn is None:
                        continue
                    if not callable(fn) or inspect.ismodule(fn) or inspect.isclass(fn):
                        continue
                    m.setdefault(name, []).append((s, fn, _kind(fn)))
        return m

    def _schedule_tick(self):
        if self.hookmap.get("tick") and self.tick_handle is None:
            self.tick_handle = self.loop.call_later(0.1, self._tick)

    def _tick(self):
        self.tick_handle = None
        for s, fn, _ in self.hookmap.get("tick", ()):
            self.invoke(s, fn, (), None, "tick")
        self._schedule_tick()

    def addon_by_name(self, name):
        from ..addonmanager import _get_name

        for sid in self.order:
            s = self.scripts.get(sid)
            if s is None:
                continue
            for a in s.addons():
                if _get_name(a) == name:
                    return a
        return None

    # Running handlers ---------------------------------------------------

    def invoke(self, script, fn, args, flow, hook, call=None):
        """Run one sync handler; returns its result, or _HALT."""
        # An untouched flow has nothing to roll back to (_snapshot's None),
        # which most handlers see: no call to find that out.
        snap = flow._snapshot() if flow is not None and flow._touched else None
        old = sys.argv
        sys.argv = script.argv
        tok = None
        if call is not None:
            # call.running(script, "sync", frame), in line.
            call.script = script
            call.kind = "sync"
            call.frame = sys._getframe()
            call.t0 = _monotonic()
            tok = _current_call.set(call)
        try:
            return fn(*args)
        except HookTimeout:
            # mitmgo killed the flow when the watchdog reported it.
            if flow is not None:
                flow._rollback(snap)
            return _HALT
        except exceptions.AddonHalt:
            return _HALT
        except SystemExit as e:
            self.log("error", "Script exited with code %s (in %s, %s)" % (e.code, script.name, hook), False)
            if flow is not None:
                flow._rollback(snap)
        except Exception as e:
            self.log("error", "Addon error: %s" % format_exc(e), False)
            if flow is not None:
                flow._rollback(snap)
        finally:
            if call is not None:
                call.t0 = None
                call.frame = None
                _current_call.reset(tok)
            sys.argv = old
        return None

    async def ainvoke(self, script, fn, kind, args, flow, hook, pending=None, call=None):
        """Run one handler of any kind (or finish an awaitable a sync
        handler returned)."""
        snap = flow._snapshot() if flow is not None else None
        old = sys.argv
        tok = None
        if call is not None:
            call.running(script, "async" if pending is not None else kind, sys._getframe())
            tok = runtime.current_call.set(call)
        try:
            if pending is not None:
                await pending
            elif kind == "concurrent":
                if await self.loop.run_in_executor(None, _run_thread, script.argv, fn, args, call) is _TIMED_OUT:
                    raise HookTimeout()
            else:
                sys.argv = script.argv
                res = fn(*args)
                if inspect.isawaitable(res):
                    await res
            return None
        except HookTimeout:
            if flow is not None:
                flow._rollback(snap)
            return _HALT
        except asyncio.CancelledError:
            if call is None or not call.overdue:
                raise
            if flow is not None:
                flow._rollback(snap)
            return _HALT
        except exceptions.AddonHalt:
            return _HALT
        except SystemExit as e:
            self.log("error", "Script exited with code %s (in %s, %s)" % (e.code, script.name, hook), False)
        except Exception as e:
            self.log("error", "Addon error: %s" % format_exc(e), False)
        finally:
            if call is not None:
                call.idle()
                runtime.current_call.reset(tok)
            sys.argv = old
        if flow is not None:
            flow._rollback(snap)
        return None

    # Commands -----------------------------------------------------------

    def cmd_init(self, msg):
        from .. import ctx

        ctx.options._set_from_go(msg.get("options") or {})
        self.reply(msg.get("id"), version=list(sys.version_info[:3]), pid=os.getpid(),
                   executable=sys.executable)

    async def cmd_load(self, msg):
        sid = msg["sid"]
        old = self.scripts.pop(sid, None)
        if old is not None:
            await self._done_script(old)
        s = Script(sid, msg["path"], list(msg.get("argv") or [msg["path"]]), msg.get("name") or msg["path"])
        self.scripts[sid] = s
        if sid not in self.order and not msg.get("oneshot"):
            # A one-shot script (script.run) gets only the hook calls
            # addressed to it ("sids").
            self.order.append(sid)
        ok = await self._load_script(s)
        descs = []
        if ok:
            from . import commands

            s.commands, descs = commands.collect(s, s.addons(), s.added_commands)
        self.rebuild_hooks()
        self.reply(msg.get("id"), ok=ok, options=s.declared, commands=descs, **self.hooks_info())

    async def _load_script(self, s):
        import importlib.util

        base = os.path.splitext(os.path.basename(s.path))[0]
        fullname = "__mitmproxy_script__." + base
        sys.modules.pop(fullname, None)
        oldpath = list(sys.path)
        oldargv = sys.argv
        sys.path.insert(0, s.dir)
        sys.argv = s.argv
        try:
            try:
                spec = importlib.util.spec_from_file_location(fullname, s.path)
                if spec is None or spec.loader is None:
                    raise ImportError("cannot load %s as a Python script" % s.path)
                mod = importlib.util.module_from_spec(spec)
                sys.modules[fullname] = mod
                spec.loader.exec_module(mod)
                if not getattr(mod, "name", None):
                    mod.name = s.path
            except SystemExit as e:
                sys.modules.pop(fullname, None)
                self.log("error", "in script %s: Script exited with code %s" % (s.name, e.code), False)
                return False
            except Exception as e:
                sys.modules.pop(fullname, None)
                self.log("error", _load_error(s.name, e), False)
                return False
            s.ns = mod
            # 0.18 era: start() may return the object that handles events,
            # and start is then called on that object too.
            start = getattr(mod, "start", None)
            if callable(start) and not inspect.isclass(start):
                try:
                    ret = start()
                    if ret is not None and ret is not mod:
                        s.ns = ret
                        start2 = getattr(ret, "start", None)
                        if callable(start2):
                            start2()
                except SystemExit as e:
                    self.log("error", "in script %s: Script exited with code %s" % (s.name, e.code), False)
                    s.ns = None
                    return False
                except Exception as e:
                    self.log("error", _load_error(s.name, e), False)
                    s.ns = None
                    return False
        finally:
            sys.path[:] = oldpath
            sys.argv = oldargv
        # The script's directory stays reachable for imports made later by
        # its handlers, behind everything else so that it shadows nothing.
        if s.dir not in sys.path:
            sys.path.append(s.dir)
        # load(loader) on the script and its addons.
        from ..addonmanager import Loader

        loader = Loader(s)
        for a in s.addons():
            fn = getattr(a, "load", None)
            if callable(fn) and not inspect.ismodule(fn):
                r = await self._call_lifecycle(s, fn, (loader,), "load")
                if r is False:
                    return False
        return True

    async def _call_lifecycle(self, s, fn, args, hook):
        """Run a lifecycle handler to completion (awaiting it if async);
        False if it failed. OptionsError passes through."""
        old = sys.argv
        sys.argv = s.argv
        try:
            res = fn(*args)
            if inspect.isawaitable(res):
                await res
            return True
        except exceptions.OptionsError:
            raise
        except exceptions.AddonHalt:
            return True
        except SystemExit as e:
            self.log("error", "Script exited with code %s (in %s, %s)" % (e.code, s.name, hook), False)
            return False
        except Exception as e:
            self.log("error", "Addon error: %s" % format_exc(e), False)
            return False
        finally:
            sys.argv = old

    async def _done_script(self, s):
        for a in s.addons():
            fn = getattr(a, "done", None)
            if callable(fn) and not inspect.ismodule(fn):
                await self._call_lifecycle(s, fn, (), "done")

    def cmd_command(self, msg):
        """mitmgo runs a command of a script."""
        from . import commands

        commands.run(self, msg)

    def cmd_cvprio(self, msg):
        """A script's content view: its render priority for data
        ("cvprio") or its output ("cvrender")."""
        from .. import contentviews

        cid = msg.get("id")
        try:
            out = contentviews._render(msg)
        except Exception as e:
            if msg.get("cmd") == "cvprio":
                self.log("error", "Addon error: %s" % format_exc(e), False)
            self.reply(cid, err="%s: %s" % (type(e).__name__, e))
            return
        self.reply(cid, data=out)

    cmd_cvrender = cmd_cvprio

    def cmd_order(self, msg):
        self.order = [x for x in msg.get("sids") or () if x in self.scripts]
        self.rebuild_hooks()
        self.reply(msg.get("id"), **self.hooks_info())

    def cmd_options(self, msg):
        """Option values only (a rejected change rolled back): no configure."""
        from .. import ctx

        try:
            ctx.options._set_from_go(msg.get("options") or {})
        except exceptions.OptionsError:
            pass

    async def cmd_unload(self, msg):
        s = self.scripts.pop(msg["sid"], None)
        if msg["sid"] in self.order:
            self.order.remove(msg["sid"])
        # script.run's one-shot scripts are dropped without done, as
        # mitmproxy's script_run never calls it.
        if s is not None and msg.get("done", True):
            await self._done_script(s)
        self.rebuild_hooks()
        self.reply(msg.get("id"), **self.hooks_info())

    async def cmd_configure(self, msg):
        from .. import ctx

        cid = msg.get("id")
        try:
            ctx.options._set_from_go(msg.get("options") or {})
        except exceptions.OptionsError as e:
            self.reply(cid, err=str(e))
            return
        _sync_log_level(ctx.options)
        updated = set(msg.get("updated") or ())
        sids = msg.get("sids")
        targets = [self.scripts[x] for x in (sids if sids is not None else self.order) if x in self.scripts]
        for s in targets:
            for a in s.addons():
                fn = getattr(a, "configure", None)
                if not callable(fn) or inspect.ismodule(fn):
                    continue
                args = (updated,)
                if _arity(fn) >= 2:
                    args = (ctx.options, updated)  # 0.18: configure(options, updated)
                try:
                    await self._call_lifecycle(s, fn, args, "configure")
                except exceptions.OptionsError as e:
                    if msg.get("load"):
                        self.log("error", "in script %s: %s" % (s.name, e), False)
                    self.rebuild_hooks()
                    self.reply(cid, err=str(e) or type(e).__name__, **self.hooks_info())
                    return
        self.rebuild_hooks()
        self.reply(cid, **self.hooks_info())

    async def _lifecycle_all(self, name, sids=None):
        for sid in list(sids if sids is not None else self.order):
            s = self.scripts.get(sid)
            if s is None:
                continue
            for a in s.addons():
                fn = getattr(a, name, None)
                if callable(fn) and not inspect.ismodule(fn):
                    await self._call_lifecycle(s, fn, (), name)

    async def cmd_running(self, msg):
        self.is_running = True
        await self._lifecycle_all("running", msg.get("sids"))
        self.rebuild_hooks()
        self.reply(msg.get("id"), **self.hooks_info())

    async def cmd_done(self, msg):
        await self._lifecycle_all("done")
        self.reply(msg.get("id"))

    def cmd_hook(self, msg):
        name = msg["hook"]
        cid = msg.get("id")
        # "sids": a call for those scripts only (script.run's one-shot).
        sids = msg.get("sids")
        if sids is None:
            plan = self.plans.get(name)
            if plan is None:
                plan = self.plans[name] = _plan(self.hookmap, name)
        else:
            plan = _plan(self._hookmap(sids), name)
        call = Call(cid, name)
        try:
            if name in HTTP_HOOKS:
                # _build's first case, in line: the hooks of nearly every
                # call.
                flow = obj = _HTTPFlow.__new__(_HTTPFlow)
                flow._init_hook(call, msg)
                if self.sticky:
                    self._restore(flow)
                args = legacy_args = (flow,)
            else:
                args, obj, flow, legacy_args = self._build(name, msg, call)
        except Exception as e:
            self.log("error", "mitmgo script host: cannot decode the %s event: %s" % (name, format_exc(e)), False)
            self.reply(cid)
            return
        if cid is not None:
            self.calls[cid] = call
        self._run_plan(plan, 0, None, args, legacy_args, flow, name, call, obj)

    def _run_plan(self, plan, start, pending, args, legacy_args, flow, hook, call, obj):
        """Run a hook's handlers from plan[start] on (pending: the awaitable
        the handler at start returned), then reply. Sync handlers run
        here; from the first that is not (or returns an awaitable) the
        rest run in a task."""
        if pending is None:
            invoke = self.invoke
            for i in range(start, len(plan)):
                s, fn, kind, legacy = plan[i]
                if kind != "sync":
                    call.task = self.loop.create_task(
                        self._run_plan_async(plan, i, None, args, legacy_args, flow, hook, call, obj))
                    return
                res = invoke(s, fn, legacy_args if legacy else args, flow, hook, call)
                if res is _HALT or call.overdue:
                    break
                if res is not None and inspect.isawaitable(res):
                    call.task = self.loop.create_task(
                        self._run_plan_async(plan, i, res, args, legacy_args, flow, hook, call, obj))
                    return
        self._hook_done(call, hook, obj, flow)

    async def _run_plan_async(self, plan, start, pending, args, legacy_args, flow, hook, call, obj):
        try:
            for i in range(start, len(plan)):
                s, fn, kind, legacy = plan[i]
                res = await self.ainvoke(s, fn, kind, legacy_args if legacy else args, flow, hook,
                                         pending if i == start else None, call)
                if res is _HALT or call.overdue:
                    break
        finally:
            self._hook_done(call, hook, obj, flow)

    def _hook_done(self, call, name, obj, flow):
        """A hook call's handlers are done: reply with the changes."""
        cid = call.id
        call.finished = True
        self.calls.pop(cid, None)
        if call.overdue:
            # mitmgo gave up on this call and killed the flow.
            self.reply(cid, changes={})
            return
        try:
            changes = flow._changes() if flow is not None else _changes(name, obj, None)
        except Exception as e:
            self.log("error", "mitmgo script host: collecting the changes of %s failed: %s"
                     % (name, format_exc(e)), False)
            changes = {}
        if flow is not None:
            if flow.__dict__ or self.sticky:
                self._stash(flow, name)
            if type(flow) is _HTTPFlow or isinstance(flow, _HTTPFlow):
                self._keep(flow, name)
        if cid is None:
            return
        if not changes:
            # Nothing changed (most calls of most hooks): a constant
            # reply but for the id.
            data = b"%b%b%b" % (_EMPTY_REPLY[0], marshal.dumps(cid, 2), _EMPTY_REPLY[1])
            self.send_data(b"%d:%b," % (len(data), data))
            return
        if _MARSHAL_SAFE.issuperset(changes):
            # The common reply, framed here in one piece (reply() is the
            # general way).
            try:
                data = marshal.dumps({"cmd": "ret", "id": cid, "changes": changes}, 2)
            except ValueError:
                data = None
            if data is not None:
                if len(data) < 4096:
                    self.send_data(b"%d:%b," % (len(data), data))
                else:
                    self.send_parts((b"%d:" % len(data), data, b","))
                return
        self.reply(cid, changes=changes)

    def _build(self, name, msg, call):
        """The handler arguments for a hook: (args, changed-object, flow,
        args for the 0.18-era name)."""
        Client, Server = _connection.Client, _connection.Server
        live = bool(msg.get("live"))
        if name in HTTP_HOOKS:
            f = _http.HTTPFlow.__new__(_http.HTTPFlow)
            f._init_hook(call, msg)
            self._restore(f)
            return (f,), f, f, (f,)
        if name in TCP_HOOKS:
            f = _tcp.TCPFlow.__new__(_tcp.TCPFlow)
            f._init_hook(call, msg)
            self._restore(f)
            return (f,), f, f, (f,)
        if name in UDP_HOOKS or name in DNS_HOOKS:
            if name in UDP_HOOKS:
                from ..udp import UDPFlow as cls
            else:
                from ..dns import DNSFlow as cls
            f = cls.__new__(cls)
            f._init_hook(call, msg)
            self._restore(f)
            return (f,), f, f, (f,)
        client = Client._from_raw(msg["cc"], live) if msg.get("cc") is not None else None
        server = Server._from_raw(msg["sc"], live) if msg.get("sc") is not None else None
        if name in CLIENT_HOOKS:
            return (client,), _ConnChanges(client=client), None, (_RootLayer(client, server),)
        if name in SERVER_HOOKS:
            from ..proxy.server_hooks import ServerConnectionHookData

            return (ServerConnectionHookData(server, client),), _ConnChanges(client=client, server=server), None, (server,)
        if name == "tls_clienthello":
            from ..tls import ClientHello, ClientHelloData, Context

            d = ClientHelloData(Context(client, server), ClientHello(msg.get("sni"), msg.get("alpn") or ()))
            return (d,), d, None, (d,)
        if name in TLS_HOOKS:
            from ..tls import Context, TlsData

            conn = client if msg.get("is_client") else server
            d = TlsData(conn, Context(client, server))
            return (d,), _ConnChanges(client=client, server=server), None, (d,)
        raise ValueError("unknown hook %r" % name)

    def _keep(self, f, hook):
        """Keep what the flow's next hook calls need: its stream callables
        (the proxy calls them for every chunk) and its WebSocket
        messages."""
        store = runtime.store
        if hook in FINAL_HOOKS or (hook == "response" and _status(f) != 101):
            store.forget(f.id)
            return
        try:
            f._ws_commit()
        except Exception as e:
            store.ws.pop(f.id, None)
            self.log("debug", "mitmgo script host: keeping the WebSocket messages of flow %s failed: %s" % (f.id, e),
                     False)
        for part, m in (("rq", f._request), ("rs", f._response)):
            if m is _http._PENDING:
                continue
            if m is not None and callable(m.stream):
                store.set_stream((f.id, part), m.stream)
            else:
                store.streams.pop((f.id, part), None)

    def cmd_forget(self, msg):
        """mitmgo is done with a flow: drop what _keep kept."""
        runtime.store.forget(msg.get("fid"), msg.get("ws"))

    def cmd_chunk(self, msg):
        """One chunk of a streamed body for the flow's stream callable
        (mitmproxy's request.stream / response.stream set to a function)."""
        cid = msg.get("id")
        fid, part = msg.get("fid"), msg.get("part")
        fn = runtime.store.streams.get((fid, part))
        if fn is None:
            self.reply(cid, err="the stream function of flow %s is gone" % fid)
            return
        data = msg.get("data") or b""
        script = self._script_of(fn)
        call = Call(cid, "stream")
        self.calls[cid] = call
        old = sys.argv
        if script is not None:
            sys.argv = script.argv
        call.running(script, "sync", sys._getframe())
        try:
            out = fn(data)
            if not isinstance(out, bytes):
                out = _chunks(out)
        except HookTimeout:
            self.reply(cid, err="ran past script_hook_timeout")
            return
        except Exception as e:
            self.log("error", "Addon error: %s" % format_exc(e), False)
            self.reply(cid, err="%s: %s" % (type(e).__name__, e), script=script.name if script is not None else "")
            return
        finally:
            call.idle()
            call.finished = True
            self.calls.pop(cid, None)
            sys.argv = old
        if not call.overdue:
            self.reply(cid, data=out)

    def _script_of(self, fn):
        """The script a stream callable comes from, for the log."""
        mod = getattr(fn, "__module__", None) or getattr(type(fn), "__module__", None)
        for s in self.scripts.values():
            if s.ns is not None and getattr(s.ns, "__name__", None) == mod:
                return s
        return None

    def _restore(self, f):
        extra = self.sticky.get(f.id)
        if extra:
            f.__dict__.update(extra)

    def _stash(self, f, hook):
        """Keep attributes a script set on a flow for its next hook call
        (scripts store per-flow state on the flow object)."""
        extra = f.__dict__
        if not extra:
            if self.sticky:
                self.sticky.pop(f.id, None)
            return
        final = hook in FINAL_HOOKS or (hook == "response" and _status(f) != 101)
        if not final:
            self.sticky[f.id] = dict(extra)
            self.sticky.move_to_end(f.id)
            while len(self.sticky) > _STICKY_MAX:
                self.sticky.popitem(last=False)
        else:
            self.sticky.pop(f.id, None)


def _plan(hookmap, name):
    """The handlers of hook name as (script, handler, kind, legacy) tuples:
    its own, then those of its 0.18-era names (legacy: they take other
    arguments)."""
    plan = [(s, fn, kind, False) for s, fn, kind in hookmap.get(name, ())]
    for k in _LEGACY_OF.get(name, ()):
        plan.extend((s, fn, kind, True) for s, fn, kind in hookmap.get(k, ()))
    return tuple(plan)


# A hook reply without changes, around its id: marshal.dumps({"cmd": "ret",
# "id": ID, "changes": {}}, 2) is these two pieces with marshal.dumps(ID, 2)
# between them (the order of a dict's keys is kept).
def _empty_reply_pieces():
    probe = 12345
    whole = marshal.dumps({"cmd": "ret", "id": probe, "changes": {}}, 2)
    mid = marshal.dumps(probe, 2)
    i = whole.index(mid)
    return whole[:i], whole[i + len(mid):]


_EMPTY_REPLY = _empty_reply_pieces()


def _chunks(out):
    """What a stream callable returned other than bytes: bytes-like, or an
    iterable of bytes (each an HTTP/2 DATA frame in mitmproxy), joined."""
    if isinstance(out, (bytearray, memoryview)):
        return bytes(out)
    if out is None or isinstance(out, str):
        raise TypeError("a stream function must return bytes or an iterable of bytes, not %s" % type(out).__name__)
    parts = []
    for c in out:
        if not isinstance(c, (bytes, bytearray, memoryview)):
            raise TypeError("a stream function returned an iterable holding %s; it must hold bytes" % type(c).__name__)
        parts.append(bytes(c))
    return b"".join(parts)


def _status(f):
    try:
        return f.response.status_code if f.response is not None else None
    except Exception:
        return None


class _RootLayer:
    """0.18-era clientconnect/clientdisconnect got the root layer."""

    def __init__(self, client, server):
        self.client_conn = client
        self.server_conn = server


class _ConnChanges:
    def __init__(self, client=None, server=None):
        self.client = client
        self.server = server


def _changes(name, obj, flow):
    if flow is not None:
        return flow._changes()
    out = {}
    if isinstance(obj, _ConnChanges):
        for k in ("client", "server"):
            c = getattr(obj, k)
            if c is not None:
                d = c._changes()
                if d:
                    out[k] = d
    elif name == "tls_clienthello":
        out["ignore_connection"] = bool(obj.ignore_connection)
        out["establish_server_tls_first"] = bool(obj.establish_server_tls_first)
        for k in ("client", "server"):
            c = getattr(obj.context, k)
            if c is not None:
                d = c._changes()
                if d:
                    out[k] = d
    return out


def _sendable(v):
    """v with the values tnetstrings cannot carry left out."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            try:
                tnetstring.dumps(x)
                out[k] = x
            except tnetstring.TNetStringError:
                out[k] = _sendable(x) if isinstance(x, (dict, list)) else None
                if out[k] is None:
                    del out[k]
        return out
    if isinstance(v, list):
        out = []
        for x in v:
            try:
                tnetstring.dumps(x)
                out.append(x)
            except tnetstring.TNetStringError:
                pass
        return out
    return v


def _kind(fn):
    if getattr(fn, "_mitmgo_concurrent", False):
        return "concurrent"
    if inspect.iscoroutinefunction(fn):
        return "async"
    return "sync"


def _run_thread(argv, fn, args, call=None):
    """Run a @concurrent handler on a pool thread. The watchdog raises
    HookTimeout in this thread only while call.thread names it (both under
    host.tlock), so the exception cannot escape into the pool's own code:
    it fires at the thread's next bytecode, at the latest while it clears
    call.thread below."""
    h = runtime.host
    track = call is not None and h is not None
    try:
        if track:
            with h.tlock:
                call.thread = threading.get_ident()
        tok = runtime.current_call.set(call)
        try:
            sys.argv = argv
            res = fn(*args)
            if inspect.isawaitable(res):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(res)
                finally:
                    loop.close()
        finally:
            runtime.current_call.reset(tok)
            if track:
                with h.tlock:
                    call.thread = None
    except HookTimeout:
        if track:
            with h.tlock:
                call.thread = None
        return _TIMED_OUT
    return None


def _async_raise(tid, exc):
    """Raise exc in thread tid at its next bytecode (CPython only)."""
    try:
        import ctypes

        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc))
    except Exception:
        pass


def _on_sigint(signum, frame):
    """SIGINT: the watchdog's way into the main thread (pthread_kill also
    interrupts a blocking call there). It raises HookTimeout only while the
    main thread is inside the handler the watchdog named; any other SIGINT
    (a ^C meant for mitmgo) is ignored, as mitmgo shuts the host down."""
    h = runtime.host
    target = h.interrupt_frame if h is not None else None
    if target is None:
        return
    f = frame
    while f is not None:
        if f is target:
            h.interrupt_frame = None
            raise HookTimeout()
        f = f.f_back


def _arity(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1
    n = 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
        elif p.kind == p.VAR_POSITIONAL:
            return 1
    return n


def _load_error(name, e):
    """mitmproxy's "in script PATH:LINE MESSAGE", then the traceback."""
    lineno = ""
    if isinstance(e, SyntaxError):
        lineno = str(e.lineno or "")
        detail = "".join(traceback.format_exception_only(type(e), e))
    else:
        tb = _clean_tb(e.__traceback__)
        frames = traceback.extract_tb(tb)
        for fr in reversed(frames):
            if os.path.abspath(fr.filename) == os.path.abspath(name) or fr.filename == name:
                lineno = str(fr.lineno)
                break
        else:
            if frames:
                lineno = str(frames[-1].lineno)
        detail = "".join(traceback.format_exception(type(e), e, tb))
    return "in script %s:%s %s\n%s" % (name, lineno, str(e) or type(e).__name__, detail.rstrip("\n"))


_LEVELS = {"error": 40, "warn": 30, "info": 20, "alert": 20, "debug": 10}


def _sync_log_level(options):
    """Drop Python logging records that mitmgo's terminal would not show."""
    import logging

    v = options._values.get("termlog_verbosity")
    if isinstance(v, str) and v in _LEVELS:
        logging.getLogger().setLevel(_LEVELS[v])


def _grow_pipes(*fds):
    """Bigger pipe buffers (Linux): a large body crosses in fewer reads."""
    try:
        import fcntl
    except ImportError:
        return
    setsz = getattr(fcntl, "F_SETPIPE_SZ", 1031 if sys.platform.startswith("linux") else None)
    if setsz is None:
        return
    for fd in fds:
        try:
            fcntl.fcntl(fd, setsz, 1 << 20)
        except OSError:
            pass


def _install_finder():
    """Missing mitmproxy modules say they are missing from mitmgo."""
    import importlib.abc

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname.startswith("mitmproxy.") and not fullname.startswith("mitmproxy._"):
                # Let the normal finders try first: we are last in the list.
                raise ModuleNotFoundError(
                    "No module named %r: this part of mitmproxy's API is not supported yet by mitmgo" % fullname,
                    name=fullname,
                )
            return None

    sys.meta_path.append(Finder())


def main():
    # mitmgo decides when the host ends (it closes fd 3, or kills it): a
    # SIGTERM or ^C sent to mitmgo's whole process group (as `timeout` and
    # terminals do) must not kill the host under a proxy that is shutting
    # down in order, running the scripts' done().
    try:
        signal.signal(signal.SIGINT, _on_sigint)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    rfd, wfd = 3, 4
    if len(sys.argv) >= 3:
        rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    _grow_pipes(rfd, wfd)
    sys.argv = [sys.argv[0]]
    host = Host(rfd, wfd)
    runtime.host = host
    if os.environ.get("MITMGO_HOST_WATCHDOG") != "0":  # "0": for tests of the parent-death signal
        threading.Thread(target=host.watch, name="mitmgo-watchdog", daemon=True).start()
    from .. import log as _log

    _log.install()
    _install_finder()
    # Modules scripts commonly shadow by name (a script called logging.py)
    # are imported before any script directory is on sys.path.
    import argparse  # noqa: F401
    import json  # noqa: F401
    import re  # noqa: F401
    import typing  # noqa: F401

    asyncio.set_event_loop(host.loop)
    os.set_blocking(rfd, False)
    host.loop.add_reader(rfd, host.on_readable)
    if isinstance(host.loop, _Loop):
        host.loop.fast_reader(rfd)
    prof = None
    if os.environ.get("MITMGO_PYPROFILE"):
        # Developer aid: profile the host, written at exit.
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    try:
        while True:
            try:
                host.loop.run_forever()
                break
            except HookTimeout:
                # Raised just as a handler returned, outside invoke's
                # reach: nothing to interrupt any more.
                continue
    finally:
        host.exiting.set()
        if prof is not None:
            prof.disable()
            prof.dump_stats(os.environ["MITMGO_PYPROFILE"])
        host.executor.shutdown(wait=False)
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(0)
