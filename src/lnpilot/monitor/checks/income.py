"""Fee income far below its usual level, by a robust z-score.

Daily income is skewed and has outliers (one large forward makes a day), so the mean and
standard deviation would let one good day hide every bad one. The median and the median
absolute deviation (MAD) do not move with a few outliers; ``0.6745 (x - median) / MAD`` is
Iglewicz and Hoaglin's modified z-score, comparable to a normal z-score, with 3.5 their
suggested cut-off. When more than half the days earned the same (MAD 0), the mean absolute
deviation scaled by 1.2533 stands in, as is usual.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta

from lnpilot.monitor.checks.base import Context, Finding, sat_text
from lnpilot.monitor.config import FeeIncomeAnomalyRule

_DAY = timedelta(days=1)


def robust_z(value: float, history: Sequence[float]) -> float:
    """How far ``value`` is from ``history``'s median in robust standard deviations;
    ±inf when the history does not vary at all and ``value`` differs from it."""
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    if mad > 0:
        return 0.6745 * (value - median) / mad
    mean_ad = statistics.fmean(abs(x - median) for x in history)
    if mean_ad > 0:
        return (value - median) / (1.2533 * mean_ad)
    return 0.0 if value == median else math.copysign(math.inf, value - median)


async def fee_income_anomaly(ctx: Context, rule: FeeIncomeAnomalyRule) -> list[Finding]:
    """The last 24 h against each of the ``days`` 24 h windows before it (node-wide:
    the sum over channels of fees on their outgoing side counts each forward once)."""
    incomes = []
    for days_back in range(rule.days + 1):
        end = ctx.end - days_back * _DAY
        totals = await ctx.reader.channel_totals(ctx.node_id, end - _DAY, end, now=ctx.now)
        incomes.append(sum(flow.fee_out_msat for flow in totals.values()))
    today, history = incomes[0], incomes[1:]
    if sum(1 for x in history if x > 0) < rule.min_days:
        return []
    median = statistics.median(history)
    if median < rule.min_median_msat:
        return []
    z = robust_z(today, history)
    if z >= -rule.z_threshold:
        return []
    return [
        Finding(
            {"scope": "node"},
            f"fee income over the last 24 h is {sat_text(today)}, far below the usual "
            f"{sat_text(int(median))} a day (robust z-score {z:.1f}, threshold "
            f"-{rule.z_threshold:g})",
            value=z if math.isfinite(z) else None,
            details={"income_msat": today, "median_msat": int(median)},
        )
    ]
