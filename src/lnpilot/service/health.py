"""Which loop of the daemon last succeeded, and when: the health registry.

The supervisor writes to it after each run of a loop; the health endpoint, the dashboard and
``/metrics`` read it. It lives in memory only: health describes this process, and a restart
starts with every loop "never run", which is the truth about the new process. With ``[api]
workers`` above 1 the API answers from other processes than the one running the loops: the
registry then publishes every change to a file of the run's own (:meth:`LoopHealth.publish_to`)
and the workers read it through a :class:`HealthMirror`, so every process reports the same
loops.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import TypeAdapter


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
        """Not more than ``grace`` intervals behind the loop's own schedule.

        A loop that has not failed since it started is healthy before its first success (its
        first run may be under way); one that is failing is judged from its last success.
        Otherwise lateness is measured against when the next run was due (``interval_s``
        after the last successful run started, or at once when that run took longer), and a
        run under way may take ``grace`` times the longer of the interval and the last run:
        the time since the last success alone called a loop whose runs outgrow a short
        interval under CPU load unhealthy although nothing failed.
        """
        if self.last_success_at is None:
            return self.consecutive_failures == 0
        allowed_s = grace * self.interval_s
        if self.consecutive_failures:
            return (now - self.last_success_at).total_seconds() <= allowed_s
        run_s = self.last_duration_s or 0.0
        due = max(
            self.last_success_at,
            self.last_success_at + timedelta(seconds=self.interval_s - run_s),
        )
        started = self.last_started_at
        if self.running and started is not None:  # the run after the last success
            late_start_s = (started - due).total_seconds()
            running_s = (now - started).total_seconds()
            return late_start_s <= allowed_s and running_s <= grace * max(self.interval_s, run_s)
        return (now - due).total_seconds() <= allowed_s


#: How the registry is written for other processes: JSON of the statuses, in order.
_PUBLISHED = TypeAdapter(list[LoopStatus])


class LoopHealth:
    """The registry: one :class:`LoopStatus` per loop, replaced (never mutated) on each
    change so a reader always sees a consistent status."""

    def __init__(self) -> None:
        self._loops: dict[str, LoopStatus] = {}
        self._published: Path | None = None

    def publish_to(self, path: Path) -> None:
        """Write the registry to ``path`` now and after every change (replaced whole, so a
        reader never sees half a write): what a :class:`HealthMirror` in another process
        reads."""
        self._published = path
        self._publish()

    def _set(self, status: LoopStatus) -> None:
        self._loops[status.name] = status
        self._publish()

    def _publish(self) -> None:
        if self._published is None:
            return
        directory = self._published.parent
        with tempfile.NamedTemporaryFile("wb", dir=directory, delete=False) as out:
            out.write(_PUBLISHED.dump_json(list(self._loops.values())))
        os.replace(out.name, self._published)

    def register(self, name: str, interval_s: float) -> None:
        self._set(LoopStatus(name=name, interval_s=interval_s))

    def started(self, name: str, at: datetime) -> None:
        self._set(replace(self._loops[name], running=True, last_started_at=at))

    def succeeded(self, name: str, at: datetime, duration_s: float) -> None:
        status = self._loops[name]
        self._set(
            replace(
                status,
                running=False,
                last_success_at=at,
                last_duration_s=duration_s,
                runs=status.runs + 1,
                consecutive_failures=0,
                waiting_for=None,
                failing_since=None,
            )
        )

    def waiting(self, name: str, at: datetime, duration_s: float, reason: str) -> None:
        """The run found its input not there yet: neither a success nor a failure."""
        status = self._loops[name]
        self._set(
            replace(
                status,
                running=False,
                last_duration_s=duration_s,
                runs=status.runs + 1,
                waiting_for=reason,
            )
        )

    def failed(self, name: str, at: datetime, duration_s: float, error: str) -> None:
        status = self._loops[name]
        self._set(
            replace(
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
        )

    def get(self, name: str) -> LoopStatus | None:
        return self._loops.get(name)

    def all(self) -> list[LoopStatus]:
        """Every registered loop, in registration order."""
        return list(self._loops.values())


class HealthMirror(LoopHealth):
    """The registry of the process running the loops, as it last published it to ``path``
    (:meth:`LoopHealth.publish_to`): what an API worker process reports. The file is read
    at each question (a few hundred bytes; health is not asked on the API's hot path) and
    parsed again only when its bytes changed: a file's times and inode number cannot tell
    two writes within one clock tick apart. Never written here."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._seen: bytes | None = None

    def _refresh(self) -> None:
        try:
            found = self._path.read_bytes()
        except FileNotFoundError:  # the loops' process has not published yet
            return
        if found != self._seen:
            statuses = _PUBLISHED.validate_json(found)
            self._loops = {s.name: s for s in statuses}
            self._seen = found

    def _set(self, status: LoopStatus) -> None:
        raise RuntimeError("a health mirror is read-only: the loops run in another process")

    def get(self, name: str) -> LoopStatus | None:
        self._refresh()
        return super().get(name)

    def all(self) -> list[LoopStatus]:
        self._refresh()
        return super().all()
