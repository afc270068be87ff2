"""The store's change signal on PostgreSQL: a value that is the same only while no
transaction has committed since it was taken.

SQLite has one for free (``PRAGMA data_version``); PostgreSQL has none per database, so this
asks for the server's current snapshot (``pg_current_snapshot()``: the oldest transaction
still running, the next transaction id to be assigned, and the transactions in progress).
What a new snapshot sees is determined by those three alone, so two equal snapshots see the
same committed data; a commit either removes a transaction from the in-progress list or, for
one that began after the first snapshot, has moved the next id on. Chosen over the other
ways considered:

- a counter row bumped by triggers in every writing transaction would be scoped to
  lnpilot's database, but takes a row lock held to commit in every writer (two writers
  touching rows in opposite orders could deadlock on it), and needs a trigger on every
  table, present and future;
- a sequence is not transactional (bumped before its transaction commits: a reader could
  key a stale read by the new value), and ``LISTEN``/``NOTIFY`` arrives after the commit
  (a request in between would be answered from the old state);
- ``pg_stat_database.xact_commit`` is updated lazily, not at commit.

The price of the snapshot: it moves with a write anywhere on the server, other databases
included (a shared server makes the faces' kept reads expire more often: read again, never
stale), and it is one round trip. Requests that arrive while a probe is under way share the
next one: a probe that began before a request arrived may predate a commit the request must
see, one that begins after it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"


class SnapshotProbe:
    """The server's current snapshot as text, asked on a connection of its own (autocommit:
    each probe is a fresh snapshot), shared by the requests that arrived before it began.
    None when the server cannot be asked (the readers then read the store, uncached)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._queued: asyncio.Task[str | None] | None = None
        self._last: asyncio.Task[str | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def version(self) -> str | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test's): start afresh
            self._loop, self._queued, self._last, self._conn = loop, None, None, None
        queued = self._queued
        if queued is None:
            queued = self._queued = loop.create_task(self._probe(self._last))
            self._last = queued
        return await asyncio.shield(queued)

    async def _probe(self, before: asyncio.Task[str | None] | None) -> str | None:
        if before is not None:
            await asyncio.wait([before])
        self._queued = None  # from here on, a request needs a probe that begins after it
        try:
            if self._conn is None:
                conn = await self._engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await self._conn.exec_driver_sql(SNAPSHOT_SQL)
            return str(result.scalar_one())
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            log.debug("no snapshot from the store: %s", type(exc).__name__)
            await self.close()
            return None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(DBAPIError, SQLAlchemyError, OSError):
                await conn.close()
