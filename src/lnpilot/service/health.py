"""Which loop of the daemon last succeeded, and when: the health registry.

The supervisor writes to it after each run of a loop; the health endpoint, the dashboard and
``/metrics`` read it. It lives in memory only: health describes this process, and a restart
starts with every loop "never run", which is the truth about the new process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class LoopStatus:
    """One loop as last seen. ``consecutive_failures`` resets on success; ``last_error`` is
    the type and message of the last failure (messages are redacted where they are made:
    the LNbits client and the node backends never put secrets in them); ``waiting_for``
    says what the loop's last run found missing (the first collection, say), until it
    succeeds; ``failing_since`` is when the current run of failures began (None while the
    loop succeeds): "the node is unreachable since" for the collector."""

    name: str
    interval_s: float
    running: bool = False
    last_started_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    last_duration_s: float | None = None
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    waiting_for: str | None = None
    failing_since: datetime | None = None

    def healthy(self, now: datetime, grace: float = 3.0) -> bool:
        """Succeeded within ``grace`` intervals, or has not failed yet since it started
        (a loop whose first run is still under way is not unhealthy)."""
        if self.last_success_at is None:
            return self.consecutive_failures == 0
        return (now - self.last_success_at).total_seconds() <= grace * self.interval_s


class LoopHealth:
    """The registry: one :class:`LoopStatus` per loop, replaced (never mutated) on each
    change so a reader always sees a consistent status."""

    def __init__(self) -> None:
        self._loops: dict[str, LoopStatus] = {}

    def register(self, name: str, interval_s: float) -> None:
        self._loops[name] = LoopStatus(name=name, interval_s=interval_s)

    def started(self, name: str, at: datetime) -> None:
        self._loops[name] = replace(self._loops[name], running=True, last_started_at=at)

    def succeeded(self, name: str, at: datetime, duration_s: float) -> None:
        status = self._loops[name]
        self._loops[name] = replace(
            status,
            running=False,
            last_success_at=at,
            last_duration_s=duration_s,
            runs=status.runs + 1,
            consecutive_failures=0,
            waiting_for=None,
            failing_since=None,
        )

    def waiting(self, name: str, at: datetime, duration_s: float, reason: str) -> None:
        """The run found its input not there yet: neither a success nor a failure."""
        status = self._loops[name]
        self._loops[name] = replace(
            status,
            running=False,
            last_duration_s=duration_s,
            runs=status.runs + 1,
            waiting_for=reason,
        )

    def failed(self, name: str, at: datetime, duration_s: float, error: str) -> None:
        status = self._loops[name]
        self._loops[name] = replace(
            status,
            running=False,
            last_failure_at=at,
            last_error=error,
            last_duration_s=duration_s,
            runs=status.runs + 1,
            failures=status.failures + 1,
            consecutive_failures=status.consecutive_failures + 1,
            failing_since=status.failing_since or at,
        )

    def get(self, name: str) -> LoopStatus | None:
        return self._loops.get(name)

    def all(self) -> list[LoopStatus]:
        """Every registered loop, in registration order."""
        return list(self._loops.values())
