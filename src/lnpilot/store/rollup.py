"""Incremental rollups: raw rows past the watermark, folded into their buckets.

Each run reads, per node and raw table, the rows whose id is past that table's watermark,
aggregates them per channel and five-minute bucket, regroups those into hours and the hours
into days (the aggregates are mergeable, :mod:`aggregates`), merges each level into its
table with an upsert, and moves the watermark — all in one transaction per chunk. A second
run finds nothing past the watermark and changes nothing; a crash mid-chunk rolls the whole
chunk back. Late rows (a collector catching up after an outage) simply merge into older
buckets. Row ids follow commit order within a node (see :mod:`database`), so the watermark
never jumps over a row committed later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lnpilot.store.aggregates import FLOWS, LAST_AT, STATS, Kind, Row, merge_into, merge_on_conflict
from lnpilot.store.database import lock_node, reading, upsert, writing
from lnpilot.store.levels import LEVELS, Resolution, bucket_floor, time_from_ns
from lnpilot.store.records import RollupReport
from lnpilot.store.tables import (
    channel_flows,
    channel_snapshots,
    channel_stats,
    failed_forwards,
    forwards,
    nodes,
    rollup_watermarks,
)

#: Raw rows per transaction: bounds memory and how long a node's writers wait.
DEFAULT_CHUNK_ROWS = 20_000

Parts = Iterator[tuple[int, datetime, Row]]
Buckets = dict[tuple[int, datetime], Row]


@dataclass(frozen=True)
class _Source:
    """A raw table, the rollup tables it feeds, and what each of its rows adds to them."""

    table: Table
    targets: Mapping[Resolution, Table]
    kinds: Mapping[str, Kind]
    parts: Callable[[RowMapping], Parts]


def _snapshot_parts(row: RowMapping) -> Parts:
    local, remote = row["local_balance_msat"], row["remote_balance_msat"]
    yield (
        row["chan_id"],
        row["at"],
        {
            "samples": 1,
            "active_samples": int(row["active"]),
            "local_balance_min_msat": local,
            "local_balance_max_msat": local,
            "local_balance_sum_msat": local,
            "local_balance_last_msat": local,
            "remote_balance_min_msat": remote,
            "remote_balance_max_msat": remote,
            "remote_balance_sum_msat": remote,
            "remote_balance_last_msat": remote,
            "capacity_sat": row["capacity_sat"],
            "pending_htlcs_max": row["num_pending_htlcs"],
            "local_base_fee_msat": row["local_base_fee_msat"],
            "local_fee_rate_ppm": row["local_fee_rate_ppm"],
            "local_inbound_fee_rate_ppm": row["local_inbound_fee_rate_ppm"],
            "remote_base_fee_msat": row["remote_base_fee_msat"],
            "remote_fee_rate_ppm": row["remote_fee_rate_ppm"],
            "remote_inbound_fee_rate_ppm": row["remote_inbound_fee_rate_ppm"],
            LAST_AT: row["at"],
        },
    )


_NO_FLOW: Row = dict.fromkeys(FLOWS, 0)


def _forward_parts(row: RowMapping) -> Parts:
    fee = row["fee_msat"]
    at = time_from_ns(row["timestamp_ns"])
    yield (
        row["chan_id_in"],
        at,
        {
            **_NO_FLOW,
            "forwards_in": 1,
            "volume_in_msat": row["amt_in_msat"],
            "fee_in_msat": fee,
        },
    )
    yield (
        row["chan_id_out"],
        at,
        {
            **_NO_FLOW,
            "forwards_out": 1,
            "volume_out_msat": row["amt_out_msat"],
            "fee_out_msat": fee,
        },
    )


def _failed_forward_parts(row: RowMapping) -> Parts:
    if row["chan_id_in"] is not None:
        yield row["chan_id_in"], row["at"], {**_NO_FLOW, "failed_in": 1}
    if row["chan_id_out"] is not None:
        yield row["chan_id_out"], row["at"], {**_NO_FLOW, "failed_out": 1}


SOURCES = (
    _Source(channel_snapshots, channel_stats, STATS, _snapshot_parts),
    _Source(forwards, channel_flows, FLOWS, _forward_parts),
    _Source(failed_forwards, channel_flows, FLOWS, _failed_forward_parts),
)


async def roll_up(
    engine: AsyncEngine, node_ids: Sequence[int] | None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> RollupReport:
    """Roll up everything past the watermarks of the given nodes (all when None)."""
    if node_ids is None:
        async with reading(engine) as conn:
            node_ids = list((await conn.execute(select(nodes.c.id))).scalars())
    rows = dict.fromkeys((source.table.name for source in SOURCES), 0)
    for node_id in node_ids:
        for source in SOURCES:
            while True:
                async with writing(engine) as conn:
                    await lock_node(conn, node_id)
                    done = await _roll_up_chunk(conn, node_id, source, chunk_rows)
                rows[source.table.name] += done
                if done < chunk_rows:
                    break
    return RollupReport(rows=rows)


async def watermark(conn: AsyncConnection, node_id: int, source: str) -> int:
    """Highest id of ``source`` (a raw table name) rolled up for the node; 0 before any."""
    result = await conn.execute(
        select(rollup_watermarks.c.last_id).where(
            rollup_watermarks.c.node_id == node_id, rollup_watermarks.c.source == source
        )
    )
    return result.scalar_one_or_none() or 0


async def _roll_up_chunk(conn: AsyncConnection, node_id: int, source: _Source, limit: int) -> int:
    table = source.table
    done = await watermark(conn, node_id, table.name)
    result = await conn.execute(
        select(table)
        .where(table.c.node_id == node_id, table.c.id > done)
        .order_by(table.c.id)
        .limit(limit)
    )
    rows = result.mappings().all()
    if not rows:
        return 0
    for resolution, buckets in aggregate(rows, source.parts, source.kinds).items():
        if not buckets:  # e.g. failed forwards that name no channel
            continue
        target = source.targets[resolution]
        stmt = upsert(conn, target)
        stmt = stmt.on_conflict_do_update(
            index_elements=[target.c.node_id, target.c.chan_id, target.c.bucket_start],
            set_=merge_on_conflict(target, stmt.excluded, source.kinds),
        )
        await conn.execute(
            stmt,
            [
                {"node_id": node_id, "chan_id": chan_id, "bucket_start": start, **values}
                for (chan_id, start), values in buckets.items()
            ],
        )
    stmt = upsert(conn, rollup_watermarks).values(
        node_id=node_id, source=table.name, last_id=rows[-1]["id"]
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[rollup_watermarks.c.node_id, rollup_watermarks.c.source],
            set_={"last_id": stmt.excluded.last_id},
        )
    )
    return len(rows)


def aggregate(
    rows: Sequence[RowMapping],
    parts: Callable[[RowMapping], Parts],
    kinds: Mapping[str, Kind],
) -> dict[Resolution, Buckets]:
    """Partial aggregates of ``rows`` per channel and bucket, at every level."""
    finest, *coarser = LEVELS
    buckets: Buckets = {}
    for row in rows:
        for chan_id, at, values in parts(row):
            key = (chan_id, bucket_floor(at, finest))
            if key in buckets:
                merge_into(buckets[key], values, kinds)
            else:
                buckets[key] = values
    levels = {finest: buckets}
    for resolution in coarser:
        buckets = _regroup(buckets, resolution, kinds)
        levels[resolution] = buckets
    return levels


def _regroup(finer: Buckets, resolution: Resolution, kinds: Mapping[str, Kind]) -> Buckets:
    coarser: Buckets = {}
    for (chan_id, start), values in finer.items():
        key = (chan_id, bucket_floor(start, resolution))
        if key in coarser:
            merge_into(coarser[key], values, kinds)
        else:
            coarser[key] = dict(values)  # a copy: merging into it must not alter the finer level
    return coarser
