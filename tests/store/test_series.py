"""A channel's series: the right level for the range, and buckets that say what happened."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lnpilot.store import Resolution, Retention, Store
from lnpilot.store.levels import bucket_floor
from lnpilot.store.series import pick_resolution

from .factories import T0, chan_id, channel, forward, new_node, policy

NOW = datetime(2025, 6, 1, tzinfo=T0.tzinfo)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (NOW - timedelta(hours=6), NOW, Resolution.FIVE_MINUTES),
        (NOW - timedelta(days=3), NOW, Resolution.FIVE_MINUTES),  # 864 buckets
        (NOW - timedelta(days=4), NOW, Resolution.HOUR),  # 1152 five-minute buckets: too many
        (NOW - timedelta(days=40), NOW - timedelta(days=39), Resolution.HOUR),  # 5m deleted
        (NOW - timedelta(days=365), NOW, Resolution.DAY),
        (NOW - timedelta(days=3000), NOW, Resolution.DAY),  # too many days still: days
    ],
)
def test_the_finest_retained_level_that_fits_is_picked(
    start: datetime, end: datetime, expected: Resolution
) -> None:
    assert pick_resolution(start, end, Retention(), NOW, max_points=1000) is expected


async def test_hourly_series_of_a_channel(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_400)
    hour = bucket_floor(T0, Resolution.HOUR)
    async with store.transaction() as tx:
        for minute, local_msat in ((0, 100_000), (20, 300_000), (40, 200_000)):
            await tx.record_channels(
                node,
                [channel(cid, local_msat=local_msat, local_policy=policy(100 + minute))],
                hour + timedelta(minutes=minute),
            )
        await tx.append_forwards(
            node,
            [
                forward(hour + timedelta(minutes=5), cid, chan_id(1), 50_000, 5, 1),
                forward(hour + timedelta(hours=2), chan_id(1), cid, 70_000, 7, 2),
            ],
        )
    await store.rollup([node])
    async with store.read() as r:
        series = await r.channel_series(
            node, cid, hour, hour + timedelta(hours=3), resolution=Resolution.HOUR
        )
    assert series.resolution is Resolution.HOUR
    first, second = series.points
    assert first.bucket_start == hour and second.bucket_start == hour + timedelta(hours=2)
    assert first.balance is not None and second.balance is None
    assert (
        first.balance.samples,
        first.balance.local_balance_min_msat,
        first.balance.local_balance_max_msat,
        first.balance.local_balance_avg_msat,
        first.balance.local_balance_last_msat,
        first.balance.local_fee_rate_ppm,
        first.balance.active_ratio,
    ) == (3, 100_000, 300_000, 200_000, 200_000, 140, 1.0)
    assert (first.flow.forwards_in, first.flow.volume_in_msat, first.flow.fee_in_msat) == (
        1,
        50_005,
        5,
    )
    assert (second.flow.forwards_out, second.flow.volume_out_msat, second.flow.fee_out_msat) == (
        1,
        70_000,
        7,
    )


async def test_auto_resolution_follows_the_range(store: Store) -> None:
    node = await new_node(store)
    async with store.read() as r:
        short = await r.channel_series(node, 1, NOW - timedelta(hours=1), NOW, now=NOW)
        long = await r.channel_series(node, 1, NOW - timedelta(days=365), NOW, now=NOW)
    assert (short.resolution, long.resolution) == (Resolution.FIVE_MINUTES, Resolution.DAY)
    assert short.points == long.points == ()
