"""LNDg's AutoFees: step each channel's fee by what its peer's flows and balance say.

A faithful reading of LNDg's ``af.py`` (its outbound part). Every figure is summed over all
our channels with the peer, and the move applies to each channel's own fee:

- ``out%`` = our balance over the capacity, in percent; ``in7``, ``out7`` = sat routed in
  and out over 7 days; ``net7 = (out7 − in7) / capacity``; ``in1`` = sat routed in over
  1 day; ``failed`` = forwards that failed leaving for lack of balance since
  ``update_after`` (LNDg's ``AF-UpdateHours``); ``revenue7`` and ``assist7`` = fees earned
  on forwards out through and in through the peer's channels over 7 days.
- the adjustment, with ``m = multiplier``:

  ==========================  ===================================================  =======
  balance                     when                                                 move
  ==========================  ===================================================  =======
  ``out% ≤ low_liq_pct``      ``failed > failed_htlcs`` and ``in1 = 0``            +5m
  below ``excess_pct``        no flow in 7 days                                    −3m
  below ``excess_pct``        ``net7 > 1``                                         +2m × (1 + net7)
  ``out% ≥ excess_pct``       no flow in 7 days, or ``net7 < 0`` and
                              ``assist7 > 10 × revenue7``                          −5m
  ==========================  ===================================================  =======

  otherwise 0;
- ``new = round(fee + adjustment, to a multiple of increment_ppm)`` (half to even, as
  pandas rounds), then clipped to ``min_rate_ppm..max_rate_ppm``;
- a channel whose fee changed ``update_after`` ago or less waits (LNDg's eligibility:
  strictly more than ``AF-UpdateHours`` since ``fees_updated``).

Defaults are LNDg's: increment 5, multiplier 5, failed HTLCs 25, update every 24 h, low
liquidity 15 %, excess 95 %, rates 0..2500 ppm. Differences: LNDg counts only forwards of
at least 1,000 sat and adds pending HTLCs to the balances; lnpilot counts every forward and
the settled balances. Failed forwards unknown to the store (HTLC events not followed)
count as none. Until the store covers 7 days the fee is held. LNDg's inbound-fee half is not
part of this strategy (``inbound = ...`` is set apart in lnpilot).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

from pydantic import Field

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import DAY_S, DurationS, Ppm, StrictModel, format_duration

WEEK_S = 7 * DAY_S
Percent = Annotated[int, Field(ge=0, le=100)]


class LndgAutofeesParams(StrictModel):
    max_rate_ppm: Ppm = 2500
    min_rate_ppm: Ppm = 0
    increment_ppm: Annotated[int, Field(ge=1, le=100_000)] = 5
    multiplier: Annotated[int, Field(ge=0, le=10_000)] = 5
    failed_htlcs: Annotated[int, Field(ge=0)] = 25
    update_after_s: DurationS = Field(default=DAY_S, alias="update_after")
    low_liq_pct: Percent = 15
    excess_pct: Percent = 95

    def problems(self) -> list[str]:
        found = []
        if self.low_liq_pct >= self.excess_pct:
            found.append(
                f"low_liq_pct must be below excess_pct (got {self.low_liq_pct} and "
                f"{self.excess_pct})"
            )
        if self.min_rate_ppm > self.max_rate_ppm:
            found.append(
                f"min_rate_ppm must not be above max_rate_ppm (got {self.min_rate_ppm} and "
                f"{self.max_rate_ppm})"
            )
        return found


def adjustment_ppm(
    params: LndgAutofeesParams,
    *,
    out_pct: Fraction,
    failed: int,
    in1_sat: int,
    in7_sat: int,
    out7_sat: int,
    capacity_sat: int,
    revenue7_msat: int,
    assist7_msat: int,
) -> tuple[Fraction, str]:
    """LNDg's ``compute_outbound_adjustment`` for one peer, and which case applied."""
    m = params.multiplier
    net7 = Fraction(out7_sat - in7_sat, capacity_sat) if capacity_sat else Fraction(0)
    idle = in7_sat + out7_sat == 0
    if out_pct <= params.low_liq_pct:
        if failed > params.failed_htlcs and in1_sat == 0:
            return Fraction(5 * m), f"low liquidity, {failed} failed forwards and no inflow in 1d"
        return Fraction(0), (
            f"low liquidity but {failed} failed forwards (moves above {params.failed_htlcs}) "
            f"and {in1_sat} sat in over 1d (moves at 0)"
        )
    if out_pct < params.excess_pct:
        if idle:
            return Fraction(-3 * m), "no flow in 7d"
        if net7 > 1:
            return 2 * m * (1 + net7), f"net outflow {float(net7):.2f}× capacity in 7d"
        return Fraction(0), f"net outflow {float(net7):.2f}× capacity in 7d (moves above 1)"
    if idle:
        return Fraction(-5 * m), "excess liquidity and no flow in 7d"
    if net7 < 0 and assist7_msat > revenue7_msat * 10:
        return Fraction(-5 * m), "excess liquidity, net inflow, assisting revenue > 10× own"
    return Fraction(0), (
        f"excess liquidity with flow, net {float(net7):+.2f}× capacity in 7d, fees earned "
        f"{assist7_msat // 1000} sat in and {revenue7_msat // 1000} sat out"
    )


@strategy(
    "lndg_autofees",
    LndgAutofeesParams,
    windows=lambda params: (DAY_S, WEEK_S, params.update_after_s),
)
def lndg_autofees(ctx: StrategyContext, params: LndgAutofeesParams) -> Target:
    last = ctx.inputs.last_change_at
    if last is not None and (ctx.plan.now - last).total_seconds() <= params.update_after_s:
        ago = int((ctx.plan.now - last).total_seconds())
        return Target(
            None,
            f"lndg_autofees: fee changed {format_duration(ago, approximate=True)} ago, "
            f"eligible after {format_duration(params.update_after_s)}",
        )
    peer = ctx.inputs.channel.peer_pubkey
    members = [c for c in ctx.plan.channels if c.channel.peer_pubkey == peer]
    local_msat = capacity_sat = failed = 0
    in1 = in7 = out7 = revenue7 = assist7 = 0
    for member in members:
        day = member.windows.get(DAY_S)
        week = member.windows.get(WEEK_S)
        recent = member.windows.get(params.update_after_s)
        if day is None or week is None or recent is None:
            return Target(None, "lndg_autofees: the history does not cover 7d yet; holding")
        local_msat += member.channel.local_balance_msat
        capacity_sat += member.channel.capacity_sat
        failed += recent.liquidity_failures or 0
        in1 += day.flow.volume_in_msat // 1000
        in7 += week.flow.volume_in_msat // 1000
        out7 += week.flow.volume_out_msat // 1000
        revenue7 += week.flow.fee_out_msat
        assist7 += week.flow.fee_in_msat
    out_pct = Fraction(local_msat, capacity_sat * 10) if capacity_sat else Fraction(0)
    adjustment, why = adjustment_ppm(
        params,
        out_pct=out_pct,
        failed=failed,
        in1_sat=in1,
        in7_sat=in7,
        out7_sat=out7,
        capacity_sat=capacity_sat,
        revenue7_msat=revenue7,
        assist7_msat=assist7,
    )
    current = ctx.current.fee_rate_ppm
    stepped = round((current + adjustment) / params.increment_ppm) * params.increment_ppm
    fee_rate_ppm = min(max(stepped, params.min_rate_ppm), params.max_rate_ppm)
    return Target(
        fee_rate_ppm,
        f"lndg_autofees: peer balance {float(out_pct):.0f}% out, {why}: "
        f"{current} {float(adjustment):+.1f} ppm, in steps of {params.increment_ppm}, "
        f"within {params.min_rate_ppm}..{params.max_rate_ppm} gives {fee_rate_ppm} ppm",
    )
