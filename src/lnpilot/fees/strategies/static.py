"""The static strategy: one fee rate, whatever happens (``static.fee_rate_ppm``)."""

from __future__ import annotations

from lnpilot.fees.policy import StaticParams
from lnpilot.fees.strategies.base import StrategyContext, Target


def static(ctx: StrategyContext) -> Target:
    fee_rate_ppm = (ctx.settings.static or StaticParams()).fee_rate_ppm
    return Target(fee_rate_ppm, f"static {fee_rate_ppm} ppm")
