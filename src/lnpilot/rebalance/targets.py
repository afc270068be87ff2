"""Where each channel's local balance should be: its target band, moved by its direction.

A fixed 50% ± 20% band suits a channel whose traffic goes both ways. A channel that
liquidity keeps leaving through (payments flow out to the peer) empties again soon after
a refill, and one that liquidity keeps arriving through fills up: the first wants more
outbound than half, the second more inbound. So the band's centre moves with the channel's
direction, learned from what the collector recorded
(:class:`~lnpilot.store.metrics.ChannelMetrics`):

- **source**: at least ``direction_threshold_pct`` of the window's volume *left* through
  the channel (our side drains; it is a source of the payments we forward): it wants
  outbound, so its centre moves up by ``direction_shift_pct``;
- **sink**: at least that share *arrived* through it (our side fills): it wants inbound,
  so its centre moves down;
- **balanced**: neither, or too little flow to tell (under 1% of the capacity).

Liquidity therefore goes from sinks, which pile it up, to sources, which spend it.
Ratios are integer per mille here, so that comparing a balance to a band never depends on
floating-point rounding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lnpilot.base.domain import Channel
from lnpilot.rebalance.settings import ChannelTarget
from lnpilot.store.metrics import WindowFlow

#: Below this volume over the window (per mille of the capacity), flows say nothing.
MIN_VOLUME_PERMILLE = 10


class FlowDirection(enum.StrEnum):
    SINK = "sink"
    SOURCE = "source"
    BALANCED = "balanced"


@dataclass(frozen=True)
class Band:
    """A target band of the local ratio, in per mille; ``target`` is where a refill aims."""

    low_permille: int
    target_permille: int
    high_permille: int

    def __str__(self) -> str:
        return f"{self.low_permille / 10:g}–{self.high_permille / 10:g}%"


def ratio_permille(channel: Channel) -> int:
    """Our share of the channel's balance, per mille, rounded down."""
    total_msat = channel.local_balance_msat + channel.remote_balance_msat
    return channel.local_balance_msat * 1000 // total_msat if total_msat else 0


def learn_direction(
    flow: WindowFlow | None, capacity_sat: int, threshold_pct: int
) -> tuple[FlowDirection, str]:
    """The channel's direction over ``flow``'s window and the words that explain it."""
    if flow is None:
        return FlowDirection.BALANCED, "no flow history"
    days = flow.window.days
    volume_msat = flow.volume_in_msat + flow.volume_out_msat
    if volume_msat * 1000 < capacity_sat * 1000 * MIN_VOLUME_PERMILLE:
        return FlowDirection.BALANCED, f"too little flow in {days}d to tell"
    out_pct = flow.volume_out_msat * 100 // volume_msat
    if flow.volume_out_msat * 100 >= threshold_pct * volume_msat:
        return FlowDirection.SOURCE, f"{out_pct}% of {days}d volume left through it"
    if flow.volume_in_msat * 100 >= threshold_pct * volume_msat:
        return FlowDirection.SINK, f"{100 - out_pct}% of {days}d volume arrived through it"
    return FlowDirection.BALANCED, f"{out_pct}% of {days}d volume left through it"


def band_for(target: ChannelTarget, direction: FlowDirection, shift_pct: int) -> Band:
    """The band around the target, its centre moved by the direction, kept inside 0..100%."""
    shift = {FlowDirection.SOURCE: shift_pct, FlowDirection.SINK: -shift_pct}.get(direction, 0)
    centre_pct = min(max(target.target_pct + shift, target.band_pct), 100 - target.band_pct)
    return Band(
        low_permille=(centre_pct - target.band_pct) * 10,
        target_permille=centre_pct * 10,
        high_permille=(centre_pct + target.band_pct) * 10,
    )
