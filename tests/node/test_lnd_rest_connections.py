"""A kept-alive connection that LND (or a proxy in front of it) closed while it sat idle:
a read is sent again on a fresh connection, a write never is.

The server here is a real HTTP/1.1 server on a socket that answers the first request of each
connection with keep-alive and closes the connection, unanswered, when a second request
arrives on it: what a client sees when an idle timeout on the other end fires just as the
connection is reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from lnpilot.node import LndRest, LndRestError

MACAROON = "0201036c6e64"
PUBKEY = "02" + "ab" * 32


@dataclass
class ClosingServer:
    """Counts the requests it received, answered or not, as ``"METHOD /path"``."""

    url: str = ""
    received: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = next(
                    (
                        int(v)
                        for k, _, v in (h.partition(": ") for h in lines[1:])
                        if k.lower() == "content-length"
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.received.append(f"{method} {path}")
                if answered:
                    break  # the idle timeout fired: closed without an answer
                body = b'{"peers": []}' if method == "GET" else b"{}"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                answered += 1
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[ClosingServer]:
    found = ClosingServer()
    listening = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    host, port = listening.sockets[0].getsockname()[:2]
    found.url = f"http://{host}:{port}"
    async with listening:
        yield found


async def test_a_read_on_a_connection_closed_while_idle_is_sent_again(
    server: ClosingServer,
) -> None:
    lnd = LndRest(server.url, MACAROON, timeout_s=5)  # not started: no HTLC event stream
    try:
        assert await lnd.list_peers() == []
        assert await lnd.list_peers() == [], "the second read is answered"
    finally:
        await lnd.aclose()
    # sent on the kept-alive connection (closed unanswered), then on a new one
    assert server.received == ["GET /v1/peers"] * 3


async def test_a_write_on_a_connection_closed_while_idle_is_not_sent_again(
    server: ClosingServer,
) -> None:
    lnd = LndRest(server.url, MACAROON, timeout_s=5)
    try:
        await lnd.connect_peer(PUBKEY, "127.0.0.1:9735")
        with pytest.raises(LndRestError) as caught:
            await lnd.connect_peer(PUBKEY, "127.0.0.1:9735")
    finally:
        await lnd.aclose()
    assert caught.value.status is None and "POST /v1/peers" in str(caught.value)
    assert server.received == ["POST /v1/peers"] * 2, "LND may have acted on it: never resent"
