"""charge-lnd's ``ignore``: a rule that leaves the fee rate as it is.

lnpilot's last rule must name a strategy; a charge-lnd configuration without a ``[default]``
leaves unmatched channels alone, and ``ignore`` says the same in a policy file.
"""

from __future__ import annotations

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import StrictModel


class IgnoreParams(StrictModel):
    """No parameters: the strategy leaves the fee rate alone."""


@strategy("ignore", IgnoreParams)
def ignore(ctx: StrategyContext, params: IgnoreParams) -> Target:
    """charge-lnd's ``ignore``: the fee rate stays what it is; settings the rule names
    (a base fee, bounds, HTLC limits) still apply, so leave them out to leave all alone."""
    return Target(None, "ignore: the fee rate is left as it is")
