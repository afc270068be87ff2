"""Peer-aware: priced relative to what other channels toward the same peer charge.

A sender reaching the peer picks among every channel into it, so a fee far above theirs
sells nothing and one far below gives margin away. The reference is the median of the fee
rates the node shows on other channels toward the peer (the lower median, so the value
is one of the observed rates), times ``ratio_pct`` plus ``offset_ppm``. With nothing to
compare to, the fee stays as it is.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import Pct, StrictModel


class PeerAwareParams(StrictModel):
    ratio_pct: Pct = 100
    offset_ppm: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0


@strategy("peer_aware", PeerAwareParams, reads_graph=True)
def peer_aware(ctx: StrategyContext, params: PeerAwareParams) -> Target:
    rates = sorted(ctx.inputs.peer_fee_rates_ppm)
    if not rates:
        return Target(None, "peer_aware: no other channel toward this peer in view; keeping")
    median = rates[(len(rates) - 1) // 2]
    fee_rate_ppm = max(0, median * params.ratio_pct // 100 + params.offset_ppm)
    return Target(
        fee_rate_ppm,
        f"peer_aware: median of {len(rates)} other channel(s) toward the peer is {median} ppm; "
        f"× {params.ratio_pct}% {params.offset_ppm:+d} ppm gives {fee_rate_ppm} ppm",
    )
