"""What each channel's history says, as numbers the fee engine, rebalancer and alerts share.

Everything is derived from the store (what the collector recorded), never from the node,
so every consumer sees the same figures for the same moment and they can be recomputed
for any past ``now``. Definitions:

- **local ratio**: our share of the channel's balance, as last recorded.
- **per window** (1, 7 and 30 days by default), exact to the nanosecond
  (``StoreReader.channel_totals``): forwards and msat that entered (``in``) and left
  (``out``) through the channel; **fees earned**, the fees of forwards that left through
  it (the outbound fee is the price of this channel's liquidity), and, separately, the fees
  of forwards that entered through it; **utilisation**, msat routed in and out over the
  capacity, as the alert rule ``channel_utilisation_high`` reads it (it may exceed 1).
- **flow trend**: the exponentially weighted average rate of net outflow (out minus in;
  positive means our side drains), in msat per day, with a half-life of one day. It is
  computed over rings of time (the last hour, the two before, ... up to seven days) whose
  exact totals are weighted by the kernel's mass over each ring: one query per ring for all
  channels, instead of every forward. Time before the channel existed counts as no flow.
- **days since the last forward**: whole UTC days since the last day with a forward in or
  out (0: today), from the daily rollups; None when none within the lookback (the longest
  window).
- **peer uptime**: the share of the uptime window (7 days) the peer was connected, over the
  part of it the collector watched (from the peer's first recorded event); the fee
  engine's per-mille uptime of fully watched windows is the other meaning
  (:mod:`lnpilot.store.uptime`).
- **return on liquidity**: fees earned per sat of average local balance per day, in ppm
  per day, over the liquidity window (30 days) or the part of it with balance samples. The
  average comes from the daily rollups (the window starts at midnight UTC).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel
from lnpilot.store import FlowStats, Resolution, SeriesPoint, StoreReader
from lnpilot.store.levels import EPOCH, bucket_floor
from lnpilot.store.uptime import uptime_share_watched

DEFAULT_WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30))
TREND_HALF_LIFE = timedelta(days=1)
#: Edges of the trend's rings, in hours back from now: finer where the weight is greater.
TREND_RING_EDGES_H = (0, 1, 3, 6, 12, 24, 48, 96, 168)
UPTIME_WINDOW = timedelta(days=7)
LIQUIDITY_WINDOW = timedelta(days=30)
_DAY_S = 86_400


@dataclass(frozen=True)
class WindowFlow:
    """A channel's forwards over the ``window`` that ends at the metrics' ``now``."""

    window: timedelta
    forwards_in: int
    forwards_out: int
    volume_in_msat: int
    volume_out_msat: int
    fees_earned_msat: int
    fees_inbound_msat: int
    utilisation: float


@dataclass(frozen=True)
class ChannelMetrics:
    """One channel, as last recorded, with what its history says (module docstring)."""

    channel: Channel
    now: datetime
    windows: tuple[WindowFlow, ...]
    flow_trend_msat_per_day: float
    days_since_last_forward: int | None
    peer_uptime: float | None
    avg_local_balance_msat: int | None
    return_on_liquidity_ppm_per_day: float | None

    @property
    def chan_id(self) -> int:
        assert self.channel.chan_id is not None  # metrics exist for confirmed channels only
        return self.channel.chan_id

    @property
    def local_ratio(self) -> float:
        return self.channel.local_ratio

    def window(self, length: timedelta) -> WindowFlow:
        """The figures over one of the windows asked for; KeyError names the others."""
        for flow in self.windows:
            if flow.window == length:
                return flow
        raise KeyError(f"no {length} window; have {[str(f.window) for f in self.windows]}")


async def channel_metrics(
    reader: StoreReader,
    node_id: int,
    now: datetime,
    *,
    chan_ids: Collection[int] | None = None,
    windows: Sequence[timedelta] = DEFAULT_WINDOWS,
) -> list[ChannelMetrics]:
    """Metrics of the node's confirmed channels (open, inactive or closing), or of those in
    ``chan_ids``, as of ``now``; in the store's channel order."""
    if not windows or min(windows) <= timedelta(0):
        raise ValueError("give at least one positive window")
    channels = [
        c
        for c in await reader.channels(node_id)
        if c.chan_id is not None and (chan_ids is None or c.chan_id in chan_ids)
    ]
    lengths = sorted({*windows, LIQUIDITY_WINDOW})
    by_length = await reader.channel_totals_over(
        node_id, [(now - length, now) for length in lengths], now=now
    )
    totals = dict(zip(lengths, by_length, strict=True))
    trend = await _flow_trends(reader, node_id, now)
    uptime = uptime_share_watched(
        await reader.peer_events(node_id, EPOCH, now), now - UPTIME_WINDOW, now
    )
    lookback = max(*windows, LIQUIDITY_WINDOW)
    found = []
    for channel in channels:
        assert channel.chan_id is not None
        chan_id = channel.chan_id
        daily = await reader.channel_series(
            node_id, chan_id, now - lookback, now, resolution=Resolution.DAY
        )
        today = bucket_floor(now, Resolution.DAY)
        forward_days = [
            p.bucket_start for p in daily.points if p.flow.forwards_in or p.flow.forwards_out
        ]
        avg_local, observed = _average_local(daily.points, now - LIQUIDITY_WINDOW, now)
        earned = totals[LIQUIDITY_WINDOW].get(chan_id, FlowStats()).fee_out_msat
        found.append(
            ChannelMetrics(
                channel=channel,
                now=now,
                windows=tuple(
                    _window_flow(length, totals[length].get(chan_id, FlowStats()), channel)
                    for length in windows
                ),
                flow_trend_msat_per_day=trend.get(chan_id, 0.0),
                days_since_last_forward=(
                    (today - max(forward_days)).days if forward_days else None
                ),
                peer_uptime=uptime.get(channel.peer_pubkey),
                avg_local_balance_msat=avg_local,
                return_on_liquidity_ppm_per_day=(
                    earned * 1_000_000 / avg_local / (observed / timedelta(days=1))
                    if avg_local and observed > timedelta(0)
                    else None
                ),
            )
        )
    return found


def _window_flow(length: timedelta, flow: FlowStats, channel: Channel) -> WindowFlow:
    capacity_msat = channel.capacity_sat * 1000
    routed_msat = flow.volume_in_msat + flow.volume_out_msat
    return WindowFlow(
        window=length,
        forwards_in=flow.forwards_in,
        forwards_out=flow.forwards_out,
        volume_in_msat=flow.volume_in_msat,
        volume_out_msat=flow.volume_out_msat,
        fees_earned_msat=flow.fee_out_msat,
        fees_inbound_msat=flow.fee_in_msat,
        utilisation=routed_msat / capacity_msat if capacity_msat else 0.0,
    )


async def _flow_trends(reader: StoreReader, node_id: int, now: datetime) -> dict[int, float]:
    """Each channel's net outflow rate, exponentially weighted (module docstring), msat/day.

    A ring ``[a, b)`` hours back holds the kernel mass ``e^-λa - e^-λb``; its average rate
    (its net outflow over its length) counts with that weight, and the weights are
    normalised over the rings, so a steady flow gives its own rate back.
    """
    decay_per_h = math.log(2) / (TREND_HALF_LIFE / timedelta(hours=1))
    weighted: defaultdict[int, float] = defaultdict(float)
    total_mass = 0.0
    for near_h, far_h in itertools.pairwise(TREND_RING_EDGES_H):
        mass = math.exp(-decay_per_h * near_h) - math.exp(-decay_per_h * far_h)
        total_mass += mass
        ring = await reader.channel_totals(
            node_id, now - timedelta(hours=far_h), now - timedelta(hours=near_h), now=now
        )
        for chan_id, flow in ring.items():
            net_per_day = (flow.volume_out_msat - flow.volume_in_msat) * 24 / (far_h - near_h)
            weighted[chan_id] += mass * net_per_day
    return {chan_id: value / total_mass for chan_id, value in weighted.items()}


def _average_local(
    points: Sequence[SeriesPoint], start: datetime, now: datetime
) -> tuple[int | None, timedelta]:
    """Average local balance over the daily buckets from ``start``'s day on, and the time
    those samples span (from the first bucket with one, at the earliest ``start``)."""
    first_day = bucket_floor(start, Resolution.DAY)
    balance_sum = samples = 0
    first: datetime | None = None
    for point in points:
        stats = point.balance
        if point.bucket_start < first_day or stats is None:
            continue
        balance_sum += stats.local_balance_sum_msat
        samples += stats.samples
        first = first or point.bucket_start
    if not samples or first is None:
        return None, timedelta(0)
    return balance_sum // samples, now - max(first, start)
