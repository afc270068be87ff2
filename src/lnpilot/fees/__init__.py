"""The fee policy engine: per-channel strategies, inbound fees, safe application.

A policy file (:mod:`.policy`) says, by ordered rules and per-channel overrides, which
strategy (:mod:`.strategies`) prices each channel. :func:`plan` is a pure function from
the channels, their history and the policy to one explained decision per channel, every
proposal having passed the safety limits (:mod:`.safety`). :func:`evaluate` runs it end to
end against a node and the store (gather, plan, apply or dry run, journal), and
:func:`rollback` undoes an applied run. ``docs/fees.md`` describes the language, the
strategies' formulas and the safety rules.
"""

from lnpilot.fees.applier import Result, UpdateOutcome
from lnpilot.fees.gather import Gathered, gather
from lnpilot.fees.inputs import ChannelInputs, ControllerMemory, PlanInputs, WindowStats
from lnpilot.fees.journal import Mode
from lnpilot.fees.planner import Action, ChannelDecision, Plan, plan
from lnpilot.fees.policy import PolicyError, PolicyFile, load_policy, parse_policy
from lnpilot.fees.rollback import RollbackError, rollback
from lnpilot.fees.rules import Resolution, resolve
from lnpilot.fees.run import RunReport, evaluate

__all__ = [
    "Action",
    "ChannelDecision",
    "ChannelInputs",
    "ControllerMemory",
    "Gathered",
    "Mode",
    "Plan",
    "PlanInputs",
    "PolicyError",
    "PolicyFile",
    "Resolution",
    "Result",
    "RollbackError",
    "RunReport",
    "UpdateOutcome",
    "WindowStats",
    "evaluate",
    "gather",
    "load_policy",
    "parse_policy",
    "plan",
    "resolve",
    "rollback",
]
