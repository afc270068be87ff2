"""What the liquidity in a channel cost, and the cost-floor strategy built on it.

Selling liquidity below what it cost to put there loses money on every forward. Two costs
are known or can be estimated:

- rebalancing: what bringing liquidity back into the channel cost, in ppm of the amount
  moved. Measured when a rebalancer has recorded it; otherwise (``peer_fee_estimate``)
  estimated from the peer's own fee rate toward us, which the last hop of any circular
  rebalance into this channel pays;
- opening: ``open_cost_sat`` (the on-chain fee of the open) spread over ``amortise_turns``
  times the capacity routed out, counted when we opened the channel or the backend does
  not say who did (an unknown cost is assumed, not ignored).

The cost is the larger of the two (a sat of liquidity came from one or the other, so adding
them would count it twice). The floor is the cost plus ``markup_pct``; ``cost_floor`` prices
the channel at the floor, and ``never_below_cost`` makes it a lower bound for any strategy.
The same cost bounds the inbound discount (:mod:`lnpilot.fees.strategies.inbound`).

``liquidity_margin_ppm`` (a setting of any rule, off by default) is the fee engine's half of
pricing fees and rebalancing as one: whatever the strategy, the outbound fee stays at least
what refilling the channel actually cost (the rebalance journal's fees per sat moved in over
:data:`~lnpilot.fees.inputs.LIQUIDITY_COST_WINDOW`) plus the margin, so a refill is sold
for more than it cost. Only what was paid counts: a channel that routing filled for free
has a cost of 0, not the peer's fee (:func:`liquidity_floor`).

The ``cost`` strategy is charge-lnd's, a simpler reading of the same table: the opening fee
alone over the capacity, times ``cost_factor_pct``, and 1 ppm on channels the peer opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from lnpilot.base.domain import Initiator
from lnpilot.fees.inputs import LIQUIDITY_COST_WINDOW, ChannelInputs, ceil_div
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import params_in, strategy
from lnpilot.fees.values import Pct, StrictModel


class CostParams(StrictModel):
    """What liquidity in a channel cost: the inputs of the cost floor and the inbound bound."""

    open_cost_sat: Annotated[int, Field(ge=0)] = 0
    amortise_turns: Annotated[int, Field(ge=1, le=1000)] = 1
    markup_pct: Pct = 10
    peer_fee_estimate: bool = True
    #: charge-lnd's ``cost_factor`` in percent: the ``cost`` strategy's multiplier.
    cost_factor_pct: Annotated[int, Field(ge=0, le=100_000)] = 100


@dataclass(frozen=True)
class LiquidityCost:
    """A cost in ppm and where it comes from; ``floor_ppm`` has the markup on."""

    cost_ppm: int
    floor_ppm: int
    source: str
    markup_pct: int

    @property
    def explanation(self) -> str:
        return f"{self.source}, +{self.markup_pct}% = {self.floor_ppm} ppm"


def liquidity_cost(ctx: StrategyContext) -> LiquidityCost:
    params = params_in(ctx.settings, "cost", CostParams)
    channel = ctx.inputs.channel
    parts: list[tuple[int, str]] = []
    measured = ctx.inputs.rebalance_cost_ppm
    if measured is not None:
        parts.append((measured, f"rebalancing paid {measured} ppm"))
    elif params.peer_fee_estimate and channel.remote_policy is not None:
        peer_ppm = channel.remote_policy.fee_rate_ppm
        parts.append((peer_ppm, f"the peer charges {peer_ppm} ppm to send liquidity back"))
    if params.open_cost_sat and channel.initiator in (Initiator.LOCAL, Initiator.UNKNOWN):
        opening_ppm = ceil_div(
            params.open_cost_sat * 1_000_000, channel.capacity_sat * params.amortise_turns
        )
        parts.append(
            (
                opening_ppm,
                f"opening cost {params.open_cost_sat} sat over {params.amortise_turns}× "
                f"capacity is {opening_ppm} ppm",
            )
        )
    if not parts:
        return LiquidityCost(0, 0, "no known cost", params.markup_pct)
    cost_ppm, source = max(parts)
    floor_ppm = ceil_div(cost_ppm * (100 + params.markup_pct), 100)
    return LiquidityCost(cost_ppm, floor_ppm, source, params.markup_pct)


@dataclass(frozen=True)
class LiquidityFloor:
    """The least outbound fee that sells refilled liquidity at a margin over its cost;
    ``paid`` says whether any refill was paid in the window (else the cost is 0)."""

    cost_ppm: int
    margin_ppm: int
    paid: bool

    @property
    def floor_ppm(self) -> int:
        return self.cost_ppm + self.margin_ppm

    @property
    def words(self) -> str:
        """How the decision's reason names the floor and where it comes from."""
        days = LIQUIDITY_COST_WINDOW.days
        source = f"refills paid {self.cost_ppm} ppm" if self.paid else "no refill paid"
        return (
            f"liquidity floor {self.floor_ppm} ppm: {source} in {days}d "
            f"+ margin {self.margin_ppm} ppm"
        )


def liquidity_floor(inputs: ChannelInputs, margin_ppm: int) -> LiquidityFloor:
    """What refilling the channel cost (0 when nothing was paid) plus ``margin_ppm``."""
    paid_ppm = inputs.rebalance_cost_ppm
    return LiquidityFloor(paid_ppm or 0, margin_ppm, paid_ppm is not None)


@strategy("cost_floor", CostParams, table="cost")
def cost_floor(ctx: StrategyContext, params: CostParams) -> Target:
    cost = liquidity_cost(ctx)
    return Target(cost.floor_ppm, f"cost_floor: {cost.explanation}")


@strategy("cost", CostParams)
def cost(ctx: StrategyContext, params: CostParams) -> Target:
    """charge-lnd's ``cost``: the channel's opening fee over its capacity, times a factor.

    ``fee = cost_factor × 10⁶ × open_fee_sat / capacity_sat`` (truncated, as charge-lnd's
    ``int()``), for a channel we opened; charge-lnd finds the opening transaction in the
    wallet and sets 1 ppm when it is not there (a channel the peer opened). lnpilot does not
    read wallet transactions: the opening fee is ``cost.open_cost_sat``, and a channel whose
    opener the backend does not report is treated as the peer's, as charge-lnd would find
    no transaction for it.
    """
    channel = ctx.inputs.channel
    if channel.initiator is not Initiator.LOCAL:
        return Target(1, "cost: we did not open the channel (no opening fee of ours); 1 ppm")
    fee_rate_ppm = (
        params.cost_factor_pct * 1_000_000 * params.open_cost_sat // (100 * channel.capacity_sat)
    )
    return Target(
        fee_rate_ppm,
        f"cost: opening fee {params.open_cost_sat} sat over {channel.capacity_sat} sat capacity "
        f"× {params.cost_factor_pct}% = {fee_rate_ppm} ppm",
    )
