"""The spending budget: sats per UTC day, per UTC month, and a share of what routing earned.

All three limits hold at once; the room left is the smallest of the three. Spending counts
what is committed, not only what is paid: an attempt in flight, or whose outcome was never
learnt, counts at the full fee of its route (see :mod:`lnpilot.store.rebalances`). The
earnings share compares what was spent over the trailing window (30 days by default) with
the forwarding fees earned over the same window, so a node that earns nothing spends
nothing, and one whose earnings fall spends less.

The check happens twice: the planner shares the room out between the rebalances of one
run, and each attempt is checked again, under the store's write lock, just before its HTLC
is sent. Only the second one makes the limits impossible to exceed; the first keeps a plan
from promising what the budget cannot give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.rebalance.economics import sat_text
from lnpilot.rebalance.settings import Budget


@dataclass(frozen=True)
class Spending:
    """Fees committed since the start of the UTC day, of the UTC month, and of the window."""

    day_msat: int
    month_msat: int
    window_msat: int


@dataclass(frozen=True)
class Room:
    """What may still be spent, and the limit that decides it, in words."""

    msat: int
    binding: str


def periods(now: datetime, earned_window: timedelta) -> tuple[datetime, datetime, datetime]:
    """Where today, this month and the earnings window start (UTC)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1), now - earned_window


def room(limits: Budget, spent: Spending, earned_msat: int) -> Room:
    """The smallest room of the three limits (never negative)."""
    share_msat = earned_msat * limits.earned_share_pct // 100
    candidates = [
        (
            limits.daily_sat * 1000 - spent.day_msat,
            f"daily: {sat_text(spent.day_msat)} of {limits.daily_sat:,} sat spent",
        ),
        (
            limits.monthly_sat * 1000 - spent.month_msat,
            f"monthly: {sat_text(spent.month_msat)} of {limits.monthly_sat:,} sat spent",
        ),
        (
            share_msat - spent.window_msat,
            f"earnings share: {sat_text(spent.window_msat)} of {limits.earned_share_pct}% of "
            f"{sat_text(earned_msat)} sat earned in {limits.earned_window_days}d spent",
        ),
    ]
    left_msat, binding = min(candidates, key=lambda c: c[0])
    return Room(max(0, left_msat), binding)
