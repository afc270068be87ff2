"""Per-channel totals over any window equal the sums over the raw forwards in it."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from lnpilot.base.domain import FailedForward, Forward
from lnpilot.store import FlowStats, Store
from lnpilot.store.levels import LEVELS, Resolution, Retention, bucket_ceil, bucket_floor, epoch_ns
from lnpilot.store.windows import plan_window

from .factories import T0, chan_id, forward, new_node
from .test_rollup import SPAN_S, failed_st, forwards_st

#: Whole seconds (bucket edges are likely) or any microsecond, around the data's span.
instants = st.integers(-3600, SPAN_S + 3600).map(lambda s: T0 + timedelta(seconds=s)) | st.integers(
    0, SPAN_S * 10**6
).map(lambda us: T0 + timedelta(microseconds=us))


def _horizon(resolution: Resolution) -> st.SearchStrategy[datetime | None]:
    return st.none() | instants.map(lambda at: bucket_ceil(at, resolution))


horizons = st.fixed_dictionaries({r: _horizon(r) for r in LEVELS})


@given(
    start=instants,
    length=st.integers(0, SPAN_S * 10**6),
    horizons=horizons,
    open_end=st.booleans(),
)
def test_a_window_plan_covers_the_window_once_with_aligned_retained_buckets(
    start: datetime, length: int, horizons: dict[Resolution, datetime | None], open_end: bool
) -> None:
    end = start + timedelta(microseconds=length)
    plan = plan_window(start, end, horizons, open_end=open_end)
    spans = sorted([(lo, hi) for _, lo, hi in plan.rollups] + list(plan.raw), key=lambda s: s[0])
    if start >= end:
        assert spans == []
        return
    assert spans[0][0] == start
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), "no gap, no overlap"
    assert spans[-1][1] == (None if open_end else end)
    for resolution, lo, hi in plan.rollups:
        assert bucket_floor(lo, resolution) == lo
        assert hi is None or bucket_floor(hi, resolution) == hi
        horizon = horizons[resolution]
        assert horizon is None or lo >= horizon


def test_a_year_is_read_mostly_from_days() -> None:
    start = datetime(2024, 3, 1, 12, 34, 56, 789, tzinfo=T0.tzinfo)
    plan = plan_window(start, start + timedelta(days=365), dict.fromkeys(LEVELS))
    days = [(lo, hi) for r, lo, hi in plan.rollups if r is Resolution.DAY]
    assert days == [
        (
            bucket_ceil(start, Resolution.DAY),
            bucket_floor(start + timedelta(days=365), Resolution.DAY),
        )
    ]
    raw = [(lo, hi) for lo, hi in plan.raw if hi is not None]
    assert raw == list(plan.raw) and sum((hi - lo for lo, hi in raw), timedelta()) < timedelta(
        minutes=10
    )


def test_a_window_up_to_now_needs_no_edge_after_the_last_midnight() -> None:
    now = datetime(2025, 6, 1, 14, 0, tzinfo=T0.tzinfo)
    plan = plan_window(now - timedelta(days=7), now, dict.fromkeys(LEVELS), open_end=True)
    assert plan.rollups == (
        (Resolution.DAY, datetime(2025, 5, 26, tzinfo=T0.tzinfo), None),
        (Resolution.HOUR, now - timedelta(days=7), datetime(2025, 5, 26, tzinfo=T0.tzinfo)),
    )
    assert plan.raw == ()


def raw_totals(
    forwards: list[Forward], failed: list[FailedForward], start: datetime, end: datetime | None
) -> dict[int, FlowStats]:
    """Sums over the raw rows in ``[start, end)``; ``end`` None: open."""
    sums: defaultdict[int, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    last_ns = None if end is None else epoch_ns(end)
    for f in forwards:
        if epoch_ns(start) <= f.timestamp_ns and (last_ns is None or f.timestamp_ns < last_ns):
            sums[f.chan_id_in]["forwards_in"] += 1
            sums[f.chan_id_in]["volume_in_msat"] += f.amt_in_msat
            sums[f.chan_id_in]["fee_in_msat"] += f.fee_msat
            sums[f.chan_id_out]["forwards_out"] += 1
            sums[f.chan_id_out]["volume_out_msat"] += f.amt_out_msat
            sums[f.chan_id_out]["fee_out_msat"] += f.fee_msat
    for ff in failed:
        if start <= ff.timestamp and (end is None or ff.timestamp < end):
            if ff.chan_id_in is not None:
                sums[ff.chan_id_in]["failed_in"] += 1
            if ff.chan_id_out is not None:
                sums[ff.chan_id_out]["failed_out"] += 1
    return {cid: FlowStats(**values) for cid, values in sorted(sums.items())}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rolled=st.tuples(st.lists(forwards_st, max_size=10), st.lists(failed_st, max_size=5)),
    pending=st.tuples(st.lists(forwards_st, max_size=5), st.lists(failed_st, max_size=3)),
    windows=st.lists(st.tuples(instants, instants), min_size=1, max_size=4),
    now_offset_s=st.integers(0, SPAN_S) | st.integers(35 * 86_400, 39 * 86_400),
)
async def test_window_totals_equal_sums_over_the_raw_forwards(
    store: Store,
    rolled: tuple[list[Forward], list[FailedForward]],
    pending: tuple[list[Forward], list[FailedForward]],
    windows: list[tuple[datetime, datetime]],
    now_offset_s: int,
) -> None:
    """Some forwards rolled up, some not yet; ``now`` either moves the five-minute level's
    horizon across the data, so windows mix every level, raw edges and unrolled rows, or
    falls within the data, so windows reaching it are open-ended and count what follows.
    Read one by one and all in one statement (overlapping or not), the totals agree."""
    node = await new_node(store)
    forwards: dict[tuple[int, int, int, int | None], Forward] = {}
    failed: dict[tuple[datetime, int | None, int | None], FailedForward] = {}
    for (batch_forwards, batch_failed), roll in ((rolled, True), (pending, False)):
        async with store.transaction() as tx:
            await tx.append_forwards(node, batch_forwards)
            await tx.append_failed_forwards(node, batch_failed)
        for f in batch_forwards:
            forwards.setdefault(
                (f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.incoming_htlc_id), f
            )
        for ff in batch_failed:
            failed.setdefault((ff.timestamp, ff.chan_id_in, ff.chan_id_out), ff)
        if roll:
            await store.rollup([node])
    now = T0 + timedelta(seconds=now_offset_s)
    spans = [(min(a, b), max(a, b)) for a, b in windows]
    expected = [
        raw_totals(
            list(forwards.values()),
            list(failed.values()),
            start,
            None if end >= now and start < end else end,
        )
        for start, end in spans
    ]
    async with store.read() as r:
        for (start, end), totals in zip(spans, expected, strict=True):
            assert await r.channel_totals(node, start, end, now=now) == totals
        assert await r.channel_totals_over(node, spans, now=now) == expected, "in one statement"


def test_default_retention_keeps_the_hourly_level_two_years() -> None:
    now = T0
    assert Retention().horizon(Resolution.HOUR, now) == bucket_ceil(
        now - timedelta(days=730), Resolution.HOUR
    )
    assert Retention().horizon(Resolution.DAY, now) is None


async def test_totals_come_from_the_rollups_once_raw_rows_are_gone(
    store: Store, database_url: URL
) -> None:
    node = await new_node(store)
    cid, other = chan_id(800_300), chan_id(800_301)
    day = bucket_floor(T0, Resolution.DAY)
    async with store.transaction() as tx:
        await tx.append_forwards(
            node, [forward(day + timedelta(hours=h), cid, other, 1_000, 1, h) for h in range(24)]
        )
    await store.rollup([node])
    now = day + timedelta(days=30)
    async with await Store.open(
        database_url, retention=Retention(forwards=timedelta(days=7))
    ) as short:
        deleted = await short.apply_retention(now)
        async with short.read() as r:
            totals = await r.channel_totals(node, day, day + timedelta(days=1), now=now)
    assert deleted["forwards"] == 24
    assert totals[cid] == FlowStats(forwards_in=24, volume_in_msat=24 * 1_001, fee_in_msat=24)
