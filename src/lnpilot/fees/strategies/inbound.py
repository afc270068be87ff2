"""Inbound strategies: the signed fee charged on HTLCs that enter through the channel.

- ``static``: ``inbound_static.fee_rate_ppm`` (and ``base_fee_msat``), 0 or negative.
- ``discount``: a discount where inflow is wanted, that is where our side has drained below
  ``below_ratio``. Payments entering through the channel refill our side, which is what a
  rebalance would buy; so the discount is at most what that rebalance would cost (the
  liquidity cost of :mod:`~lnpilot.fees.strategies.cost`), and at most
  ``max_discount_ppm``. It scales with how far below the ratio we are and is removed (0)
  once we are above it: ``discount = min(max_discount, cost) × (below − local) / below``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from lnpilot.fees.inputs import format_ratio
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.cost import liquidity_cost
from lnpilot.fees.strategies.registry import params_in, strategy
from lnpilot.fees.values import InboundMsat, InboundPpm, Permille, StrictModel


class InboundStaticParams(StrictModel):
    fee_rate_ppm: InboundPpm | None = None
    base_fee_msat: InboundMsat | None = None


class InboundDiscountParams(StrictModel):
    below_ratio: Permille = 300
    max_discount_ppm: Annotated[int, Field(ge=0, le=1_000_000)] = 200


@strategy(
    "static",
    InboundStaticParams,
    side="inbound",
    table="inbound_static",
    needs=("fee_rate_ppm",),
)
def inbound_static(ctx: StrategyContext, params: InboundStaticParams) -> Target:
    return Target(
        params.fee_rate_ppm,
        f"inbound static {params.fee_rate_ppm} ppm",
        base_fee_msat=params.base_fee_msat,
    )


def discount_bound_ppm(ctx: StrategyContext) -> tuple[int, str]:
    """The largest discount (ppm, positive) the channel may give, and why that much."""
    params = params_in(ctx.settings, "inbound_discount", InboundDiscountParams)
    cost = liquidity_cost(ctx)
    if params.max_discount_ppm <= cost.cost_ppm:
        return params.max_discount_ppm, f"max_discount_ppm {params.max_discount_ppm}"
    return cost.cost_ppm, f"rebalancing cost: {cost.source}"


@strategy("discount", InboundDiscountParams, side="inbound", table="inbound_discount")
def inbound_discount(ctx: StrategyContext, params: InboundDiscountParams) -> Target:
    local = ctx.inputs.local_permille
    below = params.below_ratio
    if local >= below:
        return Target(
            0,
            f"inbound discount: local ratio {format_ratio(local)} is not below "
            f"{format_ratio(below)}; no discount",
        )
    bound, why = discount_bound_ppm(ctx)
    discount_ppm = bound * (below - local) // below
    return Target(
        -discount_ppm,
        f"inbound discount: local ratio {format_ratio(local)} below {format_ratio(below)}; "
        f"{discount_ppm} ppm of at most {bound} ppm ({why})",
    )
