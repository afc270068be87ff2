"""The economic guard: never pay more to move liquidity than it is expected to earn.

Rebalancers that ignore economics spend more than the channels earn (CLBOSS users saw two
to ten times). Liquidity moved from a source channel to a target channel earns, when it
leaves again through the target, the target's outbound fee rate; it stops earning the
source's fee rate, which the same liquidity would have fetched leaving through the source.
So the most a rebalance may cost, per million msat moved, is

    max_fee_ppm = (target's fee rate - source's fee rate) × fee_factor_pct / 100

capped by the ``max_fee_ppm`` setting (``guard = "margin"``, the default). LNDg's
auto-rebalancer pays instead a share of the target's own fee rate, whatever the source
earns (``guard = "target_fee"``: ``target's fee rate × fee_factor_pct / 100``); lnpilot
offers it so that behaviour can be reproduced and compared, not as the safer choice. Base
fees are left out on the earning side, which only makes the guard stricter. The route's
last hop is not ours to choose: it is the target's peer forwarding to us over the target
channel, at the peer's own fee. When that hop alone costs more than the limit, no route can
do, and the rebalance is skipped before any query.

The guard compares fee rates, not what will be sold: a target whose fee is high but whose
liquidity hardly leaves earns little, whatever its rate. With ``payback_margin_pct`` set
(off by default), a refill must also pay for itself (:func:`payback`): the fee its
liquidity will earn, at the target's current outbound fee rate on the part of the amount
its recent outflow would carry out again over as long a time (the direction window), must
cover the most the refill may cost plus that margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lnpilot.base.domain import Channel, ChannelPolicy

#: What the most a rebalance may pay is a share of: the margin over the source's fee, or
#: (LNDg's rule) the target's fee alone.
GuardRule = Literal["margin", "target_fee"]

PPM = 1_000_000


def hop_fee_msat(policy: ChannelPolicy, amount_msat: int) -> int:
    """What a node charges to forward ``amount_msat`` under ``policy`` (LND's formula)."""
    return policy.base_fee_msat + amount_msat * policy.fee_rate_ppm // PPM


def sat_text(msat: int) -> str:
    """msat as sat in a reason's words, exact (``1,234.5``)."""
    whole, rest = divmod(msat, 1000)
    return f"{whole:,}" + (f".{rest:03d}".rstrip("0") if rest else "")


def fee_limit_msat(amount_msat: int, max_fee_ppm: int) -> int:
    """The most ``amount_msat`` may cost at ``max_fee_ppm``, rounded down."""
    return amount_msat * max_fee_ppm // PPM


@dataclass(frozen=True)
class Guard:
    """What the economics allow for one pair; ``refusal`` says why not, when they do not."""

    max_fee_ppm: int
    last_hop_fee_msat: int | None
    refusal: str | None = None


def guard(
    target: Channel,
    source: Channel,
    amount_msat: int,
    *,
    fee_factor_pct: int,
    cap_ppm: int,
    override_ppm: int | None = None,
    of: GuardRule = "margin",
) -> Guard:
    """The fee limit of moving ``amount_msat`` from ``source`` into ``target``.

    ``override_ppm`` (an operator's explicit ``--max-fee-ppm``) replaces the computed
    limit; the last hop's cost is checked whatever the limit's origin.
    """
    if override_ppm is not None:
        max_ppm = override_ppm
    else:
        if target.local_policy is None or source.local_policy is None:
            return Guard(0, None, "our fee rate on the target or the source is unknown")
        target_ppm = target.local_policy.fee_rate_ppm
        source_ppm = 0 if of == "target_fee" else source.local_policy.fee_rate_ppm
        if of == "target_fee" and target_ppm == 0:
            return Guard(0, None, "target's fee is 0 ppm: a share of it pays nothing")
        if target_ppm <= source_ppm:
            return Guard(
                0,
                None,
                f"target's fee ({target_ppm} ppm) does not cover the source's forgone fee "
                f"({source_ppm} ppm)",
            )
        max_ppm = min((target_ppm - source_ppm) * fee_factor_pct // 100, cap_ppm)
    peer = target.remote_policy
    if peer is None:
        return Guard(max_ppm, None, "the peer's fee toward us on the target is unknown")
    if peer.disabled:
        return Guard(max_ppm, None, "the peer has disabled its side of the target")
    last_hop_msat = hop_fee_msat(peer, amount_msat)
    if last_hop_msat > fee_limit_msat(amount_msat, max_ppm):
        cost_ppm = last_hop_msat * PPM // amount_msat
        return Guard(
            max_ppm,
            last_hop_msat,
            f"max fee {max_ppm} ppm below peer's inbound cost {cost_ppm} ppm",
        )
    return Guard(max_ppm, last_hop_msat)


def payback(
    target_fee_ppm: int,
    outflow_msat: int,
    amount_msat: int,
    cost_msat: int,
    margin_pct: int,
    window_days: int,
) -> str | None:
    """Why refilling ``amount_msat`` at up to ``cost_msat`` would not pay for itself, or None.

    It earns ``target_fee_ppm`` on ``min(amount_msat, outflow_msat)``: the outflow of the
    last ``window_days`` is taken as what leaves over the next as many, and liquidity beyond
    it is not sold within that horizon. Earnings must reach ``cost × (100 + margin) / 100``
    (compared in integers, so nothing is lost to rounding).
    """
    sold_msat = min(amount_msat, outflow_msat)
    earns_msat = sold_msat * target_fee_ppm // PPM
    if earns_msat * 100 >= cost_msat * (100 + margin_pct):
        return None
    return (
        f"refill would not pay for itself: earns {sat_text(earns_msat)} sat "
        f"({target_fee_ppm} ppm on {sat_text(sold_msat)} sat, the outflow of {window_days}d) "
        f"against a cost of up to {sat_text(cost_msat)} sat + {margin_pct}% margin"
    )
