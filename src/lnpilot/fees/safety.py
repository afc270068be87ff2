"""The limits every proposal passes, whatever rule or strategy made it.

In order, per channel:

1. **bounds**: each value is clamped to its ``[min, max]`` (``never_below_cost`` raises the
   minimum rate to the cost floor; a discount strategy's inbound fee is bounded by the
   rebalancing cost; a pin replaces all of them by a bound of width zero);
2. **step**: a value moves at most one step from where it is: ``max_step_pct`` of the
   current rate, at least ``max_step_floor_ppm``; ``max_base_step_msat`` for base fees.
   So a value outside its bounds (set by hand, or bounds just tightened) walks back into
   them step by step: a change never moves a value out of its bounds or further out;
3. **hysteresis**: a change smaller than ``hysteresis_pct`` of the rate and than
   ``hysteresis_ppm`` is not worth a gossip update; if no field changes enough, nothing is
   sent (when one does, the small ones ride along: one update carries all fields);
4. **minimum interval**: no update within ``min_interval`` of the channel's last change,
   by lnpilot or anyone else;
5. **daily budget**: at most ``daily_budget`` updates in any 24 hours, for the whole node
   (the planner gives the budget left to the largest changes first).

Pure integer functions, so the property tests can drive them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.fees.policy import Safety

BUDGET_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Bounds:
    """``[low, high]``, either end open (None)."""

    low: int | None = None
    high: int | None = None

    def tightened(self, low: int | None = None, high: int | None = None) -> Bounds:
        """These bounds with a further lower and upper limit."""
        new_low = self.low if low is None else low if self.low is None else max(self.low, low)
        new_high = (
            self.high if high is None else high if self.high is None else min(self.high, high)
        )
        return Bounds(new_low, new_high)

    @property
    def empty(self) -> bool:
        return self.low is not None and self.high is not None and self.low > self.high


@dataclass(frozen=True)
class Limited:
    """A value after bounds and step, with a note for each limit that changed it."""

    value: int
    notes: tuple[str, ...]


def limit(name: str, current: int, target: int, bounds: Bounds, max_step: int) -> Limited:
    """``target`` clamped to ``bounds``, then moved at most ``max_step`` from ``current``."""
    notes = []
    wanted = target
    if bounds.low is not None and wanted < bounds.low:
        wanted = bounds.low
        notes.append(f"{name} raised to its minimum {bounds.low}")
    if bounds.high is not None and wanted > bounds.high:
        wanted = bounds.high
        notes.append(f"{name} lowered to its maximum {bounds.high}")
    value = wanted
    if wanted > current + max_step:
        value = current + max_step
    elif wanted < current - max_step:
        value = current - max_step
    if value != wanted:
        notes.append(f"{name} step limited to ±{max_step} (wanted {wanted})")
    return Limited(value, tuple(notes))


def rate_step_ppm(current_ppm: int, safety: Safety) -> int:
    """The largest move of a fee rate (outbound or inbound) from ``current_ppm``."""
    return max(abs(current_ppm) * safety.max_step_pct // 100, safety.max_step_floor_ppm)


def rate_change_matters(current_ppm: int, new_ppm: int, safety: Safety) -> bool:
    """Is moving a fee rate from ``current_ppm`` to ``new_ppm`` worth a gossip update?"""
    threshold = max(abs(current_ppm) * safety.hysteresis_pct // 100, safety.hysteresis_ppm)
    return new_ppm != current_ppm and abs(new_ppm - current_ppm) >= threshold


def interval_wait(last_change_at: datetime | None, now: datetime, safety: Safety) -> timedelta:
    """How long the minimum interval still forbids an update (zero when it does not)."""
    if last_change_at is None:
        return timedelta(0)
    return max(timedelta(0), last_change_at + timedelta(seconds=safety.min_interval_s) - now)


def budget_used(recent_updates: Sequence[datetime], now: datetime) -> int:
    """Updates sent in the 24 hours before ``now`` (the budget's rolling window)."""
    return sum(1 for at in recent_updates if now - BUDGET_WINDOW < at <= now)


def budget_left(recent_updates: Sequence[datetime], now: datetime, safety: Safety) -> int:
    return max(0, safety.daily_budget - budget_used(recent_updates, now))
