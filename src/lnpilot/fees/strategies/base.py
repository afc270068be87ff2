"""What every strategy gets and gives.

A strategy is a pure function from a :class:`StrategyContext` to a :class:`Target`: the fee
it would like and why, in words. It does not clamp, limit steps or think about budgets;
:mod:`lnpilot.fees.safety` does that for all strategies alike, so that no strategy can
forget to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lnpilot.base.domain import ChannelPolicy
from lnpilot.fees.inputs import ChannelInputs, PlanInputs

if TYPE_CHECKING:  # the policy's settings model is built from the strategies' registrations
    from lnpilot.fees.policy import RuleSettings


@dataclass(frozen=True)
class Target:
    """A wanted fee rate (ppm; None keeps the current one), optionally a base fee (msat).

    ``state`` names the situation a controller found the channel in; the planner remembers
    it (the journal) so the next evaluation knows how long the channel has been in it.
    """

    fee_rate_ppm: int | None
    reason: str
    base_fee_msat: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class StrategyContext:
    """One channel, the whole evaluation, and the merged settings of its rule."""

    inputs: ChannelInputs
    plan: PlanInputs
    settings: RuleSettings
    current: ChannelPolicy

    def state_since(self, state: str) -> datetime:
        """When the channel entered `state`: remembered if it was already in it, else now."""
        memory = self.inputs.memory
        if memory is not None and memory.state == state:
            return memory.since
        return self.plan.now
