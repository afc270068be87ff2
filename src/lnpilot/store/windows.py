"""Exact per-channel totals over any time window, read mostly from the rollups.

A window rarely falls on bucket edges, and the rollups hold only what was rolled up. So the
window is cut in pieces (:func:`plan_window`): whole days from the daily level, then whole
hours, then whole five minutes at the ragged ends, and the rest — sub-five-minute edges, or
time a level no longer retains — from the raw forwards. Raw rows past the rollup watermark
are added wherever they fall. Every forward counts once, so the totals equal a sum over the
raw forwards, at the cost of a year's window reading about 365 + 2 x 23 + 2 x 11 buckets per
channel instead of every forward. Edges only lose exactness where retention has deleted raw
rows too (failed forwards after ``Retention.failed_forwards``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    RowMapping,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.aggregates import FLOWS
from lnpilot.store.levels import LEVELS, Resolution, Retention, bucket_ceil, bucket_floor, epoch_ns
from lnpilot.store.records import FlowStats
from lnpilot.store.rollup import watermark
from lnpilot.store.tables import channel_flows, failed_forwards, forwards

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class WindowPlan:
    """``[start, end)`` cut into level-aligned spans read from rollups, and raw spans."""

    rollups: tuple[tuple[Resolution, datetime, datetime], ...]
    raw: tuple[Span, ...]


def plan_window(
    start: datetime, end: datetime, horizons: Mapping[Resolution, datetime | None]
) -> WindowPlan:
    """Cover ``[start, end)`` with the coarsest buckets that fit, never before a level's
    horizon (where retention may have deleted it), raw where no level fits."""
    rollups: list[tuple[Resolution, datetime, datetime]] = []
    raw: list[Span] = []
    coarse_first = LEVELS[::-1]

    def cover(lo: datetime, hi: datetime, level: int) -> None:
        if lo >= hi:
            return
        if level == len(coarse_first):
            raw.append((lo, hi))
            return
        resolution = coarse_first[level]
        horizon = horizons[resolution]
        first = bucket_ceil(lo if horizon is None else max(lo, horizon), resolution)
        last = bucket_floor(hi, resolution)
        if first >= last:
            cover(lo, hi, level + 1)
            return
        rollups.append((resolution, first, last))
        cover(lo, first, level + 1)
        cover(last, hi, level + 1)

    cover(start, end, 0)
    return WindowPlan(rollups=tuple(rollups), raw=tuple(sorted(raw)))


async def channel_totals(
    conn: AsyncConnection,
    node_id: int,
    start: datetime,
    end: datetime,
    retention: Retention,
    now: datetime,
) -> dict[int, FlowStats]:
    plan = plan_window(start, end, {r: retention.horizon(r, now) for r in LEVELS})
    totals: defaultdict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOWS, 0))
    for resolution, lo, hi in plan.rollups:
        table = channel_flows[resolution]
        result = await conn.execute(
            select(table.c.chan_id, *(_sum(table.c[name]).label(name) for name in FLOWS))
            .where(
                table.c.node_id == node_id,
                table.c.bucket_start >= lo,
                table.c.bucket_start < hi,
            )
            .group_by(table.c.chan_id)
        )
        _add(totals, result.mappings())

    forwards_done = await watermark(conn, node_id, forwards.name)
    failed_done = await watermark(conn, node_id, failed_forwards.name)
    ns = forwards.c.timestamp_ns
    fw_window = and_(ns >= epoch_ns(start), ns < epoch_ns(end))
    fw_raw = _any_span(((epoch_ns(a), epoch_ns(b)) for a, b in plan.raw), ns)
    at = failed_forwards.c.at
    ff_window = and_(at >= start, at < end)
    ff_raw = _any_span(plan.raw, at)
    await _add_raw(conn, totals, node_id, fw_raw, ff_raw)
    await _add_raw(
        conn,
        totals,
        node_id,
        and_(forwards.c.id > forwards_done, fw_window, not_(fw_raw)),
        and_(failed_forwards.c.id > failed_done, ff_window, not_(ff_raw)),
    )
    return {chan_id: FlowStats(**values) for chan_id, values in sorted(totals.items())}


def _any_span(spans: Iterable[tuple[Any, Any]], column: ColumnElement[Any]) -> ColumnElement[bool]:
    conditions = [and_(column >= lo, column < hi) for lo, hi in spans]
    return or_(*conditions) if conditions else false()


async def _add_raw(
    conn: AsyncConnection,
    totals: defaultdict[int, dict[str, int]],
    node_id: int,
    forwards_where: ColumnElement[bool],
    failed_where: ColumnElement[bool],
) -> None:
    """Add the raw forwards and failed forwards matching the conditions, by channel."""
    f, ff = forwards.c, failed_forwards.c
    queries = (
        (
            f.chan_id_in,
            forwards_where,
            {
                "forwards_in": func.count(),
                "volume_in_msat": _sum(f.amt_in_msat),
                "fee_in_msat": _sum(f.fee_msat),
            },
        ),
        (
            f.chan_id_out,
            forwards_where,
            {
                "forwards_out": func.count(),
                "volume_out_msat": _sum(f.amt_out_msat),
                "fee_out_msat": _sum(f.fee_msat),
            },
        ),
        (ff.chan_id_in, failed_where, {"failed_in": func.count()}),
        (ff.chan_id_out, failed_where, {"failed_out": func.count()}),
    )
    for chan, where, sums in queries:
        result = await conn.execute(
            select(chan.label("chan_id"), *(expr.label(name) for name, expr in sums.items()))
            .where(chan.table.c.node_id == node_id, chan.is_not(None), where)
            .group_by(chan)
        )
        _add(totals, result.mappings())


def _sum(column: ColumnElement[Any]) -> ColumnElement[int]:
    """SUM as a 64-bit integer (PostgreSQL would widen it to numeric, read as Decimal)."""
    return cast(func.sum(column), BigInteger)


def _add(totals: defaultdict[int, dict[str, int]], rows: Iterable[RowMapping]) -> None:
    for row in rows:
        into = totals[row["chan_id"]]
        for name, value in row.items():
            if name != "chan_id":
                into[name] += value
