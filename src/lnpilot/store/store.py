"""The store: one object per database, opened once per process and shared.

It hands out transactions (the collector's unit of work), readers, and runs the
maintenance the daemon schedules: rollups after each cycle, retention now and then.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from lnpilot.store import retention as _retention
from lnpilot.store import rollup as _rollup
from lnpilot.store.database import create_engine, reading, writing
from lnpilot.store.levels import Retention
from lnpilot.store.migrate import upgrade_engine
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import RollupReport
from lnpilot.store.transaction import StoreTransaction
from lnpilot.store.version import SnapshotProbe


class Store:
    """lnpilot's database. Open with ``await Store.open(url)``; close with ``close()`` or
    use it as an async context manager."""

    def __init__(self, engine: AsyncEngine, retention: Retention) -> None:
        self._engine = engine
        self.retention = retention
        self._probe: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()  # an app served from a thread (tests) shares it
        self._snapshots = SnapshotProbe(engine) if engine.dialect.name == "postgresql" else None

    async def data_version(self) -> int | str | None:
        """A value that changes whenever any connection (of this process or another)
        commits to the store, taken after the call began: what lets the faces keep a small
        read until the store changes (``service.readcache.Settled``). On SQLite,
        ``PRAGMA data_version`` asked on a read-only connection of its own that never
        writes, in a few microseconds and without leaving the event loop; on PostgreSQL the
        server's snapshot (:mod:`lnpilot.store.version`), one round trip shared by the
        requests waiting for it. None when it cannot be asked (read the store then)."""
        if self._snapshots is not None:
            return await self._snapshots.version()
        return self._sqlite_version()

    def _sqlite_version(self) -> int:
        with self._probe_lock:
            if self._probe is None:
                path = self._engine.url.database
                assert path is not None
                self._probe = sqlite3.connect(
                    Path(path).expanduser().absolute().as_uri() + "?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            version: int = self._probe.execute("PRAGMA data_version").fetchone()[0]
            return version

    @classmethod
    async def open(
        cls, url: str | URL, *, retention: Retention | None = None, migrate: bool = True
    ) -> Store:
        """Connect to ``url`` (see :func:`lnpilot.store.database.sqlite_url` for the default
        file) and bring its schema up to date unless ``migrate`` is False."""
        engine = create_engine(url)
        try:
            if migrate:
                await upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, retention or Retention())

    async def close(self) -> None:
        if self._snapshots is not None:
            await self._snapshots.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        """For maintenance and tests; the engine modules go through the methods."""
        return self._engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        """One atomic unit of work: committed when the block ends, rolled back if it
        raises. Writers to the same node wait for each other."""
        async with writing(self._engine) as conn:
            yield StoreTransaction(conn, self.retention)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StoreReader]:
        """Reads that all see the same snapshot of the database."""
        async with reading(self._engine) as conn:
            yield StoreReader(conn, self.retention)

    async def rollup(
        self, node_ids: Sequence[int] | None = None, *, chunk_rows: int = _rollup.DEFAULT_CHUNK_ROWS
    ) -> RollupReport:
        """Fold new raw rows into the 5-minute, hourly and daily rollups (all nodes when
        ``node_ids`` is None). Incremental and idempotent: run it after every cycle."""
        return await _rollup.roll_up(self._engine, node_ids, chunk_rows)

    async def apply_retention(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what the retention no longer keeps (raw rows only once rolled up);
        returns rows deleted per table."""
        return await _retention.apply_retention(
            self._engine, self.retention, now or datetime.now(UTC)
        )
