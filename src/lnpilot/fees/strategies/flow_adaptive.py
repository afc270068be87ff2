"""Flow-adaptive: a controller that steers each channel toward a balance band and a flow.

Each evaluation puts the channel in one state, from its local ratio, its forwarding history
over ``window`` and its failed forwards for lack of liquidity (demand we could not serve),
checked in this order:

=============  ==============================================================  =========
state          when                                                            move
=============  ==============================================================  =========
``learning``   the history does not cover ``window`` or ``idle_after`` yet     hold
``scarce``     local ratio below ``band_low`` and demanded (forwards out or    raise
               failures for lack of liquidity in ``window``)
``drained``    local ratio below ``band_low``, nobody asking                   hold
``idle``       no forward out for ``idle_after``                               lower
``surplus``    local ratio above ``band_high`` and demand below target         lower
``busy``       demand above target × (1 + ``tolerance_pct``)                   raise
``slow``       demand below target × (1 − ``tolerance_pct``)                   lower
``on-target``  otherwise                                                       hold
=============  ==============================================================  =========

Demand is the volume routed out plus the volume that failed for lack of liquidity; the
target is ``target_flow_pct`` of the capacity per ``window``. A move is ``step_pct`` of the
current rate (at least ``min_step_ppm``), multiplied by the time spent in the same state:
one more step per ``ramp`` in it, up to ``max_ramp``. So an idle channel keeps getting
cheaper, faster the longer nobody uses it, and a scarce one dearer, until the state
changes; the safety limits still cap every single move.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from lnpilot.fees.inputs import format_ratio
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import DAY_S, DurationS, Pct, Permille, StrictModel, format_duration


class FlowAdaptiveParams(StrictModel):
    window_s: DurationS = Field(default=7 * DAY_S, alias="window")
    band_low: Permille = 300
    band_high: Permille = 700
    target_flow_pct: Pct = 20  # outbound volume per window, in % of capacity
    tolerance_pct: Annotated[int, Field(ge=0, le=100)] = 50
    step_pct: Annotated[int, Field(ge=1, le=100)] = 5
    min_step_ppm: Annotated[int, Field(ge=1, le=10_000)] = 2
    idle_after_s: DurationS = Field(default=2 * DAY_S, alias="idle_after")
    ramp_s: DurationS = Field(default=7 * DAY_S, alias="ramp")
    max_ramp: Annotated[int, Field(ge=1, le=20)] = 4

    def problems(self) -> list[str]:
        if self.band_low >= self.band_high:
            return [
                "band_low must be below band_high "
                f"(got {self.band_low / 1000} and {self.band_high / 1000})"
            ]
        return []


@strategy(
    "flow_adaptive",
    FlowAdaptiveParams,
    windows=lambda params: (params.window_s, params.idle_after_s),
)
def flow_adaptive(ctx: StrategyContext, params: FlowAdaptiveParams) -> Target:
    window = format_duration(params.window_s)
    stats = ctx.inputs.windows.get(params.window_s)
    recent = ctx.inputs.windows.get(params.idle_after_s)
    if stats is None or recent is None:
        longest = format_duration(max(params.window_s, params.idle_after_s))
        return Target(None, f"learning: the history does not cover {longest} yet", state="learning")
    local = ctx.inputs.local_permille
    flow = stats.flow
    failed_msat = stats.liquidity_failed_msat or 0
    failures = stats.liquidity_failures or 0
    demand_msat = flow.volume_out_msat + failed_msat
    target_msat = ctx.inputs.channel.capacity_sat * 1000 * params.target_flow_pct // 100
    demand = (
        f"{flow.forwards_out} forwards out ({flow.volume_out_msat // 1000} sat) and "
        f"{failures} failed for lack of liquidity in {window}"
    )
    ratio = f"local ratio {format_ratio(local)}"
    direction = 0
    if local < params.band_low:
        if flow.forwards_out or failures:
            state, direction = "scarce", 1
            why = f"{ratio} below band {format_ratio(params.band_low)} and demanded: {demand}"
        else:
            state = "drained"
            why = f"{ratio} below band {format_ratio(params.band_low)}, no demand in {window}"
    elif recent.flow.forwards_out == 0:
        state, direction = "idle", -1
        why = f"no forward out in {format_duration(params.idle_after_s)}"
    elif local > params.band_high and demand_msat < target_msat:
        state, direction = "surplus", -1
        why = f"{ratio} above band {format_ratio(params.band_high)}, demand below target"
    elif demand_msat > target_msat * (100 + params.tolerance_pct) // 100:
        state, direction = "busy", 1
        why = f"demand {demand_msat // 1000} sat above target {target_msat // 1000} sat"
    elif demand_msat < target_msat * (100 - params.tolerance_pct) // 100:
        state, direction = "slow", -1
        why = f"demand {demand_msat // 1000} sat below target {target_msat // 1000} sat"
    else:
        state = "on-target"
        why = f"demand {demand_msat // 1000} sat near target {target_msat // 1000} sat"
    if direction == 0:
        return Target(None, f"flow_adaptive {state}: {why}; holding", state=state)
    in_state_s = int((ctx.plan.now - ctx.state_since(state)).total_seconds())
    steps = min(params.max_ramp, 1 + in_state_s // params.ramp_s)
    current = ctx.current.fee_rate_ppm
    move_ppm = max(current * params.step_pct * steps // 100, params.min_step_ppm)
    fee_rate_ppm = max(0, current + direction * move_ppm)
    verb = "raise" if direction > 0 else "lower"
    return Target(
        fee_rate_ppm,
        f"flow_adaptive {state}: {why}; {verb} {params.step_pct}% × {steps} "
        f"(in state {format_duration(in_state_s, approximate=True)}) to {fee_rate_ppm} ppm",
        state=state,
    )
