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

import functools
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
    bindparam,
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
    the dashboard's 30 days) costs one statement instead of one each.

    The statement depends only on the plans' shape (which levels, which ends are open), not
    on their times, which are bound parameters: it is built once per shape
    (:func:`_totals_statement`) rather than on every read, where building it cost as much
    as a third of the database's own time."""
    found: list[dict[int, FlowStats]] = [{} for _ in spans]
    horizons = {r: retention.horizon(r, now) for r in LEVELS}
    shapes: list[_SpanShape | None] = []
    params: dict[str, Any] = {"node_id": node_id}
    for index, (start, end) in enumerate(spans):
        if start >= end:
            shapes.append(None)
            continue
        open_end = end >= now
        plan = plan_window(start, end, horizons, open_end=open_end)
        shapes.append(
            _SpanShape(
                open_end=open_end,
                rollups=tuple((resolution, hi is None) for resolution, _, hi in plan.rollups),
                raw=tuple(hi is None for _, hi in plan.raw),
            )
        )
        _bind_time(params, f"s{index}", start, None if open_end else end)
        for j, (_, lo, hi) in enumerate(plan.rollups):
            params[f"s{index}_r{j}_lo"], params[f"s{index}_r{j}_hi"] = lo, hi
        for k, (lo, maybe_hi) in enumerate(plan.raw):
            _bind_time(params, f"s{index}_w{k}", lo, maybe_hi)
    if all(shape is None for shape in shapes):
        return found
    result = await conn.execute(_totals_statement(tuple(shapes)), params)
    for index, chan_id, *sums in result:
        found[index][chan_id] = FlowStats(**dict(zip(FLOWS, sums, strict=True)))
    return found


@dataclass(frozen=True)
class _SpanShape:
    """What a span's part of the statement looks like: its end open or not, its rollup
    levels (each with its end open or not) and its raw spans (each: end open or not)."""

    open_end: bool
    rollups: tuple[tuple[Resolution, bool], ...]
    raw: tuple[bool, ...]


def _bind_time(params: dict[str, Any], key: str, lo: datetime, hi: datetime | None) -> None:
    """``[lo, hi)`` under ``key``, as datetimes and as LND's nanosecond stamps (forwards)."""
    params[f"{key}_lo"], params[f"{key}_hi"] = lo, hi
    params[f"{key}_lo_ns"] = epoch_ns(lo)
    params[f"{key}_hi_ns"] = None if hi is None else epoch_ns(hi)


@functools.lru_cache(maxsize=256)
def _totals_statement(shapes: tuple[_SpanShape | None, ...]) -> Select[Any]:
    parts: list[Select[Any]] = []
    for index, shape in enumerate(shapes):
        if shape is not None:
            parts.extend(_span_parts(index, shape))
    rows = union_all(*parts).subquery()
    return (
        select(rows.c.span, rows.c.chan_id, *(_sum(rows.c[name]).label(name) for name in FLOWS))
        .group_by(rows.c.span, rows.c.chan_id)
        .order_by(rows.c.span, rows.c.chan_id)
    )


_NODE = bindparam("node_id", type_=Integer)


def _span_parts(index: int, shape: _SpanShape) -> list[Select[Any]]:
    """The rows that make up span ``index``'s totals, each tagged with the index."""
    span = literal(index, Integer)
    key = f"s{index}"
    raw = [(f"{key}_w{k}", open_hi) for k, open_hi in enumerate(shape.raw)]
    parts = _raw_parts(span, key, shape.open_end, raw)
    for j, (resolution, open_hi) in enumerate(shape.rollups):
        table = channel_flows[resolution]
        in_span = [table.c.bucket_start >= bindparam(f"{key}_r{j}_lo")]
        if not open_hi:
            in_span.append(table.c.bucket_start < bindparam(f"{key}_r{j}_hi"))
        parts.append(
            select(span.label("span"), table.c.chan_id, *(table.c[name] for name in FLOWS)).where(
                table.c.node_id == _NODE, *in_span
            )
        )
    return parts


def _raw_parts(
    span: ColumnElement[int],
    key: str,
    open_end: bool,
    raw: Sequence[tuple[str, bool]],
) -> list[Select[Any]]:
    """Per-row flow contributions of the raw forwards and failed forwards that count: those
    in the raw spans (``raw``: each one's parameter key, and whether its end is open), and
    those past the watermark (not in any rollup yet) elsewhere in the span (``key``;
    ``open_end``: from its start on)."""
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
            no_index(table.c.node_id) == _NODE,
            table.c.id > _watermark(table.name),
            _within(table, key, open_end, no_index),
            chan.is_not(None),
        ]
        if raw:
            in_spans = or_(*(_within(table, raw_key, open_hi) for raw_key, open_hi in raw))
            parts.append(
                select(*columns).where(table.c.node_id == _NODE, chan.is_not(None), in_spans)
            )
            unrolled.append(not_(in_spans))
        parts.append(select(*columns).where(*unrolled))
    return parts


def _within(
    table: Table,
    key: str,
    open_hi: bool,
    wrap: Callable[[ColumnElement[Any]], ColumnElement[Any]] = lambda column: column,
) -> ColumnElement[bool]:
    """The table's rows in the span bound under ``key`` (see :func:`_bind_time`; from its
    start on when ``open_hi``). Forwards are placed in time by LND's nanosecond stamp,
    failed forwards by ``at``."""
    at, suffix = (
        (wrap(forwards.c.timestamp_ns), "_ns") if table is forwards else (wrap(table.c.at), "")
    )
    low = at >= bindparam(f"{key}_lo{suffix}")
    return low if open_hi else and_(low, at < bindparam(f"{key}_hi{suffix}"))


_one = literal(1, BigInteger)
_zero = literal(0, BigInteger)


def _watermark(source: str) -> ColumnElement[int]:
    return (
        select(func.coalesce(func.max(rollup_watermarks.c.last_id), 0))
        .where(rollup_watermarks.c.node_id == _NODE, rollup_watermarks.c.source == source)
        .scalar_subquery()
    )


def _sum(column: ColumnElement[Any]) -> ColumnElement[int]:
    """SUM as a 64-bit integer (PostgreSQL would widen it to numeric, read as Decimal)."""
    return cast(func.sum(column), BigInteger)
