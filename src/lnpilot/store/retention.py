"""Deleting what retention no longer keeps — and never a raw row not yet rolled up.

Raw rows go once they are older than their retention *and* at or below their node's rollup
watermark, so a rollup that fell behind (the daemon was down) loses nothing. Rollup buckets
go by age alone: every level is built from the raw rows at once, so whatever a finer level
drops is already in the coarser ones. With ``Retention.archive_dir`` the raw rows are archived
before they go (:mod:`lnpilot.store.retention_archive`); rollups are not, being derived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def apply_retention(
    engine: AsyncEngine, retention: Retention, now: datetime
) -> dict[str, int]:
    """Delete what ``retention`` lets go of as of ``now``; rows deleted per table."""
    deleted: dict[str, int] = {}
    raw_kept = (
        (channel_snapshots, retention.raw),
        (forwards, retention.forwards),
        (failed_forwards, retention.failed_forwards),
    )
    async with writing(engine) as conn:
        for table, kept in raw_kept:
            if kept is None:
                continue
            doomed = [_older_than(table, now - kept), table.c.id <= _watermark_of(table)]
            if retention.archive_dir is not None:
                await archive_rows(conn, table, doomed, retention.archive_dir)
            result = await conn.execute(delete(table).where(*doomed))
            deleted[table.name] = result.rowcount
        node_ids = list((await conn.execute(select(nodes.c.id))).scalars())
        for resolution in LEVELS:
            kept = retention.of(resolution)
            if kept is None:
                continue
            for family in (channel_stats, channel_flows):
                target = family[resolution]
                deleted[target.name] = 0
                for node_id in node_ids:  # node by node: each a range of the time index
                    result = await conn.execute(
                        delete(target).where(
                            target.c.node_id == node_id, target.c.bucket_start < now - kept
                        )
                    )
                    deleted[target.name] += result.rowcount
    return deleted


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
