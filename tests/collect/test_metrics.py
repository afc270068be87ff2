"""Per-channel metrics from a history written straight into the store, where every figure
can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState, Forward, NodeInfo, Peer
from lnpilot.store import Store
from lnpilot.store.levels import epoch_ns
from lnpilot.store.metrics import channel_metrics

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
A, B, C, D = (800_000 << 40 | n << 16 for n in range(1, 5))
PEER_A = "02" + "aa" * 32


def _channel(chan_id: int, peer: str, local_sat: int) -> Channel:
    return Channel(
        scid=f"800000x{(chan_id >> 16) & 0xFFFFFF}x0",
        chan_id=chan_id,
        channel_point=f"{chan_id:064x}:0",
        peer_pubkey=peer,
        capacity_sat=1_000_000,
        local_balance_msat=local_sat * 1000,
        remote_balance_msat=(1_000_000 - local_sat) * 1000,
        state=ChannelState.ACTIVE,
        local_policy=ChannelPolicy(1000, 100),
    )


def _forward(at: datetime, chan_in: int, chan_out: int, n: int) -> Forward:
    return Forward(
        timestamp=at,
        timestamp_ns=epoch_ns(at),
        chan_id_in=chan_in,
        chan_id_out=chan_out,
        amt_in_msat=1_000_100,
        amt_out_msat=1_000_000,
        fee_msat=100,
        incoming_htlc_id=n,
        outgoing_htlc_id=n,
    )


@pytest.fixture
async def node_id(store: Store) -> int:
    """Eight days of history: a steady 1M msat an hour from B out through A (at half past
    each hour), one forward C -> D four days ago, snapshots every six hours with A at 600k
    sat, and A's peer away from a day ago to twelve hours ago."""
    channels = [
        _channel(A, PEER_A, 600_000),
        *(_channel(c, "03" + "bb" * 32, 500_000) for c in (B, C, D)),
    ]
    start = NOW - timedelta(days=8)
    async with store.transaction() as tx:
        node = await tx.upsert_node(NodeInfo("02" + "00" * 32, "metrics", 900_000), start)
        for k in range(8 * 4):
            await tx.record_channels(node, channels, start + k * timedelta(hours=6))
        await tx.append_forwards(
            node, [_forward(NOW - k * HOUR - HOUR / 2, B, A, k) for k in range(8 * 24)]
        )
        await tx.append_forwards(node, [_forward(NOW - timedelta(days=4), C, D, 10_000)])
        for at, connected in (
            (start, True),
            (NOW - timedelta(days=1), False),
            (NOW - HOUR * 12, True),
        ):
            await tx.record_peers(node, [Peer(PEER_A)] if connected else [], at)
    await store.rollup([node])
    return node


async def test_flows_over_each_window(store: Store, node_id: int) -> None:
    async with store.read() as reader:
        metrics = {m.chan_id: m for m in await channel_metrics(reader, node_id, NOW)}
    day, week = timedelta(days=1), timedelta(days=7)
    a = metrics[A]
    assert (a.window(day).forwards_out, a.window(week).forwards_out) == (24, 168)
    assert a.window(day).volume_out_msat == 24_000_000
    assert a.window(day).fees_earned_msat == 2_400 and a.window(day).fees_inbound_msat == 0
    assert a.window(day).utilisation == pytest.approx(24_000_000 / 1_000_000_000)
    b = metrics[B]
    assert b.window(day).volume_in_msat == 24 * 1_000_100
    assert b.window(day).fees_earned_msat == 0 and b.window(day).fees_inbound_msat == 2_400
    assert a.local_ratio == pytest.approx(0.6)
    with pytest.raises(KeyError, match="no 2 days"):
        a.window(2 * day)


async def test_flow_trend_gives_a_steady_rate_back_with_its_sign(
    store: Store, node_id: int
) -> None:
    async with store.read() as reader:
        metrics = {m.chan_id: m for m in await channel_metrics(reader, node_id, NOW)}
    assert metrics[A].flow_trend_msat_per_day == pytest.approx(24_000_000)  # draining
    assert metrics[B].flow_trend_msat_per_day == pytest.approx(-24 * 1_000_100)  # filling
    # C's only forward left it four days ago; D is where it went.
    assert metrics[C].flow_trend_msat_per_day < 0 < metrics[D].flow_trend_msat_per_day


async def test_days_since_the_last_forward(store: Store, node_id: int) -> None:
    async with store.read() as reader:
        metrics = {m.chan_id: m for m in await channel_metrics(reader, node_id, NOW)}
        later = await channel_metrics(reader, node_id, NOW + timedelta(days=40), chan_ids=[A])
    assert (metrics[A].days_since_last_forward, metrics[C].days_since_last_forward) == (0, 4)
    assert [m.days_since_last_forward for m in later] == [None]  # beyond the 30-day lookback


async def test_peer_uptime_over_the_watched_week(store: Store, node_id: int) -> None:
    async with store.read() as reader:
        metrics = {m.chan_id: m for m in await channel_metrics(reader, node_id, NOW)}
    assert metrics[A].peer_uptime == pytest.approx(6.5 / 7)
    assert metrics[B].peer_uptime is None  # never listed: nothing known


async def test_return_on_liquidity(store: Store, node_id: int) -> None:
    async with store.read() as reader:
        [a] = await channel_metrics(reader, node_id, NOW, chan_ids=[A])
    assert a.avg_local_balance_msat == 600_000_000
    # 192 forwards out at 100 msat over the days of samples (from midnight, 8.5 days ago).
    assert a.return_on_liquidity_ppm_per_day == pytest.approx(19_200 * 1e6 / 600e6 / 8.5)


async def test_a_node_without_history_has_neutral_metrics(store: Store) -> None:
    async with store.transaction() as tx:
        node = await tx.upsert_node(NodeInfo("02" + "11" * 32, "new", 900_000), NOW)
        await tx.record_channels(node, [_channel(A, PEER_A, 0)], NOW)
    async with store.read() as reader:
        [m] = await channel_metrics(reader, node, NOW)
    assert (m.flow_trend_msat_per_day, m.days_since_last_forward, m.peer_uptime) == (
        0.0,
        None,
        None,
    )
    assert m.avg_local_balance_msat is None and m.return_on_liquidity_ppm_per_day is None
    assert all(w.forwards_in == w.forwards_out == 0 for w in m.windows)
