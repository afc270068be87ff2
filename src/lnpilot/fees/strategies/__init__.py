"""The fee strategies, by the name a policy file gives them.

Outbound strategies price our side of the channel (``strategy = ...``); inbound ones set
the signed fee on HTLCs entering through it (``inbound = ...``; ``keep`` leaves it alone).
To add a strategy: write a function from :class:`StrategyContext` to :class:`Target` in a
module of its own, add its name to the policy's ``OutboundStrategy`` (and a parameter table
if it has parameters), and register it here; the planner, the safety limits, the journal
and the benchmark pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.cost import cost_floor, liquidity_cost
from lnpilot.fees.strategies.flow_adaptive import flow_adaptive
from lnpilot.fees.strategies.inbound import discount_bound_ppm, inbound_discount, inbound_static
from lnpilot.fees.strategies.peer_aware import peer_aware
from lnpilot.fees.strategies.proportional import proportional
from lnpilot.fees.strategies.static import static

Strategy = Callable[[StrategyContext], Target]

OUTBOUND: Mapping[str, Strategy] = {
    "static": static,
    "proportional": proportional,
    "flow_adaptive": flow_adaptive,
    "cost_floor": cost_floor,
    "peer_aware": peer_aware,
}
INBOUND: Mapping[str, Strategy] = {
    "static": inbound_static,
    "discount": inbound_discount,
}

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "Strategy",
    "StrategyContext",
    "Target",
    "discount_bound_ppm",
    "liquidity_cost",
]
