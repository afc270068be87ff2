"""Monthly partitions of the raw time series on PostgreSQL, made as rows arrive, dropped by
retention.

``forwards`` (by LND's ``timestamp_ns``), ``channel_snapshots`` and ``failed_forwards`` (by
``at``) are declaratively partitioned by range there (migration ``0010_partitions``), one
partition per calendar month (UTC), named ``<table>_pYYYYMM`` and kept in the schema
``lnpilot_partitions`` so the tables lnpilot declares stay alone in the default one. There is
no default partition: a row of a month without its partition would fail to insert, so every
writer calls :func:`ensure_for_rows` first, which creates the months the rows need (a
collector catching up on years of history creates years of months once). Creation is
serialised by an advisory lock, so two daemons needing the same month do not race.

Retention drops a month whole when all of it is past the cutoff and rolled up
(:func:`drop_older_than`): no row-by-row delete, no dead tuples left for vacuum, the disk
given back at once. SQLite keeps plain tables (it has no partitions); this module does
nothing there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lnpilot.store.database import lock_partitions, writing
from lnpilot.store.levels import epoch_ns, time_from_ns
from lnpilot.store.retention_archive import archive_rows

SCHEMA = "lnpilot_partitions"
#: Each partitioned table and the column it is partitioned by.
PARTITION_KEYS = {"forwards": "timestamp_ns", "channel_snapshots": "at", "failed_forwards": "at"}


def month_of(at: datetime) -> datetime:
    """Start of the calendar month (UTC) holding ``at``."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(table: str, at: datetime) -> str:
    """``at`` as a range bound literal of ``table``'s partition key."""
    if PARTITION_KEYS[table] == "timestamp_ns":
        return str(epoch_ns(at))
    return f"'{at.isoformat()}'"


def _time_of(table: str, value: Any) -> datetime:
    return time_from_ns(value) if PARTITION_KEYS[table] == "timestamp_ns" else value


def _key_bound(table: Table, at: datetime) -> Any:
    """``at`` as a value of ``table``'s partition key, for comparisons."""
    return epoch_ns(at) if PARTITION_KEYS[table.name] == "timestamp_ns" else at


def _is_partitioned(conn: AsyncConnection, table: Table) -> bool:
    return conn.dialect.name == "postgresql" and table.name in PARTITION_KEYS


async def months(conn: AsyncConnection, table: Table) -> list[datetime]:
    """The months ``table`` has a partition for, oldest first."""
    result = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": table.name},
    )
    prefix = f"{table.name}_p"
    return sorted(
        datetime(int(name[-6:-2]), int(name[-2:]), 1, tzinfo=UTC)
        for name in result.scalars()
        if name.startswith(prefix) and name[len(prefix) :].isdigit()
    )


async def ensure_for_rows(
    conn: AsyncConnection, table: Table, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Create the partitions for the months ``rows`` of ``table`` span that do not exist yet
    (PostgreSQL; nothing on SQLite)."""
    if not _is_partitioned(conn, table):
        return
    key = PARTITION_KEYS[table.name]
    values = [row[key] for row in rows]
    if not values:
        return
    # Every month from the oldest row's to the newest's: two conversions, not one per row
    # (a batch of history spans a few months at most; one between without rows is harmless).
    needed, month = [], month_of(_time_of(table.name, min(values)))
    last = month_of(_time_of(table.name, max(values)))
    while month <= last:
        needed.append(month)
        month = next_month(month)
    missing = set(needed) - set(await months(conn, table))
    if not missing:
        return
    await lock_partitions(conn)
    for month in sorted(missing):
        name = partition_name(table.name, month)
        lower, upper = _bound(table.name, month), _bound(table.name, next_month(month))
        await conn.exec_driver_sql(
            f'CREATE TABLE IF NOT EXISTS {SCHEMA}."{name}" PARTITION OF "{table.name}"'
            f" FOR VALUES FROM ({lower}) TO ({upper})"
        )


async def drop_older_than(
    engine: AsyncEngine,
    table: Table,
    cutoff: datetime,
    watermark: ColumnElement[int],
    archive_dir: Path | None,
) -> int:
    """Drop the partitions of ``table`` that end at or before ``cutoff`` and hold no row past
    its node's rollup ``watermark``, archiving their rows first when ``archive_dir`` is
    set; each in a transaction of its own. Returns the rows dropped (0 on SQLite)."""
    async with writing(engine) as conn:
        if not _is_partitioned(conn, table):
            return 0
        held = await months(conn, table)
    dropped = 0
    key = table.c[PARTITION_KEYS[table.name]]
    for month in held:
        end = next_month(month)
        if end > cutoff:
            break
        in_month = [key >= _key_bound(table, month), key < _key_bound(table, end)]
        name = f'{SCHEMA}."{partition_name(table.name, month)}"'
        async with writing(engine) as conn:
            pending = or_(watermark.is_(None), table.c.id > watermark)
            if (await conn.execute(select(exists().where(*in_month, pending)))).scalar():
                continue  # not rolled up yet: the batches keep what they must
            count, top = (
                await conn.execute(select(func.count(), func.max(table.c.id)).where(*in_month))
            ).one()
            if archive_dir is not None:
                await archive_rows(conn, table, in_month, archive_dir)
            # The checks above take no lock that stops anyone; the exclusive lock, which
            # stops readers of the table too, is held only from here to the commit. A row
            # that came in since (ids only grow) shows as a new top id: then the month stays.
            await conn.exec_driver_sql(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
            now_top = (await conn.execute(select(func.max(table.c.id)).where(*in_month))).scalar()
            if now_top != top:
                continue
            await conn.exec_driver_sql(f"DROP TABLE {name}")
            dropped += count
    return dropped
