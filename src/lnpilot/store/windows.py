"""Exact per-channel totals over any time window, read mostly from the rollups.

A window rarely falls on bucket edges, and the rollups hold only what was rolled up. So the
window is cut in pieces (:func:`plan_window`): whole days from the daily level, then whole
hours, then whole five minutes at the ragged ends, and the rest — sub-five-minute edges, or
time a level no longer retains — from the raw forwards. Raw rows past the rollup watermark
are added wherever they fall. Every forward counts once, so the totals equal a sum over the
raw forwards, at the cost of a year's window reading about 365 + 2 x 23 + 2 x 11 buckets per
channel instead of every forward. Edges only lose exactness where retention has deleted raw
rows too (failed forwards after ``Retention.failed_forwards``).

A window that reaches ``now`` is open-ended: nothing lies after its end but rows that a node
clock running ahead stamped in the future, and it counts those too. Its last span then
needs no edge: ``[start, now)`` reads the days from the first midnight on, today's partial
day included, and only the hours (and so on) before that midnight — half the work of the
dashboard's "last 7 days".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.aggregates import FLOWS
from lnpilot.store.database import no_index
from lnpilot.store.levels import LEVELS, Resolution, Retention, bucket_ceil, bucket_floor, epoch_ns
from lnpilot.store.records import FlowStats
from lnpilot.store.tables import channel_flows, failed_forwards, forwards, rollup_watermarks

#: ``[start, end)``; an end of None leaves the span open (see the module docstring).
Span = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class WindowPlan:
    """A window cut into level-aligned spans read from rollups, and raw spans."""

    rollups: tuple[tuple[Resolution, datetime, datetime | None], ...]
    raw: tuple[Span, ...]


def plan_window(
    start: datetime,
    end: datetime,
    horizons: Mapping[Resolution, datetime | None],
    *,
    open_end: bool = False,
) -> WindowPlan:
    """Cover ``[start, end)`` — or ``[start, ...)`` with ``open_end`` — with the coarsest
    buckets that fit, never before a level's horizon (where retention may have deleted it),
    raw where no level fits."""
    rollups: list[tuple[Resolution, datetime, datetime | None]] = []
    raw: list[Span] = []
    coarse_first = LEVELS[::-1]

    def cover(lo: datetime, hi: datetime | None, level: int) -> None:
        if hi is not None and lo >= hi:
            return
        if level == len(coarse_first):
            raw.append((lo, hi))
            return
        resolution = coarse_first[level]
        horizon = horizons[resolution]
        first = bucket_ceil(lo if horizon is None else max(lo, horizon), resolution)
        last = None if hi is None else bucket_floor(hi, resolution)
        if last is not None and first >= last:
            cover(lo, hi, level + 1)
            return
        rollups.append((resolution, first, last))
        cover(lo, first, level + 1)
        if hi is not None and last is not None:
            cover(last, hi, level + 1)

    if start < end:
        cover(start, None if open_end else end, 0)
    return WindowPlan(rollups=tuple(rollups), raw=tuple(sorted(raw, key=lambda span: span[0])))


async def channel_totals(
    conn: AsyncConnection,
    node_id: int,
    spans: Sequence[tuple[datetime, datetime]],
    retention: Retention,
    now: datetime,
) -> list[dict[int, FlowStats]]:
    """Every channel's totals over each of ``spans`` (``[start, end)``), in their order.

    One statement for all of them, so one snapshot on any isolation level and one round
    trip: each span's plan becomes rollup parts, raw rows in its raw spans and raw rows past
    the watermark elsewhere in it, every part tagged with the span's index, and the union
    is summed by span and channel. A list of windows (the channel list's 1, 7 and 30 days,
    the dashboard's 30 days) costs one statement instead of one each."""
    found: list[dict[int, FlowStats]] = [{} for _ in spans]
    horizons = {r: retention.horizon(r, now) for r in LEVELS}
    parts: list[Select[Any]] = []
    for index, (start, end) in enumerate(spans):
        if start < end:
            parts.extend(_span_parts(node_id, literal(index, Integer), start, end, horizons, now))
    if not parts:
        return found
    rows = union_all(*parts).subquery()
    result = await conn.execute(
        select(rows.c.span, rows.c.chan_id, *(_sum(rows.c[name]).label(name) for name in FLOWS))
        .group_by(rows.c.span, rows.c.chan_id)
        .order_by(rows.c.span, rows.c.chan_id)
    )
    for index, chan_id, *sums in result:
        found[index][chan_id] = FlowStats(**dict(zip(FLOWS, sums, strict=True)))
    return found


def _span_parts(
    node_id: int,
    span: ColumnElement[int],
    start: datetime,
    end: datetime,
    horizons: Mapping[Resolution, datetime | None],
    now: datetime,
) -> list[Select[Any]]:
    """The rows that make up ``[start, end)``'s totals, each tagged ``span``."""
    open_end = end >= now
    plan = plan_window(start, end, horizons, open_end=open_end)
    parts = _raw_parts(node_id, span, start, None if open_end else end, plan.raw)
    for resolution, lo, hi in plan.rollups:
        table = channel_flows[resolution]
        in_span = [table.c.bucket_start >= lo]
        if hi is not None:
            in_span.append(table.c.bucket_start < hi)
        parts.append(
            select(span.label("span"), table.c.chan_id, *(table.c[name] for name in FLOWS)).where(
                table.c.node_id == node_id, *in_span
            )
        )
    return parts


def _raw_parts(
    node_id: int,
    span: ColumnElement[int],
    start: datetime,
    end: datetime | None,
    raw: tuple[Span, ...],
) -> list[Select[Any]]:
    """Per-row flow contributions of the raw forwards and failed forwards that count: those
    in the raw spans, and those past the watermark (not in any rollup yet) elsewhere in
    ``[start, end)`` (``end`` None: open)."""
    f, ff = forwards.c, failed_forwards.c
    contributions: list[tuple[Table, ColumnElement[Any], dict[str, ColumnElement[Any]]]] = [
        (
            forwards,
            f.chan_id_in,
            {"forwards_in": _one, "volume_in_msat": f.amt_in_msat, "fee_in_msat": f.fee_msat},
        ),
        (
            forwards,
            f.chan_id_out,
            {"forwards_out": _one, "volume_out_msat": f.amt_out_msat, "fee_out_msat": f.fee_msat},
        ),
        (failed_forwards, ff.chan_id_in, {"failed_in": _one}),
        (failed_forwards, ff.chan_id_out, {"failed_out": _one}),
    ]
    parts = []
    for table, chan, values in contributions:
        columns = [
            span.label("span"),
            chan.label("chan_id"),
            *(values.get(n, _zero).label(n) for n in FLOWS),
        ]
        # Past the watermark: a few recent rows, found by id, not by scanning the whole
        # window of the (node, time) index.
        unrolled = [
            no_index(table.c.node_id) == node_id,
            table.c.id > _watermark(node_id, table.name),
            _within(table, start, end, no_index),
            chan.is_not(None),
        ]
        if raw:
            in_spans = or_(*(_within(table, lo, hi) for lo, hi in raw))
            parts.append(
                select(*columns).where(table.c.node_id == node_id, chan.is_not(None), in_spans)
            )
            unrolled.append(not_(in_spans))
        parts.append(select(*columns).where(*unrolled))
    return parts


def _within(
    table: Table,
    lo: datetime,
    hi: datetime | None,
    wrap: Callable[[ColumnElement[Any]], ColumnElement[Any]] = lambda column: column,
) -> ColumnElement[bool]:
    """The table's rows in ``[lo, hi)`` (``hi`` None: from ``lo`` on). Forwards are placed
    in time by LND's nanosecond stamp, failed forwards by ``at``."""
    low: Any
    high: Any
    if table is forwards:
        at = wrap(forwards.c.timestamp_ns)
        low, high = epoch_ns(lo), None if hi is None else epoch_ns(hi)
    else:
        at, low, high = wrap(table.c.at), lo, hi
    return at >= low if high is None else and_(at >= low, at < high)


_one = literal(1, BigInteger)
_zero = literal(0, BigInteger)


def _watermark(node_id: int, source: str) -> ColumnElement[int]:
    return (
        select(func.coalesce(func.max(rollup_watermarks.c.last_id), 0))
        .where(rollup_watermarks.c.node_id == node_id, rollup_watermarks.c.source == source)
        .scalar_subquery()
    )


def _sum(column: ColumnElement[Any]) -> ColumnElement[int]:
    """SUM as a 64-bit integer (PostgreSQL would widen it to numeric, read as Decimal)."""
    return cast(func.sum(column), BigInteger)
