"""A client-side token bucket so lnpilot stays under LNbits' own rate limit.

LNbits answers 429 after 200 requests per minute per IP by default. The default bucket
here allows 180 per minute with a small burst, so a busy collector never trips it; a 429
that still happens is retried after the server's Retry-After.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``rate_per_s`` sustained, ``burst`` at once; ``acquire`` waits for a token."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    async def acquire(self) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        waited_s = 0.0
        async with self._lock:
            self._refill()
            while self._tokens < 1.0:
                wait_s = (1.0 - self._tokens) / self.rate_per_s
                await asyncio.sleep(wait_s)
                waited_s += wait_s
                self._refill()
            self._tokens -= 1.0
        return waited_s


DEFAULT_RATE_PER_MIN = 180
