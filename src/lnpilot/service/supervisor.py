"""The supervisor: runs each loop of the daemon on its own schedule, independently.

Each loop is one asyncio task that calls its ``run_once`` again ``interval_s`` after the
last call started (shifted at random by up to ``jitter`` of it, for a loop that asks for
it: collectors started together then do not all hit the node and the database at once).
A call that raises is counted in the health registry and retried after an exponential
backoff (1 s, 2 s, 4 s, ... up to ``backoff_max_s``); the other loops never notice. The
log says what changed, not every attempt: one line when a loop starts failing
(with the redacted traceback, unless the failure is one of its ``expected`` ones: the node
or the database out of reach), one when the failure changes (its text, numbers aside), one
when it recovers.
A loop with a ``ready`` probe (the collector: the node's getinfo) does not wait out its
backoff when the outage ends: while it backs off, the probe is asked every
``PROBE_EVERY_S`` (or its interval, if shorter), and the first yes runs it again at once.
A call that raises one of its loop's
``waits_on`` exceptions found its input not there yet (the rebalancer before the first
collection, any acting loop of a standby daemon): that is no failure, so it is logged in one
line (again only when the reason changes), recorded as waiting, and
retried on the same backoff (never later than the loop's interval), not an interval later.

Stopping (SIGTERM) never interrupts a call: the supervisor stops starting new ones and
waits up to ``stop_timeout_s`` for the calls under way, so a collector cycle or a fee run
commits or rolls back whole; only a call still running after that is cancelled (its
transaction then rolls back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from lnpilot.base.redact import redact_text
from lnpilot.service.context import WALL_CLOCK
from lnpilot.service.health import LoopHealth

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 1.0
#: How often a backing-off loop's ``ready`` probe is asked (at most).
PROBE_EVERY_S = 5.0


@dataclass(frozen=True)
class Loop:
    """One line of the daemon's loop table: a name, a schedule, one unit of work."""

    name: str
    interval_s: float
    run_once: Callable[[], Awaitable[object]]
    waits_on: tuple[type[Exception], ...] = ()
    expected: tuple[type[Exception], ...] = ()
    ready: Callable[[], Awaitable[bool]] | None = None
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError(f"loop {self.name}: jitter must be in [0, 1), got {self.jitter}")

    def next_in_s(self, rng: random.Random) -> float:
        """The interval to the next call after a good one: ``interval_s``, ± ``jitter``."""
        if not self.jitter:
            return self.interval_s
        return self.interval_s * (1 + rng.uniform(-self.jitter, self.jitter))


def backoff_s(failures: int, maximum_s: float) -> float:
    """Delay before the next try after ``failures`` failures in a row (at least one)."""
    return float(min(maximum_s, BACKOFF_BASE_S * 2 ** min(failures - 1, 30)))


class Supervisor:
    """Runs ``loops`` until :meth:`stop`; their health goes to ``health``; ``rng`` draws
    the loops' jitter."""

    def __init__(
        self,
        loops: Sequence[Loop],
        health: LoopHealth,
        *,
        clock: Callable[[], datetime] = WALL_CLOCK,
        backoff_max_s: float = 300.0,
        stop_timeout_s: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        names = [loop.name for loop in loops]
        if len(set(names)) != len(names):
            raise ValueError(f"loop names must be unique: {names}")
        self._loops = tuple(loops)
        self._health = health
        self._clock = clock
        self._backoff_max_s = backoff_max_s
        self._stop_timeout_s = stop_timeout_s
        self._rng = rng or random.Random()
        self._stopping = asyncio.Event()
        for loop in loops:
            health.register(loop.name, loop.interval_s)

    def stop(self) -> None:
        """Ask every loop to stop after its current call (safe from a signal handler)."""
        self._stopping.set()

    async def run(self) -> None:
        """Run until :meth:`stop`, then let the calls under way finish (within the timeout)."""
        tasks = [
            asyncio.create_task(self._run_loop(loop), name=f"lnpilot-loop-{loop.name}")
            for loop in self._loops
        ]
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            _, late = await asyncio.wait(tasks, timeout=self._stop_timeout_s) if tasks else ((), ())
            for task in late:
                log.warning("loop %s did not finish in time; cancelling it", task.get_name())
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_loop(self, loop: Loop) -> None:
        failures = waits = 0
        failing_with: str | None = None
        waiting_for: str | None = None
        while not self._stopping.is_set():
            started = time.monotonic()
            self._health.started(loop.name, self._clock())
            try:
                await loop.run_once()
            except loop.waits_on as exc:
                waits += 1
                elapsed = time.monotonic() - started
                reason = redact_text(str(exc))
                self._health.waiting(loop.name, self._clock(), elapsed, reason)
                delay = min(loop.interval_s, backoff_s(waits, self._backoff_max_s))
                if reason != waiting_for:  # a standby daemon's loops wait for hours
                    waiting_for = reason
                    log.info("loop %s waits: %s; trying again in %.1f s", loop.name, reason, delay)
            except Exception as exc:
                failures += 1
                elapsed = time.monotonic() - started
                error = redact_text(f"{type(exc).__name__}: {exc}")
                self._health.failed(loop.name, self._clock(), elapsed, error)
                delay = backoff_s(failures, self._backoff_max_s)
                if _kind(error) != failing_with:
                    failing_with = _kind(error)
                    _log_failure(loop, exc, error)
                await self._back_off(loop, delay)
                continue
            else:
                if failures:
                    log.warning("loop %s recovered after %d failed runs", loop.name, failures)
                failures = waits = 0
                failing_with = waiting_for = None
                elapsed = time.monotonic() - started
                self._health.succeeded(loop.name, self._clock(), elapsed)
                delay = max(0.0, loop.next_in_s(self._rng) - elapsed)
            await self._pause(delay)

    async def _pause(self, delay_s: float) -> None:
        """Wait ``delay_s``, or less if stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay_s)

    async def _back_off(self, loop: Loop, delay_s: float) -> None:
        """Wait out a failed loop's backoff; with a ``ready`` probe, only until it says yes."""
        if loop.ready is None:
            await self._pause(delay_s)
            return
        deadline = time.monotonic() + delay_s
        step_s = min(loop.interval_s, PROBE_EVERY_S)
        while not self._stopping.is_set():
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                return
            await self._pause(min(step_s, left_s))
            if self._stopping.is_set() or time.monotonic() >= deadline:
                return
            try:
                if await loop.ready():
                    log.info("loop %s: its probe answers; running it now", loop.name)
                    return
            except Exception as exc:  # still down: the probe exists to fail cheaply
                log.debug("loop %s: probe failed: %s", loop.name, redact_text(str(exc)))


def _kind(error: str) -> str:
    """What makes two failures the same for the log: their text without its numbers (a
    port, a count, a duration), so "connection refused" then "macaroon rejected" are two
    lines, and the same refusal retried is one."""
    return re.sub(r"\d+", "#", error)


def _log_failure(loop: Loop, exc: Exception, error: str) -> None:
    """One line when a loop starts failing or fails differently; a traceback for a failure
    nobody expected (a bug), which goes through redaction too: messages may quote requests."""
    if isinstance(exc, loop.expected):
        log.warning("loop %s failed: %s; retrying with backoff", loop.name, error)
        return
    log.error(
        "loop %s failed, retrying with backoff\n%s",
        loop.name,
        redact_text("".join(traceback.format_exception(exc))),
    )
