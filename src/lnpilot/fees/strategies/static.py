"""The static strategy: one fee rate, whatever happens (``static.fee_rate_ppm``).

It is also charge-lnd's ``static`` strategy: with ``min_fee_ppm_delta`` on the rule (a
setting every strategy honours, :mod:`lnpilot.fees.planner`), a change smaller than the
delta is not sent, as charge-lnd does.
"""

from __future__ import annotations

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import Ppm, StrictModel


class StaticParams(StrictModel):
    fee_rate_ppm: Ppm | None = None


@strategy("static", StaticParams, needs=("fee_rate_ppm",))
def static(ctx: StrategyContext, params: StaticParams) -> Target:
    return Target(params.fee_rate_ppm, f"static {params.fee_rate_ppm} ppm")
