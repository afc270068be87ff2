"""Each channel as the planner sees it: its band, its direction, and how much to move.

A channel below its band that routes outbound is a possible *target* (liquidity should
come into our side of it); one above its band is a possible *source* (liquidity can leave
our side of it). The amount of a rebalance into a target is a share of the target's
capacity that adapts to what happened last time:

- first time: ``amount_pct`` of the capacity;
- the last rebalance moved all it asked for: twice that amount;
- it moved only part (probing went down): what it moved;
- it moved nothing: half the smallest amount it tried;

always between ``min_amount_sat`` and ``max_amount_pct`` of the capacity, and never more
than brings the target to its band's centre. So amounts grow while routes carry them and
shrink where they do not, without probing the same failure again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

from lnpilot.base.domain import Channel
from lnpilot.rebalance.economics import sat_text
from lnpilot.rebalance.settings import ChannelTarget, RebalanceSettings
from lnpilot.rebalance.targets import Band, FlowDirection, band_for, learn_direction, ratio_permille
from lnpilot.store.metrics import ChannelMetrics, WindowFlow
from lnpilot.store.rebalances import LastRebalance


@dataclass(frozen=True)
class ChannelInput:
    """What the planner is given about one channel.

    ``metrics`` is None when the collector has not recorded the channel yet; ``last`` is
    its latest finished rebalance as a target; ``busy`` says a rebalance touches it now.
    """

    channel: Channel
    metrics: ChannelMetrics | None = None
    last: LastRebalance | None = None
    busy: bool = False


@dataclass(frozen=True)
class Assessed:
    """A channel with its settings, direction, band and flows over the direction window."""

    input: ChannelInput
    target: ChannelTarget
    direction: FlowDirection
    direction_reason: str
    band: Band
    ratio_permille: int
    flow: WindowFlow | None

    @property
    def channel(self) -> Channel:
        return self.input.channel

    @property
    def centre_msat(self) -> int:
        """The local balance at the band's centre."""
        total_msat = self.channel.local_balance_msat + self.channel.remote_balance_msat
        return total_msat * self.band.target_permille // 1000

    @property
    def deficit_msat(self) -> int:
        """How far our side is below the band's centre (negative: above it)."""
        return self.centre_msat - self.channel.local_balance_msat

    @property
    def forwards_out(self) -> int:
        return self.flow.forwards_out if self.flow is not None else 0

    @property
    def earned_msat(self) -> int:
        """Fees earned by forwards leaving through the channel over the window."""
        return self.flow.fees_earned_msat if self.flow is not None else 0

    def position(self) -> str:
        """``12% below band 30–70%``, ``85% above band ...`` or ``48% in band ...``."""
        where = "below" if self.ratio_permille < self.band.low_permille else "above"
        if self.band.low_permille <= self.ratio_permille <= self.band.high_permille:
            where = "in"
        return f"{self.ratio_permille / 10:g}% {where} band {self.band}"


def assess(item: ChannelInput, settings: RebalanceSettings) -> Assessed:
    target = settings.for_channel(item.channel)
    flow = item.metrics.window(settings.direction_window) if item.metrics is not None else None
    if target.direction == "auto":
        section = settings.section
        direction, why = learn_direction(
            flow, item.channel.capacity_sat, section.direction_threshold_pct
        )
    else:
        direction, why = FlowDirection(target.direction), "set in the policy"
    return Assessed(
        input=item,
        target=target,
        direction=direction,
        direction_reason=why,
        band=band_for(target, direction, settings.section.direction_shift_pct),
        ratio_permille=ratio_permille(item.channel),
        flow=flow,
    )


def amount_cap_msat(assessed: Assessed) -> tuple[int, str]:
    """The most to move into this target now, and why (see the module docstring)."""
    target = assessed.target
    capacity_msat = assessed.channel.capacity_sat * 1000
    ceiling_msat = capacity_msat * target.max_amount_pct // 100
    floor_msat = min(target.min_amount_sat * 1000, ceiling_msat)
    last = assessed.input.last
    if last is None:
        cap_msat, why = (
            capacity_msat * target.amount_pct // 100,
            f"{target.amount_pct}% of capacity",
        )
    elif last.moved_msat > 0 and last.moved_msat >= last.amount_msat:
        cap_msat, why = 2 * last.moved_msat, f"last moved {sat_text(last.moved_msat)} sat: doubled"
    elif last.moved_msat > 0:
        cap_msat, why = last.moved_msat, f"last moved only {sat_text(last.moved_msat)} sat"
    else:
        tried_msat = last.smallest_attempt_msat or last.amount_msat
        cap_msat, why = tried_msat // 2, f"last failed down to {sat_text(tried_msat)} sat: halved"
    return min(max(cap_msat, floor_msat), ceiling_msat), why
