"""The retry rules of the one HTTP transport (:mod:`lnpilot.base.http`), each a small named
function that can be tested alone.

Whether a failed request may be sent again depends on two things only: whether the request
may have reached the server ("was it sent"), and whether sending it twice can change more
than sending it once (idempotency, declared by the caller per request):

- not sent (connection refused, connect or pool timeout): always safe to resend;
- 429: the server refused before handling it, so resending is safe, after its Retry-After;
- sent but unanswered (read timeout, connection lost after sending), or answered with an
  error the server calls transient (a 5xx it may not give again): only when idempotent;
- any other answer: never, it will not change by asking again.

How long to wait is :meth:`RetryPolicy.delay_s`: exponential backoff with full jitter
(sleep a uniform random time in ``[0, min(cap, base * 2**attempt)]``), which spreads the
retries of many clients apart instead of synchronising them, under a ``Retry-After`` from the
server as a floor: we never come back earlier than it asked.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The answer a server gives when it refused a request before handling it.
TOO_MANY_REQUESTS = 429


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

    def allows(self, attempt: int, elapsed_s: float, delay_s: float) -> bool:
        """Whether retry number ``attempt`` (0 for the first), after ``delay_s`` more, is within
        the attempts and the deadline: a retry that would end past the deadline is not made."""
        return attempt + 1 < self.max_attempts and elapsed_s + delay_s <= self.deadline_s


NO_RETRY = RetryPolicy(max_attempts=1)


def should_retry_unanswered(*, sent: bool, idempotent: bool) -> bool:
    """A request that got no answer: resend it if it never left, or if resending is harmless."""
    return not sent or idempotent


def should_retry_answer(status: int, *, idempotent: bool, transient: bool) -> bool:
    """A request answered with an error: resend after a 429 (refused before handling), or
    after an error the server calls ``transient`` when resending is harmless."""
    return status == TOO_MANY_REQUESTS or (transient and idempotent)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110: delay-seconds or an HTTP-date), or None when
    absent or unreadable. A date in the past means "now" (0 s)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP-date is GMT by definition
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
