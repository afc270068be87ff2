"""The fee strategies, by the name a policy file gives them.

Outbound strategies price our side of the channel (``strategy = ...``); inbound ones set
the signed fee on HTLCs entering through it (``inbound = ...``; ``keep`` leaves it alone).
To add a strategy: in a module of its own, declare its parameter table and register its
function from :class:`StrategyContext` and those parameters to :class:`Target` with
:func:`~lnpilot.fees.strategies.registry.strategy`; then import the module below. The
policy language (the name, the table, required keys), the gatherer (history windows, the
graph), the planner, the safety limits, the journal and the league pick it up from that
registration. The import order is the order the policy's error messages list names in.
"""

from __future__ import annotations

# isort: off
from lnpilot.fees.strategies import (  # noqa: F401  (importing registers)
    static,
    proportional,
    flow_adaptive,
    cost,
    peer_aware,
    inbound,
    lndg,
    clboss,
    discovery,
    ignore,
)

# isort: on
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.cost import LiquidityFloor, liquidity_cost, liquidity_floor
from lnpilot.fees.strategies.inbound import discount_bound_ppm
from lnpilot.fees.strategies.registry import INBOUND, OUTBOUND, Strategy, tables

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "LiquidityFloor",
    "Strategy",
    "StrategyContext",
    "Target",
    "discount_bound_ppm",
    "liquidity_cost",
    "liquidity_floor",
    "tables",
]
