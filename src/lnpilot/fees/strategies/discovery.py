"""Price discovery: each channel looks for the fee that earns most, instead of following a formula.

Every formula (proportional to balance, a cost plus a margin, the competitors' median) guesses
what payers will pay; this strategy asks them. It holds a fee for one ``window`` so that a
whole window is earned at it, then compares what the channel earned routing out over the
last window with what it earned over the window before, at the previous fee, and moves
again (hill climbing on the fee, in multiplicative steps):

- earnings rose or held: keep going the same way, the step doubled back up to ``step_pct``;
- earnings fell: go back to the fee before (undo the last step: it was the better price),
  and carry on the other way with half the step (down to ``min_step_pct``), so the fee
  settles around the best price it found;
- the fee has not changed for two windows (held by the safety limits, the budget, or just
  switched on): nothing to compare, so it probes one step in the last direction (up at
  first); a probe that a bound would swallow goes the other way.

Before learning, the windows are checked, in this order (a state names each case):

=============  ===============================================================  =========
state          when                                                             move
=============  ===============================================================  =========
``learning``   the history does not cover two windows yet                       hold
``waiting``    the fee changed less than one window (and ``1d /                 hold
               max_updates_per_day``) ago: its window is not complete yet
``scarce``     our balance is below ``drained_below`` of the capacity now or    raise
               was at the start of either window, and the channel was asked
               (forwards out or failures for lack of liquidity): demand is
               above what we can serve, so the price is too low
``drained``    the same, nobody asking                                          hold
``idle``       no forward out in two windows: lower toward the median of the    lower
               other channels into the peer (hold when already at or below it)
``thin``       fewer than ``min_forwards`` forwards out in both windows: a      hold
               handful of payments earns what chance sends, so comparing two
               such windows would climb on noise (a climb's memory is kept)
``up``/        hill climbing on the earnings, the state remembers the last      climb
``down``       direction and step (``up50``: raised by 50 %)
=============  ===============================================================  =========

A window where the channel ran dry says nothing about the price (it earned less because it
had nothing to sell), so it is never learnt from. The balances at the start of each window
are worked back from the balance now and the volumes routed in and out since (fees and
rebalancing aside: an estimate, good enough to see a channel run dry).

Limits: the rule's ``min_fee_rate_ppm``/``max_fee_rate_ppm`` bound every move (the safety
layer clamps; this strategy reads them only to turn a probe that would be clamped away), at
most ``max_updates_per_day`` moves per channel per day, and the safety limits apply on top
(a policy running this strategy must let a step of ``step_pct`` through: ``max_step_pct``).
Nothing here depends on where the history comes from: it reads the gatherer's windows, as
every strategy does, in ``lnpilot run`` as in the lab.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from lnpilot.fees.inputs import format_ratio, permille
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import DAY_S, DurationS, Permille, StrictModel, format_duration
from lnpilot.store.records import FlowStats

_CLIMB = re.compile(r"(up|down)(\d+)")


class PriceDiscoveryParams(StrictModel):
    window_s: DurationS = Field(default=DAY_S, alias="window")
    step_pct: Annotated[int, Field(ge=1, le=400)] = 50
    min_step_pct: Annotated[int, Field(ge=1, le=400)] = 10
    min_step_ppm: Annotated[int, Field(ge=1, le=10_000)] = 10
    drained_below: Permille = 100
    max_updates_per_day: Annotated[int, Field(ge=1, le=24)] = 2
    min_forwards: Annotated[int, Field(ge=0, le=10_000)] = 0
    idle_lowers_blind: bool = True

    def problems(self) -> list[str]:
        if self.min_step_pct > self.step_pct:
            return [
                f"min_step_pct must not be above step_pct (got {self.min_step_pct} and "
                f"{self.step_pct})"
            ]
        return []

    @property
    def hold_s(self) -> int:
        """How long a fee is kept before the next move: a whole window, and the update cap."""
        return max(self.window_s, DAY_S // self.max_updates_per_day)


def moved_ppm(current_ppm: int, direction: int, step_pct: int, min_step_ppm: int) -> int:
    """One multiplicative step: up ``× (1 + step)``, down ``÷ (1 + step)`` (so an up and a down
    step of the same size cancel), at least ``min_step_ppm``, never below 0."""
    if direction > 0:
        return max(current_ppm * (100 + step_pct) // 100, current_ppm + min_step_ppm)
    return max(0, min(current_ppm * 100 // (100 + step_pct), current_ppm - min_step_ppm))


def _minus(total: FlowStats, part: FlowStats) -> FlowStats:
    """The flows of the older part of a window: the longer window less the shorter one."""
    return FlowStats(
        forwards_in=total.forwards_in - part.forwards_in,
        forwards_out=total.forwards_out - part.forwards_out,
        volume_in_msat=total.volume_in_msat - part.volume_in_msat,
        volume_out_msat=total.volume_out_msat - part.volume_out_msat,
        fee_in_msat=total.fee_in_msat - part.fee_in_msat,
        fee_out_msat=total.fee_out_msat - part.fee_out_msat,
    )


def _remembered(state: str | None, params: PriceDiscoveryParams) -> tuple[int, int]:
    """The last climbing move (direction, step %) a state records; up at full step if none."""
    found = _CLIMB.fullmatch(state or "")
    if found is None:
        if state == "idle":
            return -1, params.step_pct
        return 1, params.step_pct
    step = min(max(int(found[2]), params.min_step_pct), params.step_pct)
    return (1 if found[1] == "up" else -1), step


@strategy(
    "price_discovery",
    PriceDiscoveryParams,
    windows=lambda params: (params.window_s, 2 * params.window_s),
)
def price_discovery(ctx: StrategyContext, params: PriceDiscoveryParams) -> Target:
    window = format_duration(params.window_s)
    last = ctx.inputs.windows.get(params.window_s)
    both = ctx.inputs.windows.get(2 * params.window_s)
    if last is None or both is None:
        return Target(
            None,
            f"price_discovery learning: the history does not cover 2 × {window} yet",
            state="learning",
        )
    memory = ctx.inputs.memory
    remembered = memory.state if memory is not None else None
    current = ctx.current.fee_rate_ppm
    now = ctx.plan.now
    changed = ctx.inputs.last_change_at
    since_change_s = None if changed is None else int((now - changed).total_seconds())
    if since_change_s is not None and since_change_s < params.hold_s:
        return Target(
            None,
            f"price_discovery waiting: {current} ppm set "
            f"{format_duration(since_change_s, approximate=True)} ago, judged after "
            f"{format_duration(params.hold_s)}",
            state=remembered,  # keep the climb's memory across the wait
        )

    channel = ctx.inputs.channel
    capacity_msat = channel.capacity_sat * 1000
    previous = _minus(both.flow, last.flow)
    local_now = channel.local_balance_msat
    local_mid = local_now + last.flow.volume_out_msat - last.flow.volume_in_msat
    local_start = local_mid + previous.volume_out_msat - previous.volume_in_msat
    lowest = min(local_now, local_mid, local_start)
    failures = last.liquidity_failures or 0
    if permille(max(lowest, 0), capacity_msat) < params.drained_below:
        dry = (
            f"local ratio {format_ratio(permille(max(lowest, 0), capacity_msat))} (now "
            f"{format_ratio(ctx.inputs.local_permille)}) below {format_ratio(params.drained_below)}"
            f" within the last 2 × {window}"
        )
        if last.flow.forwards_out or failures:
            fee = moved_ppm(current, 1, params.step_pct, params.min_step_ppm)
            return Target(
                fee,
                f"price_discovery scarce: {dry}, and asked ({last.flow.forwards_out} forwards "
                f"out, {failures} failed for lack of liquidity in {window}): not learning "
                f"from a dry window; raise {params.step_pct}% to {fee} ppm",
                state="scarce",
            )
        return Target(
            None, f"price_discovery drained: {dry}, nobody asking; holding", state="drained"
        )

    if both.flow.forwards_out == 0:
        rates = sorted(ctx.inputs.peer_fee_rates_ppm)
        if rates and current <= rates[(len(rates) - 1) // 2]:
            median = rates[(len(rates) - 1) // 2]
            return Target(
                None,
                f"price_discovery idle: no forward out in 2 × {window}, already at or below "
                f"the competitors' median {median} ppm; holding",
                state="idle",
            )
        if not rates and not params.idle_lowers_blind:
            return Target(
                None,
                f"price_discovery idle: no forward out in 2 × {window} and no competitor's fee "
                f"in view: a quiet channel is no proof of a high price; holding",
                state="idle",
            )
        fee = moved_ppm(current, -1, params.step_pct, params.min_step_ppm)
        toward = ""
        if rates:
            median = rates[(len(rates) - 1) // 2]
            fee = max(fee, median)
            toward = f" toward the competitors' median {median} ppm"
        return Target(
            fee,
            f"price_discovery idle: no forward out in 2 × {window}; lower{toward} to {fee} ppm",
            state="idle",
        )

    most = max(last.flow.forwards_out, previous.forwards_out)
    if most < params.min_forwards:
        return Target(
            None,
            f"price_discovery thin: {last.flow.forwards_out} forwards out in the last {window}, "
            f"{previous.forwards_out} in the {window} before, both fewer than "
            f"{params.min_forwards}: too few to tell a better price from chance; holding "
            f"{current} ppm",
            state=remembered if _CLIMB.fullmatch(remembered or "") else "thin",
        )

    direction, step = _remembered(remembered, params)
    earned_now = last.flow.fee_out_msat
    earned_before = previous.fee_out_msat
    compared = since_change_s is not None and since_change_s < 2 * params.window_s
    move = step  # the size of this move; the state records the size of the next one
    if not compared:
        why = (
            f"fee unchanged for 2 × {window} ({earned_now // 1000} sat earned in the last {window})"
        )
        verb = "probe"
    elif earned_now >= earned_before:
        step = move = min(step * 2, params.step_pct)
        why = (
            f"earned {earned_now // 1000} sat in the last {window} at {current} ppm, "
            f"{earned_before // 1000} sat in the {window} before: not worse"
        )
        verb = "keep going"
    else:
        direction, step = -direction, max(step // 2, params.min_step_pct)
        why = (
            f"earned {earned_now // 1000} sat in the last {window} at {current} ppm, "
            f"{earned_before // 1000} sat in the {window} before: worse"
        )
        verb = f"turn back to the fee before (undo the last {move}% step), next steps {step}%"
    fee = moved_ppm(current, direction, move, params.min_step_ppm)
    low, high = ctx.settings.min_fee_rate_ppm, ctx.settings.max_fee_rate_ppm
    blocked = (direction > 0 and high is not None and current >= high) or (
        direction < 0 and (current == 0 or (low is not None and current <= low))
    )
    if blocked:
        direction = -direction
        fee = moved_ppm(current, direction, move, params.min_step_ppm)
        verb += ", at the bound so the other way"
    way = "up" if direction > 0 else "down"
    reason = f"price_discovery {way}: {why}; {verb}, {way} {move}% to {fee} ppm"
    return Target(fee, reason, state=f"{way}{step}")
