"""Exponential backoff with full jitter, a cap and a deadline.

Full jitter (sleep a uniform random time in ``[0, min(cap, base * 2**attempt)]``) spreads
retries of many clients apart instead of synchronising them. A ``Retry-After`` from the
server is a floor: we never come back earlier than it asked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that is safe to retry."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    deadline_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.deadline_s <= 0:
            raise ValueError("delays must be >= 0 and deadline_s > 0")

    def delay_s(
        self, attempt: int, *, retry_after_s: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Sleep before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        jittered = (rng or random).uniform(0.0, ceiling)
        if retry_after_s is not None:
            return max(jittered, retry_after_s)
        return jittered


NO_RETRY = RetryPolicy(max_attempts=1)
