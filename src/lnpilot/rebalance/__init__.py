"""Automated rebalancing under a budget, that earns its cost and explains itself.

The ``[rebalance]`` part of the fee policy file (:mod:`.settings`) sets each channel's
target band; the band's centre moves with the channel's direction, learned from flows
(:mod:`.targets`). :func:`plan` (:mod:`.planner`) pairs channels below their band with
channels above it (:mod:`.candidates`), prices each pair with the economic guard
(:mod:`.economics`) and shares the budget out (:mod:`.budget`), giving every channel a
decision and a reason. A :class:`Rebalancer` (:mod:`.run`) gathers, plans, journals and,
in apply mode only, executes the orders through an :class:`Executor` (:mod:`.executor`:
circular rebalances through a direct LND connection; none through LNbits alone), and
:func:`history` (:mod:`.attribution`) tells whether the rebalances paid for themselves.
Swaps through LNbits' Boltz extension are the second way to refill (:mod:`.methods` prices
them against circular moves; :mod:`.swaps` starts them once and follows them to their end).
``docs/rebalancing.md`` is the operator's guide.
"""

from lnpilot.rebalance.attribution import Attribution, History, Rebalance, attribute, history
from lnpilot.rebalance.executor import (
    NO_CHANNEL_TARGETED_PATH,
    Attempt,
    AttemptOutcome,
    CircularExecutor,
    Execution,
    Executor,
    Ledger,
    RebalanceOutcome,
    executor_for,
)
from lnpilot.rebalance.planner import (
    Decision,
    Order,
    RebalanceAction,
    RebalanceInputs,
    RebalancePlan,
    Request,
    Role,
    plan,
)
from lnpilot.rebalance.run import NotCollected, RebalanceMode, Rebalancer, RebalanceReport
from lnpilot.rebalance.settings import (
    RebalanceSettings,
    SettingsError,
    load_settings,
    parse_settings,
    settings_from_policy,
)
from lnpilot.rebalance.targets import Band, FlowDirection

__all__ = [
    "NO_CHANNEL_TARGETED_PATH",
    "Attempt",
    "AttemptOutcome",
    "Attribution",
    "Band",
    "CircularExecutor",
    "Decision",
    "Execution",
    "Executor",
    "FlowDirection",
    "History",
    "Ledger",
    "NotCollected",
    "Order",
    "Rebalance",
    "RebalanceAction",
    "RebalanceInputs",
    "RebalanceMode",
    "RebalanceOutcome",
    "RebalancePlan",
    "RebalanceReport",
    "RebalanceSettings",
    "Rebalancer",
    "Request",
    "Role",
    "SettingsError",
    "attribute",
    "executor_for",
    "history",
    "load_settings",
    "parse_settings",
    "plan",
    "settings_from_policy",
]
