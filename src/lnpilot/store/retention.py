"""Deleting what retention no longer keeps — and never a raw row not yet rolled up.

Raw rows go once they are older than their retention *and* at or below their node's rollup
watermark, so a rollup that fell behind (the daemon was down) loses nothing. Rollup buckets
go by age alone: every level is built from the raw rows at once, so whatever a finer level
drops is already in the coarser ones. With ``Retention.archive_dir`` the raw rows are archived
before they go (:mod:`lnpilot.store.retention_archive`); rollups are not, being derived.

Deletes run in batches of at most ``batch_rows`` rows (plus the ties of the last one's time
or id), each batch its own transaction: a year of backlog at a million forwards would
otherwise hold SQLite's single write lock for most of a minute (measured: 57 s), and the
collector, the API's writes and the rollup would all wait for it. Each batch is archived
before it is deleted, in that batch's transaction, so a failure loses no row. On
PostgreSQL the raw tables are partitioned by month (:mod:`lnpilot.store.partitions`): a
month that retention lets go of entirely is dropped as a whole first, which takes no row
locks and gives its disk back at once; batches then delete what remains of the month
that straddles the cutoff.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from lnpilot.store import partitions
from lnpilot.store.database import writing
from lnpilot.store.levels import LEVELS, Retention, epoch_ns
from lnpilot.store.retention_archive import archive_rows
from lnpilot.store.tables import (
    channel_flows,
    channel_snapshots,
    channel_stats,
    failed_forwards,
    forwards,
    nodes,
    rollup_watermarks,
)

#: Rows deleted per transaction: a few tens of milliseconds of write lock on SQLite.
BATCH_ROWS = 5_000


async def apply_retention(
    engine: AsyncEngine, retention: Retention, now: datetime, *, batch_rows: int = BATCH_ROWS
) -> dict[str, int]:
    """Delete what ``retention`` lets go of as of ``now``; rows deleted per table."""
    deleted: dict[str, int] = {}
    raw_kept = (
        (channel_snapshots, retention.raw),
        (forwards, retention.forwards),
        (failed_forwards, retention.failed_forwards),
    )
    for table, kept in raw_kept:
        if kept is None:
            continue
        cutoff = now - kept
        doomed = [_older_than(table, cutoff), table.c.id <= _watermark_of(table)]
        dropped = await partitions.drop_older_than(
            engine, table, cutoff, _watermark_of(table), retention.archive_dir
        )
        deleted[table.name] = dropped + await _delete_in_batches(
            engine, table, table.c.id, doomed, batch_rows, retention.archive_dir
        )
    async with writing(engine) as conn:
        node_ids = list((await conn.execute(select(nodes.c.id))).scalars())
    for resolution in LEVELS:
        kept = retention.of(resolution)
        if kept is None:
            continue
        for family in (channel_stats, channel_flows):
            target = family[resolution]
            deleted[target.name] = 0
            for node_id in node_ids:  # node by node: each a range of the time index
                doomed = [target.c.node_id == node_id, target.c.bucket_start < now - kept]
                deleted[target.name] += await _delete_in_batches(
                    engine, target, target.c.bucket_start, doomed, batch_rows, None
                )
    return deleted


async def _delete_in_batches(
    engine: AsyncEngine,
    table: Table,
    order: ColumnElement[object],
    doomed: list[ColumnElement[bool]],
    batch_rows: int,
    archive_dir: Path | None,
) -> int:
    """Delete the rows matching ``doomed`` in transactions of some ``batch_rows`` rows,
    oldest ``order`` first: each takes the rows up to the ``batch_rows``-th one's ``order``
    value (ties included, so a batch may run over by a bucket's channels). Returns the
    number of rows deleted."""
    total = 0
    while True:
        async with writing(engine) as conn:
            last = (
                await conn.execute(
                    select(order).where(*doomed).order_by(order).offset(batch_rows - 1).limit(1)
                )
            ).scalar_one_or_none()
            batch = [*doomed, order <= last] if last is not None else doomed
            if archive_dir is not None:
                await archive_rows(conn, table, batch, archive_dir)
            total += (await conn.execute(delete(table).where(*batch))).rowcount
        if last is None:
            return total


def _older_than(table: Table, cutoff: datetime) -> ColumnElement[bool]:
    if table is forwards:  # timed by LND's nanosecond stamp
        return forwards.c.timestamp_ns < epoch_ns(cutoff)
    return table.c.at < cutoff


def _watermark_of(table: Table) -> ColumnElement[int]:
    """The watermark of the row's own node, for the table (NULL, so nothing, before any)."""
    return (
        select(rollup_watermarks.c.last_id)
        .where(
            rollup_watermarks.c.node_id == table.c.node_id,
            rollup_watermarks.c.source == table.name,
        )
        .scalar_subquery()
    )
