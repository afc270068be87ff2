"""What the planner decides from: the channels as they are, their history, and its memory.

The planner is a pure function of these values (and the policy): it reads no clock, no
store and no node, so the same inputs always give the same plan, the daemon and the
benchmark run the same code, and a decision can be replayed from its journal entry. Filling
them is the gatherer's job (:mod:`lnpilot.fees.gather` from the node and the store,
the lab, :mod:`lnpilot.lab`, runs the same gatherer over a simulated node).

What the history does not cover is left out rather than given as zero: a window the store
has not watched for long enough is absent, and an unknown uptime is absent. Zero forwards
would read as "idle" and make fees fall on a node that was merely not watched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lnpilot.base.domain import Capability, Channel
from lnpilot.store.records import FlowStats


def permille(part: int, whole: int) -> int:
    """``part`` over ``whole`` in integer per mille (0 when ``whole`` is 0)."""
    return part * 1000 // whole if whole else 0


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounded up: a cost or a floor is never understated."""
    return -(-numerator // denominator)


def format_ratio(value_permille: int) -> str:
    """Per mille as the policy file writes ratios: ``0.3``."""
    return f"{value_permille / 1000:.3f}".rstrip("0").rstrip(".") if value_permille else "0"


#: How far back the rebalances into a channel price its liquidity (``rebalance_cost_ppm``):
#: long enough to hold a few refills of a busy channel, short enough that an old expensive
#: refill, long sold, stops holding its fee up.
LIQUIDITY_COST_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class WindowStats:
    """One channel's activity over one trailing window.

    ``liquidity_failures`` counts forwards that failed leaving through this channel for lack
    of balance (demand we could not serve); None when failed forwards were not observed over
    the whole window (they are known only while the node's HTLC events are followed).
    """

    flow: FlowStats
    liquidity_failures: int | None = None
    liquidity_failed_msat: int | None = None


@dataclass(frozen=True)
class ControllerMemory:
    """The state a strategy last put the channel in, and since when it has been in it."""

    state: str
    since: datetime


#: The fee fields an agreement may fix, named as the policy's pins are (``pin_`` + name).
AGREED_FEES = ("fee_rate_ppm", "base_fee_msat", "inbound_fee_rate_ppm", "inbound_base_fee_msat")


@dataclass(frozen=True)
class AgreedFees:
    """The fees agreed with the peer when lnpilot opened the channel (its stored agreement).

    The planner holds them like the policy file's pins: a promise to the peer is not for a
    strategy to move. The policy file's own pins win over them, field by field, because the
    operator wrote those later and on purpose. ``fees`` holds only the fields agreed.
    """

    agreement_id: int | None
    name: str | None
    fees: Mapping[str, int] = field(default_factory=dict)

    @property
    def words(self) -> str:
        """How a reason names the agreement."""
        named = f" {self.name!r}" if self.name else ""
        number = f" #{self.agreement_id}" if self.agreement_id is not None else ""
        return f"the agreement{named}{number} made at open"


@dataclass(frozen=True)
class ChannelInputs:
    """One open channel with the history a rule or a strategy may look at.

    ``windows`` and ``peer_uptime_permille`` are keyed by window length in seconds.
    ``last_change_at`` is the last change of our policy on the channel by anyone (lnpilot,
    the operator, another tool). ``peer_fee_rates_ppm`` are the fee rates other channels
    toward the same peer charge, as far as the node shows them. ``rebalance_cost_ppm`` is
    what liquidity brought into this channel cost: the fees the rebalance journal paid over
    :data:`LIQUIDITY_COST_WINDOW` per msat they moved into it, in ppm rounded up; None when
    nothing was moved into it then, or the policy sets no ``liquidity_margin_ppm`` (the
    gatherer reads it only then; ``cost_floor`` estimates from the peer's own fee without
    it, ``liquidity_margin_ppm`` counts nothing paid as 0). ``agreed`` are the
    fees of the channel's live agreement, when it has one with fees.
    """

    channel: Channel
    age_blocks: int | None = None
    windows: Mapping[int, WindowStats] = field(default_factory=dict)
    peer_uptime_permille: Mapping[int, int] = field(default_factory=dict)
    last_change_at: datetime | None = None
    memory: ControllerMemory | None = None
    peer_fee_rates_ppm: tuple[int, ...] = ()
    rebalance_cost_ppm: int | None = None
    agreed: AgreedFees | None = None

    @property
    def local_permille(self) -> int:
        """Our share of the channel's balance, in per mille."""
        channel = self.channel
        return permille(
            channel.local_balance_msat, channel.local_balance_msat + channel.remote_balance_msat
        )


@dataclass(frozen=True)
class PlanInputs:
    """Everything one evaluation of the policy decides from.

    ``recent_updates`` are the times of the policy updates lnpilot sent in the last day (the
    daily budget counts them); ``capabilities`` are what the configured node backends can
    do, so that nothing is proposed that cannot be applied.
    """

    now: datetime
    channels: tuple[ChannelInputs, ...]
    capabilities: frozenset[Capability]
    recent_updates: tuple[datetime, ...] = ()
    onchain_fee_rate_sat_per_vbyte: int | None = None

    def peer_local_permille(self, pubkey: str) -> int:
        """Our share of the balance summed over all our channels with the peer."""
        local = total = 0
        for inputs in self.channels:
            if inputs.channel.peer_pubkey == pubkey:
                local += inputs.channel.local_balance_msat
                total += inputs.channel.local_balance_msat + inputs.channel.remote_balance_msat
        return permille(local, total)
