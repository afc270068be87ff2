"""A channel's time series from the rollups, at a resolution picked for the range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.aggregates import FLOWS, STATS
from lnpilot.store.levels import LEVELS, Resolution, Retention, bucket_floor
from lnpilot.store.records import BalanceStats, ChannelSeries, FlowStats, SeriesPoint
from lnpilot.store.tables import channel_flows, channel_stats

STATS_COLUMNS = tuple(STATS)
FLOW_COLUMNS = tuple(FLOWS)
#: About what a chart can draw legibly across a screen.
DEFAULT_MAX_POINTS = 1000


def pick_resolution(
    start: datetime, end: datetime, retention: Retention, now: datetime, max_points: int
) -> Resolution:
    """The finest level still retained at ``start`` that fits ``max_points`` buckets;
    the daily level if none does (it is never smaller than the others)."""
    for resolution in LEVELS:
        horizon = retention.horizon(resolution, now)
        buckets = -((bucket_floor(start, resolution) - end) // resolution.step)
        if (horizon is None or horizon <= start) and buckets <= max_points:
            return resolution
    return LEVELS[-1]


async def channel_series(
    conn: AsyncConnection,
    node_id: int,
    chan_id: int,
    start: datetime,
    end: datetime,
    resolution: Resolution,
) -> ChannelSeries:
    """The buckets of ``resolution`` that overlap ``[start, end)`` and hold any data."""
    first = bucket_floor(start, resolution)
    stats_table, flows_table = channel_stats[resolution], channel_flows[resolution]

    async def buckets(table: Table, columns: Sequence[str]) -> dict[datetime, dict[str, Any]]:
        result = await conn.execute(
            select(table.c.bucket_start, *(table.c[name] for name in columns)).where(
                table.c.node_id == node_id,
                table.c.chan_id == chan_id,
                table.c.bucket_start >= first,
                table.c.bucket_start < end,
            )
        )
        return {at: dict(zip(columns, values, strict=True)) for at, *values in result.all()}

    balances = {
        at: BalanceStats(**v) for at, v in (await buckets(stats_table, STATS_COLUMNS)).items()
    }
    flows = {at: FlowStats(**v) for at, v in (await buckets(flows_table, FLOW_COLUMNS)).items()}
    points = tuple(
        SeriesPoint(bucket_start=at, balance=balances.get(at), flow=flows.get(at, FlowStats()))
        for at in sorted(balances.keys() | flows.keys())
    )
    return ChannelSeries(chan_id=chan_id, resolution=resolution, points=points)
