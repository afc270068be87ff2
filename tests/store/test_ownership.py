"""Node ownership between daemons (``lnpilot.service.ownership``), on the real PostgreSQL.

It lives beside the store's tests for their ``database_url`` fixture: a fresh PostgreSQL
database when ``CI=true`` or ``LNPILOT_TEST_PG_URL`` says so, and SQLite, where ownership
is a no-op. Each check is driven by the test: no sleeps, no timing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from lnpilot.service import ownership
from lnpilot.service.health import LoopHealth
from lnpilot.service.ownership import (
    OWNERSHIP_LOOP,
    NotOwner,
    Ownership,
    OwnershipGate,
    Role,
    ownership_key,
    role_of,
)
from lnpilot.service.supervisor import Loop

PUBKEY = "02" + "ab" * 32
OTHER_PUBKEY = "03" + "cd" * 32


@pytest.fixture
async def daemons(database_url: URL) -> AsyncIterator[tuple[Ownership, Ownership]]:
    """Two daemons' claims on the same node, closed at the end."""
    first, second = Ownership(database_url, PUBKEY), Ownership(database_url, PUBKEY)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def _on_postgresql(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


async def test_one_owner_and_one_standby(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    first, second = daemons
    assert await first.check() is Role.OWNER
    expected = Role.STANDBY if _on_postgresql(database_url) else Role.OWNER  # SQLite: no-op
    assert await second.check() is expected
    assert await first.check() is Role.OWNER  # the owner keeps it, check after check
    assert await second.check() is expected


async def test_closing_the_owner_hands_the_node_to_the_standby(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    if not _on_postgresql(database_url):
        pytest.skip("SQLite has one daemon per file: nothing to hand over")
    first, second = daemons
    assert await first.check() is Role.OWNER
    assert await second.check() is Role.STANDBY
    await first.close()
    assert await second.check() is Role.OWNER
    assert await first.check() is Role.STANDBY  # a closed claim retries, and finds it taken


async def _terminate_holders(database_url: URL) -> int:
    """End the sessions holding PUBKEY's lock from outside, as a killed process's ends; how
    many there were."""
    key = ownership_key(PUBKEY) & 0xFFFF_FFFF_FFFF_FFFF
    admin = create_async_engine(database_url)
    try:
        async with admin.connect() as conn:
            holders = (
                await conn.scalars(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND classid::bigint = :hi AND objid::bigint = :lo"
                    ),
                    {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
                )
            ).all()
            for pid in holders:
                # With a timeout it returns once the backend has exited (the bound only
                # keeps a stuck server from hanging the test).
                ended = await conn.scalar(
                    text("SELECT pg_terminate_backend(CAST(:pid AS integer), 60000)"),
                    {"pid": pid},
                )
                assert ended
    finally:
        await admin.dispose()
    return len(holders)


async def test_a_killed_owner_session_is_taken_over_and_the_old_owner_steps_down(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    """The owner's backend ended from outside, as when its process is killed: the standby
    owns the node at its next check, and the old owner, finding its connection dead and
    the lock taken, becomes standby instead of acting on a node it no longer owns."""
    if not _on_postgresql(database_url):
        pytest.skip("SQLite has one daemon per file: nothing to take over")
    first, second = daemons
    assert await first.check() is Role.OWNER
    assert await second.check() is Role.STANDBY
    assert await _terminate_holders(database_url) == 1
    assert await second.check() is Role.OWNER
    assert await first.check() is Role.STANDBY


async def test_another_node_is_owned_independently(database_url: URL) -> None:
    mine, theirs = Ownership(database_url, PUBKEY), Ownership(database_url, OTHER_PUBKEY)
    try:
        assert await mine.check() is Role.OWNER
        assert await theirs.check() is Role.OWNER
    finally:
        await mine.close()
        await theirs.close()


def test_the_key_is_a_stable_bigint_and_an_empty_pubkey_is_refused() -> None:
    key = ownership_key(PUBKEY)
    assert key == ownership_key(PUBKEY)
    assert -(2**63) <= key < 2**63
    assert key != ownership_key(OTHER_PUBKEY)
    with pytest.raises(ValueError, match="pubkey"):
        ownership_key("")


async def _pubkey() -> str:
    return PUBKEY


async def test_the_gate_lets_only_the_owner_act_and_hands_over(database_url: URL) -> None:
    """Two daemons' gates guard the same collector: only the owner's runs act; a standby's
    run waits (NotOwner) and its ownership loop says standby; once the owner's gate closes
    (its daemon stopped), the standby's next check takes over and its runs act."""
    acted: list[str] = []

    def collector(daemon: str) -> Loop:
        async def act() -> None:
            acted.append(daemon)

        return Loop("collect", 60, act)

    first = OwnershipGate(database_url, _pubkey, retry_s=30)
    second = OwnershipGate(database_url, _pubkey, retry_s=30)
    try:
        first_loops = first.guard_all([collector("first")], expected=())
        second_loops = second.guard_all([collector("second")], expected=())
        assert [loop.name for loop in first_loops] == [OWNERSHIP_LOOP, "collect"]
        await first_loops[0].run_once()
        await first_loops[1].run_once()
        if not _on_postgresql(database_url):  # SQLite: the daemon is never shared
            await second_loops[0].run_once()
            await second_loops[1].run_once()
            assert acted == ["first", "second"]
            return
        with pytest.raises(NotOwner):
            await second_loops[0].run_once()
        with pytest.raises(NotOwner):
            await second_loops[1].run_once()
        assert acted == ["first"]
        await first.close()
        with pytest.raises(NotOwner):
            await first_loops[1].run_once()  # the stopped daemon's gate no longer acts
        await second_loops[0].run_once()
        await second_loops[1].run_once()
        assert acted == ["first", "second"]
    finally:
        await first.close()
        await second.close()


def test_the_role_is_read_from_the_ownership_loop_health() -> None:
    """What /health and /metrics report, in the daemon and in an API worker alike."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    health = LoopHealth()
    health.register("collect", 60)
    assert role_of(health) is Role.OWNER  # no ownership loop: SQLite, the only daemon
    health.register(OWNERSHIP_LOOP, 30)
    assert role_of(health) is Role.STANDBY  # not checked yet: not acting
    health.started(OWNERSHIP_LOOP, at)
    health.waiting(OWNERSHIP_LOOP, at, 0.01, "standby: another daemon holds this node's lock")
    assert role_of(health) is Role.STANDBY
    health.started(OWNERSHIP_LOOP, at)
    health.succeeded(OWNERSHIP_LOOP, at, 0.01)
    assert role_of(health) is Role.OWNER


class FreezingProxy:
    """A TCP relay to the PostgreSQL server that can go silent (keeps its sockets open,
    passes no byte): a network partition, which a killed process is not."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self.frozen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # the silent sessions end with their sockets
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if self.frozen.is_set():
                    return  # silent: the bytes go nowhere, the sockets stay open
                dst.write(data)
                await dst.drain()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_an_owner_cut_off_from_the_database_steps_down_instead_of_hanging(
    database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner's connection goes silent: its next check gives up after CHECK_TIMEOUT_S
    and it is standby, so its loops stop acting. (Its session still holds the lock on the
    server until PostgreSQL notices the dead client: the documented limit.)"""
    if not _on_postgresql(database_url):
        pytest.skip("SQLite has no connection to lose")
    assert database_url.host is not None
    proxy = FreezingProxy(database_url.host, database_url.port or 5432)
    async with proxy as port:
        owner = Ownership(database_url.set(host="127.0.0.1", port=port), PUBKEY)
        try:
            assert await owner.check() is Role.OWNER
            monkeypatch.setattr(ownership, "CHECK_TIMEOUT_S", 0.5)
            proxy.frozen.set()
            assert await owner.check() is Role.STANDBY
            # The silent session still holds the lock on the server (the documented limit).
            assert await _terminate_holders(database_url) == 1
        finally:
            await owner.close()
