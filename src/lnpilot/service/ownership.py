"""Which daemon owns a node when several share one PostgreSQL: a session advisory lock.

Two daemons acting on one node would set its fees twice, rebalance twice and send every
notice twice. On PostgreSQL each daemon therefore asks for a session-level advisory lock on
the node (``pg_try_advisory_lock(key)``) over a connection of its own, held for the daemon's
life; the one that gets it is the **owner** and runs the loops that act or notify, the others
are **standby** and only serve the API from the store. Nothing here is home-made consensus:
PostgreSQL grants the lock to one session at a time and frees it when that session ends.

The key is the first 8 bytes of ``sha256("lnpilot-node-owner:" + pubkey)`` as a signed
bigint: the node's pubkey is the same for every daemon of the fleet before any collection
(a store node id exists only after the first one), and the prefix keeps the key away from
other users of advisory locks in the same database (the locks are per database).

:meth:`Ownership.check` is run each cycle. The owner makes sure its connection is alive and
the lock still held (``pg_locks`` for its backend pid); a standby tries the lock again. When
the owner dies its connection closes, PostgreSQL ends its session and frees the lock, and a
standby takes over at its next check: within the retry interval plus the time PostgreSQL
takes to notice the dead client (at once for a killed process, whose socket the kernel
closes; for a machine that vanished, TCP keepalive's time, which this module does not set).

On SQLite there is one daemon per database file and no lock to take: ownership is a no-op
and the daemon is always the owner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from lnpilot.service.health import LoopHealth
from lnpilot.service.supervisor import Loop

log = logging.getLogger(__name__)

_KEY_PREFIX = b"lnpilot-node-owner:"

#: What a dead or unusable owner connection raises: the check then starts over.
_CONNECTION_LOST = (DBAPIError, InterfaceError, OperationalError, OSError, TimeoutError)

#: The longest one step of a check (connecting, asking for the lock, reading ``pg_locks``)
#: may take. An owner cut off from its database must not hang in a check while its other
#: loops go on acting: past this it drops the connection and is standby.
CHECK_TIMEOUT_S = 10.0


class Role(enum.StrEnum):
    OWNER = "owner"
    STANDBY = "standby"


def ownership_key(pubkey: str) -> int:
    """The advisory lock key of the node ``pubkey`` (see the module docstring)."""
    if not pubkey:
        raise ValueError("ownership needs the node's pubkey, got an empty string")
    digest = hashlib.sha256(_KEY_PREFIX + pubkey.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_ids(key: int) -> tuple[int, int]:
    """``pg_locks`` shows a bigint advisory key as ``classid`` (high 32 bits) and ``objid``
    (low 32 bits), both unsigned."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid::bigint = :classid"
    " AND objid::bigint = :objid AND objsubid = 1"
)


class Ownership:
    """This daemon's claim on one node in the database at ``url``. On PostgreSQL the lock's
    connection comes from an engine of its own without a pool, so that :meth:`close` (or a
    lost connection) really ends the session that holds the lock: a pooled connection
    given back keeps its session, and its lock with it."""

    def __init__(self, url: URL, pubkey: str) -> None:
        self.key = ownership_key(pubkey)
        self._engine: AsyncEngine | None = None
        if url.get_backend_name() == "postgresql":
            self._engine = create_async_engine(url, poolclass=NullPool)
        self._conn: AsyncConnection | None = None
        self._role = Role.OWNER if self._engine is None else Role.STANDBY

    @property
    def role(self) -> Role:
        """As found by the last :meth:`check` (standby before the first one on PostgreSQL)."""
        return self._role

    @property
    def shared(self) -> bool:
        """Whether other daemons may share the database (PostgreSQL), so the role can change."""
        return self._engine is not None

    async def check(self) -> Role:
        """Keep the lock or try to take it; the role it leaves. A database out of reach
        makes this daemon standby (it cannot know that it still owns the node) and is not
        raised: the next check tries again."""
        if self._engine is None:
            return self._role
        if self._conn is not None and not await self._still_held(self._conn):
            await self._drop()
        if self._conn is None:
            self._conn = await self._try_lock(self._engine)
        self._role = Role.OWNER if self._conn is not None else Role.STANDBY
        return self._role

    async def _still_held(self, conn: AsyncConnection) -> bool:
        classid, objid = _lock_ids(self.key)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                held = await conn.scalar(_HELD, {"classid": classid, "objid": objid})
        except _CONNECTION_LOST:
            return False
        return bool(held)

    async def _try_lock(self, engine: AsyncEngine) -> AsyncConnection | None:
        """A connection holding the lock, or None (held elsewhere, or no database)."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                conn = await engine.connect()
        except _CONNECTION_LOST:
            return None
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                # Autocommit: the connection must not sit "idle in transaction" for days.
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                key = {"key": self.key}
                got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), key)
        except _CONNECTION_LOST:
            await _close_quietly(conn)
            return None
        if got:
            return conn
        await conn.close()
        return None

    async def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await _close_quietly(conn)
        self._role = Role.STANDBY if self._engine is not None else Role.OWNER

    async def close(self) -> None:
        """End the session, which frees the lock: a standby takes over at its next check."""
        await self._drop()
        if self._engine is not None:
            await self._engine.dispose()


async def _close_quietly(conn: AsyncConnection) -> None:
    """Close a connection that may be dead or unanswering: invalidated first (the driver
    closes its socket without a round trip, which ends the session and frees the lock
    whenever the server sees it), so closing never waits on a silent server."""
    try:
        await conn.invalidate()
        await conn.close()
    except _CONNECTION_LOST:
        pass


#: The name of the daemon's loop that keeps or takes the node (see :class:`OwnershipGate`).
OWNERSHIP_LOOP = "ownership"


class NotOwner(Exception):
    """A guarded loop's run while this daemon does not own the node: it waits, it does not
    fail (the supervisor records it as waiting, with this reason)."""


class OwnershipGate:
    """The daemon's side of ownership: an ``ownership`` loop that runs :meth:`Ownership.check`
    every ``retry_s``, and the guard that keeps the other loops from acting while this
    daemon is standby. Their runs raise :class:`NotOwner` instead (recorded as waiting and
    retried on the supervisor's backoff, never later than their interval), so on takeover
    each loop acts within ``retry_s`` plus at most its own interval. The role is not known
    before the first check: until then the daemon is standby."""

    def __init__(self, url: URL, pubkey: Callable[[], Awaitable[str]], retry_s: float) -> None:
        self._url = url
        self._pubkey = pubkey
        self.retry_s = retry_s
        self._ownership: Ownership | None = None

    @property
    def role(self) -> Role:
        return self._ownership.role if self._ownership is not None else Role.STANDBY

    async def check(self) -> None:
        """One ownership check; raises :class:`NotOwner` when standby, so the ``ownership``
        loop's health says so (and says why) in every process that reads it."""
        if self._ownership is None:  # the key needs the pubkey: asked of the node once
            self._ownership = Ownership(self._url, await self._pubkey())
        before = self._ownership.role
        after = await self._ownership.check()
        if after is not before:
            log.warning("node ownership: %s -> %s", before, after)
        if after is Role.STANDBY:
            raise NotOwner("standby: another daemon holds this node's lock")

    def loop(self, expected: tuple[type[Exception], ...]) -> Loop:
        """The ``ownership`` line of the loop table; ``expected`` are the outages (the node
        out of reach while its pubkey is first asked) logged in one line."""
        return Loop(
            OWNERSHIP_LOOP, self.retry_s, self.check, waits_on=(NotOwner,), expected=expected
        )

    def guard(self, loop: Loop) -> Loop:
        """``loop`` acting only while this daemon owns the node."""
        act = loop.run_once

        async def if_owner() -> object:
            if self.role is not Role.OWNER:
                raise NotOwner("standby: the node is owned by another daemon")
            return await act()

        return dataclasses.replace(loop, run_once=if_owner, waits_on=(*loop.waits_on, NotOwner))

    def guard_all(self, loops: Sequence[Loop], expected: tuple[type[Exception], ...]) -> list[Loop]:
        """The loop table of a daemon that may share its node: the ``ownership`` loop first,
        every other loop guarded."""
        return [self.loop(expected), *(self.guard(loop) for loop in loops)]

    async def close(self) -> None:
        if self._ownership is not None:
            await self._ownership.close()


def role_of(health: LoopHealth) -> Role:
    """The daemon's role as its loop health shows it, the same in an API worker process
    (which reads the health the daemon publishes) as in the daemon: owner without an
    ``ownership`` loop (SQLite: one daemon per file), else owner only once its last check
    found the lock held."""
    status = health.get(OWNERSHIP_LOOP)
    if status is None:
        return Role.OWNER
    if status.runs and status.waiting_for is None and not status.consecutive_failures:
        return Role.OWNER
    return Role.STANDBY
