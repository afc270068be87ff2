"""A fault-injecting HTTP/1.1 reverse proxy, to prove the LNbits client never pays twice.

The failures that can make a payment client pay twice are the ambiguous ones: LNbits
*did* send the payment, but the client never learned it (the answer was dropped, cut
short, delayed past a timeout, or replaced by a gateway's 502). A mock cannot stage them
faithfully, because what the client does depends on what its HTTP stack (httpx/httpcore,
with connection pooling) sees on a real socket. So this proxy listens on a real TCP port
on 127.0.0.1, forwards real bytes to a real server, and breaks chosen exchanges in chosen
ways, while logging the ground truth a test asserts against: did the upstream actually
handle the request?

It parses only as much HTTP/1.1 as it needs to find message boundaries: request line,
headers, ``Content-Length`` or chunked bodies; responses framed by ``Content-Length``,
chunked encoding or the upstream closing. Every forwarded request gets a fresh upstream
connection, so an upstream closing an idle keep-alive connection can never masquerade as
an injected fault. Client connections are kept alive between passed requests (httpx
pools them) and closed after any fault that breaks or replaces a response. Upgrade
requests (websockets) are tunnelled byte for byte and never faulted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

__all__ = ["Fault", "FaultProxy", "RequestRecord", "ThreadedFaultProxy"]

_log = logging.getLogger(__name__)

# Stream buffer limit: bounds one message head and one chunk-size line.
_HEAD_LIMIT = 1 << 20
_READ_SIZE = 64 * 1024
_THREAD_TIMEOUT_S = 30.0

_Emit = Callable[[bytes], Awaitable[None]]


class Fault(enum.StrEnum):
    """What the proxy does to one request; each stages a distinct real-world failure."""

    #: Forward the request and stream the response back untouched.
    PASS = "pass"  # noqa: S105 - a fault name, not a password
    #: Forward, wait for the complete upstream answer, then close the client connection
    #: without a byte of it: the request took effect but the client cannot know.
    DROP_RESPONSE_AFTER_UPSTREAM = "drop_response_after_upstream"
    #: Reset the client connection (TCP RST) without forwarding: no effect happened.
    RESET_BEFORE_UPSTREAM = "reset_before_upstream"
    #: Forward, then hold the complete answer back for the rule's delay before sending
    #: it, so client timeouts fire while the request has already taken effect.
    DELAY = "delay"
    #: Forward (the effect happens), then answer 502 instead of the upstream's response,
    #: like a gateway that lost the upstream's answer.
    STATUS_502 = "status_502"
    #: Answer 502 without forwarding: the gateway could not reach the upstream.
    STATUS_502_NO_UPSTREAM = "status_502_no_upstream"
    #: Forward, then send the first half of the upstream's response bytes and close.
    TRUNCATE = "truncate"


@dataclass
class RequestRecord:
    """The ground truth about one request that reached the proxy.

    ``upstream_handled`` is what a no-double-pay test asserts on: True once the proxy
    received the upstream's complete response, i.e. the server finished handling the
    request whatever the client was then shown. ``forwarded`` (the proxy began sending
    the request upstream) without ``upstream_handled`` means no complete answer came
    back: the outcome is unknown even to the proxy, and ``error`` says why.
    """

    seq: int
    method: str
    #: The request target as sent, query string included.
    path: str
    fault: Fault
    request_body: bytes
    forwarded: bool = False
    upstream_status: int | None = None
    upstream_handled: bool = False
    error: str | None = None


@dataclass
class _Rule:
    method: str | None
    path_prefix: str | None
    fault: Fault
    remaining: int | None
    delay_s: float

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


class _ProtocolError(Exception):
    """A peer sent something this proxy cannot frame as HTTP/1.1."""


class _ClientGone(Exception):
    """Writing to the client failed: it hung up (e.g. its timeout fired)."""


# Everything that means "this connection is broken", from either side.
_BROKEN = (
    _ProtocolError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ConnectionError,
)


@dataclass(frozen=True)
class _Head:
    """A message head: start line and headers, plus its exact bytes for forwarding."""

    start_line: str
    headers: list[tuple[str, str]]
    raw: bytes

    def tokens(self, name: str) -> set[str]:
        """The lowercased comma-separated tokens of every ``name`` header."""
        return {
            token.strip().lower()
            for key, value in self.headers
            if key == name
            for token in value.split(",")
            if token.strip()
        }

    def content_length(self) -> int | None:
        values = {value.strip() for key, value in self.headers if key == "content-length"}
        if not values:
            return None
        if len(values) > 1 or not next(iter(values)).isdigit():
            raise _ProtocolError(f"bad Content-Length: {sorted(values)}")
        return int(values.pop())


@dataclass(frozen=True)
class _Framing:
    """How a message body ends: chunked, after ``length`` bytes, or (None) at EOF."""

    chunked: bool = False
    length: int | None = 0


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    version: str
    head: _Head
    body: bytes  # the payload, de-chunked
    raw: bytes  # head and body exactly as received, to forward

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def is_upgrade(self) -> bool:
        return "upgrade" in self.head.tokens("connection") and bool(self.head.tokens("upgrade"))


async def _read_head(reader: asyncio.StreamReader) -> _Head | None:
    """Read one message head; None if the peer closed cleanly before sending any of it."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    start_line, *lines = raw.decode("latin-1").split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _ProtocolError(f"malformed header line {line!r}")
        headers.append((name.strip().lower(), value.strip()))
    return _Head(start_line, headers, raw)


async def _relay_body(
    reader: asyncio.StreamReader,
    framing: _Framing,
    emit: _Emit,
    payload: bytearray | None = None,
) -> None:
    """Pass one body's bytes, framing included, to ``emit`` as they arrive.

    ``payload`` (if given) collects the de-chunked content.
    """
    if framing.chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _ProtocolError(f"bad chunk size line {size_line!r}") from None
            if size == 0:
                await emit(size_line)
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    await emit(trailer)
                await emit(trailer)
                return
            chunk = await reader.readexactly(size + 2)
            await emit(size_line + chunk)
            if payload is not None:
                payload += chunk[:-2]
    elif framing.length is None:
        while data := await reader.read(_READ_SIZE):
            await emit(data)
    else:
        remaining = framing.length
        while remaining:
            data = await reader.read(min(remaining, _READ_SIZE))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            await emit(data)
            if payload is not None:
                payload += data


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """Read one complete request; None if the client closed between requests."""
    head = await _read_head(reader)
    if head is None:
        return None
    parts = head.start_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _ProtocolError(f"malformed request line {head.start_line!r}")
    method, target, version = parts
    if "chunked" in head.tokens("transfer-encoding"):
        framing = _Framing(chunked=True)
    else:
        framing = _Framing(length=head.content_length() or 0)
    raw = bytearray(head.raw)
    payload = bytearray()

    async def collect(data: bytes) -> None:
        raw.extend(data)

    await _relay_body(reader, framing, collect, payload)
    return _Request(method.upper(), target, version, head, bytes(payload), bytes(raw))


def _status_of(head: _Head) -> int:
    parts = head.start_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise _ProtocolError(f"malformed status line {head.start_line!r}")
    return int(parts[1])


def _response_framing(head: _Head, status: int, request_method: str) -> _Framing:
    if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return _Framing(length=0)
    if "chunked" in head.tokens("transfer-encoding"):
        return _Framing(chunked=True)
    return _Framing(length=head.content_length())


def _bad_gateway(reason: str) -> bytes:
    body = f"502 Bad Gateway (fault proxy: {reason})\n".encode()
    return (
        b"HTTP/1.1 502 Bad Gateway\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body
    )


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST, as a crashed or overloaded gateway does.

    A zero linger time makes the kernel send RST instead of an orderly FIN.
    """
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy one direction of a tunnel, passing the half-close on (websocket close dance)."""
    while data := await src.read(_READ_SIZE):
        dst.write(data)
        await dst.drain()
    if dst.can_write_eof():
        with contextlib.suppress(OSError):
            dst.write_eof()


class FaultProxy:
    """A reverse proxy to ``upstream_host:upstream_port`` that injects faults on command.

    Faults are targeted with :meth:`set_rule`; requests no rule matches pass untouched.
    The rule and record methods are thread-safe, so sync code may drive a proxy running
    on another thread's loop (see :class:`ThreadedFaultProxy`).
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._records: list[RequestRecord] = []
        self._connections = 0
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 (a free port unless one is given) and return the port.

        Giving the port of an earlier run restarts the proxy where clients expect it, to
        stage an outage: ``stop()`` cuts every connection, ``start(port)`` brings it back.
        """
        if self._server is not None:
            raise RuntimeError("FaultProxy already started")
        self._server = await asyncio.start_server(
            self._serve_client, "127.0.0.1", port, limit=_HEAD_LIMIT
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def stop(self) -> None:
        """Stop listening and cut every open connection, mid-fault (e.g. a delay) or not."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FaultProxy not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL to give the client instead of the upstream's."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def connection_count(self) -> int:
        """Client connections accepted so far: shows whether the client reused one."""
        with self._lock:
            return self._connections

    def set_rule(
        self,
        method: str | None,
        path_prefix: str | None,
        fault: Fault,
        times: int | None = 1,
        *,
        delay_s: float | None = None,
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests matching (None: until cleared).

        ``method`` None matches any method, ``path_prefix`` None any path (the query
        string is ignored). The newest matching rule wins, so a one-off rule can be laid
        over a standing one. ``delay_s`` is required by, and only allowed with,
        :attr:`Fault.DELAY`. Upgrade (websocket) requests are never faulted.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for unlimited")
        if (fault is Fault.DELAY) != (delay_s is not None):
            raise ValueError("delay_s is required with Fault.DELAY and only with it")
        if delay_s is not None and delay_s <= 0:
            raise ValueError("delay_s must be positive")
        rule = _Rule(method.upper() if method else None, path_prefix, fault, times, delay_s or 0.0)
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Drop every rule: from now on all requests pass. The record log is kept."""
        with self._lock:
            self._rules.clear()

    def records(self) -> list[RequestRecord]:
        """A snapshot of what happened to each request so far, oldest first."""
        with self._lock:
            return [dataclasses.replace(record) for record in self._records]

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        handled: bool | None = None,
    ) -> int:
        """How many requests matched, optionally only those the upstream did (not) handle."""
        return sum(
            1
            for record in self.records()
            if (method is None or record.method == method.upper())
            and (path_prefix is None or record.path.startswith(path_prefix))
            and (handled is None or record.upstream_handled == handled)
        )

    def _take_fault(self, request: _Request) -> tuple[Fault, float]:
        with self._lock:
            for index in range(len(self._rules) - 1, -1, -1):
                rule = self._rules[index]
                if rule.matches(request.method, request.path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            del self._rules[index]
                    return rule.fault, rule.delay_s
        return Fault.PASS, 0.0

    def _new_record(self, request: _Request, fault: Fault) -> RequestRecord:
        """Log the request before acting on it, so the log is never behind the client."""
        with self._lock:
            record = RequestRecord(
                len(self._records), request.method, request.target, fault, request.body
            )
            self._records.append(record)
        return record

    async def _serve_client(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self._connections += 1
        try:
            while await self._exchange(client_r, client_w):
                pass
        except (*_BROKEN, _ClientGone) as exc:
            _log.debug("client connection ended: %r", exc)
        finally:
            self._tasks.discard(task)
            await _close(client_w)

    async def _open_upstream(
        self, record: RequestRecord, request: _Request, client_w: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect and send the request; on failure answer 502, as a real gateway would."""
        try:
            upstream_r, upstream_w = await asyncio.open_connection(
                *self._upstream, limit=_HEAD_LIMIT
            )
        except OSError as exc:
            await self._bad_gateway(record, client_w, "upstream unreachable", exc)
            return None
        # Marked before sending: a send that fails part-way may still have reached it.
        with self._lock:
            record.forwarded = True
        try:
            upstream_w.write(request.raw)
            await upstream_w.drain()
        except ConnectionError as exc:
            await _close(upstream_w)
            await self._bad_gateway(record, client_w, "sending to upstream failed", exc)
            return None
        return upstream_r, upstream_w

    async def _bad_gateway(
        self,
        record: RequestRecord,
        client_w: asyncio.StreamWriter,
        reason: str,
        exc: BaseException,
    ) -> None:
        """Record why the upstream failed us and tell the client with a 502."""
        with self._lock:
            record.error = f"{reason}: {exc!r}"
        client_w.write(_bad_gateway(reason))
        await client_w.drain()

    async def _exchange(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; return whether the client connection may carry another."""
        request = await _read_request(client_r)
        if request is None:
            return False
        if request.is_upgrade:
            await self._tunnel(request, client_r, client_w)
            return False
        fault, delay_s = self._take_fault(request)
        record = self._new_record(request, fault)
        if fault is not Fault.PASS:
            _log.info("fault %s on %s %s", fault, request.method, request.target)
        if fault is Fault.RESET_BEFORE_UPSTREAM:
            _reset(client_w)
            return False
        if fault is Fault.STATUS_502_NO_UPSTREAM:
            client_w.write(_bad_gateway("upstream not contacted"))
            await client_w.drain()
            return False

        upstream = await self._open_upstream(record, request, client_w)
        if upstream is None:
            return False
        upstream_r, upstream_w = upstream
        sent_to_client = False

        async def stream_to_client(data: bytes) -> None:
            nonlocal sent_to_client
            sent_to_client = True
            try:
                client_w.write(data)
                await client_w.drain()
            except ConnectionError as exc:
                raise _ClientGone(repr(exc)) from exc

        buffered = bytearray()

        async def buffer(data: bytes) -> None:
            buffered.extend(data)

        try:
            keep_alive = await self._relay_response(
                request, record, upstream_r, stream_to_client if fault is Fault.PASS else buffer
            )
        except _ClientGone:
            with self._lock:
                record.error = "client hung up during the response"
            return False
        except _BROKEN as exc:
            if sent_to_client:  # too late for a 502: the cut answer tells the client
                with self._lock:
                    record.error = f"upstream answer broken: {exc!r}"
            else:
                await self._bad_gateway(record, client_w, "upstream answer broken", exc)
            return False
        finally:
            await _close(upstream_w)

        if fault is Fault.DELAY:
            await asyncio.sleep(delay_s)
            await stream_to_client(bytes(buffered))
        elif fault is Fault.STATUS_502:
            await stream_to_client(_bad_gateway("upstream answer replaced"))
        elif fault is Fault.TRUNCATE:
            await stream_to_client(bytes(buffered[: len(buffered) // 2]))
        # Only an intact response leaves the connection usable; after a withheld,
        # replaced or cut one the client must see it closed.
        return keep_alive and fault in (Fault.PASS, Fault.DELAY)

    async def _relay_response(
        self,
        request: _Request,
        record: RequestRecord,
        upstream_r: asyncio.StreamReader,
        emit: _Emit,
    ) -> bool:
        """Pass one complete response to ``emit``; return whether keep-alive may go on.

        The last byte received is always held back, and the final one is released only
        after the record says the upstream handled the request: a client can never see
        a complete answer before the log does. One byte rather than one piece, so that
        streamed answers (server-sent events) still flow as they arrive.
        """
        held = b""

        async def hold_last_byte(data: bytes) -> None:
            nonlocal held
            if not data:
                return
            ready, held = held + data[:-1], data[-1:]
            if ready:
                await emit(ready)

        while True:
            head = await _read_head(upstream_r)
            if head is None:
                raise _ProtocolError("upstream closed without answering")
            status = _status_of(head)
            with self._lock:
                record.upstream_status = status
            await hold_last_byte(head.raw)
            # 1xx interim answers (100 Continue, 103 Early Hints) precede the real one.
            if not 100 <= status < 200:
                break
        framing = _response_framing(head, status, request.method)
        await _relay_body(upstream_r, framing, hold_last_byte)
        with self._lock:
            record.upstream_handled = True
        await emit(held)
        return (
            (framing.chunked or framing.length is not None)
            and request.version == "HTTP/1.1"
            and head.start_line.startswith("HTTP/1.1 ")
            and "close" not in request.head.tokens("connection")
            and "close" not in head.tokens("connection")
        )

    async def _tunnel(
        self,
        request: _Request,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
    ) -> None:
        """Relay an upgrade (websocket) both ways, unfaulted, until both sides close."""
        record = self._new_record(request, Fault.PASS)
        upstream = await self._open_upstream(record, request, client_w)
        if upstream is None:
            return
        upstream_r, upstream_w = upstream
        try:
            head = await _read_head(upstream_r)
            if head is None:
                raise _ProtocolError("upstream closed without answering the upgrade")
            with self._lock:
                record.upstream_status = _status_of(head)
                record.upstream_handled = True
            client_w.write(head.raw)
            await client_w.drain()
            pumps = {
                asyncio.create_task(_pump(client_r, upstream_w)),
                asyncio.create_task(_pump(upstream_r, client_w)),
            }
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            await _close(upstream_w)


class ThreadedFaultProxy:
    """Runs a :class:`FaultProxy` on its own event loop in a daemon thread.

    For synchronous code (a sync client, a sync test) that cannot host the proxy on its
    own loop. Entering yields the running :class:`FaultProxy`; use only its thread-safe
    parts (``url``, ``set_rule``, ``clear``, ``records``, ``count``) from the caller.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.proxy = FaultProxy(upstream_host, upstream_port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FaultProxy:
        if self._loop is not None:
            raise RuntimeError("ThreadedFaultProxy already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self.proxy.start(), loop).result(_THREAD_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self.proxy

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.proxy.stop(), loop).result(_THREAD_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_THREAD_TIMEOUT_S)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
