"""Health judges lateness against each loop's own schedule, in intervals.

A loop with a 1 s interval whose runs take longer than that under CPU load is slow, not
failing: it starts again at once and succeeds every few seconds. It used to be reported
unhealthy (503) because its last success was more than three intervals ago while a run was
under way. A loop that stopped starting runs, or whose run hangs, must still be reported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lnpilot.service.health import HealthMirror, LoopHealth

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_loop_slower_than_its_interval_is_healthy_at_every_moment() -> None:
    health = LoopHealth()
    health.register("collect", 1.0)
    at = 0.0
    for _ in range(5):  # runs of 3.5 s back to back: each starts when the last one ended
        health.started("collect", s(at))
        for within in (0.0, 1.0, 2.0, 3.0, 3.4):
            status = health.get("collect")
            assert status is not None and status.healthy(s(at + within)), (at, within)
        at += 3.5
        health.succeeded("collect", s(at), 3.5)


def test_a_loop_that_stops_starting_runs_is_late() -> None:
    health = LoopHealth()
    health.register("collect", 1.0)
    health.started("collect", s(0))
    health.succeeded("collect", s(0.2), 0.2)
    status = health.get("collect")
    assert status is not None
    assert status.healthy(s(3.9))  # its next start was due at 1.0: 2.9 intervals late
    assert not status.healthy(s(4.1))  # more than three intervals late


def test_a_hung_run_is_late_once_it_overruns_three_of_its_intervals_or_runs() -> None:
    health = LoopHealth()
    health.register("collect", 1.0)
    health.started("collect", s(0))
    health.succeeded("collect", s(0.2), 0.2)
    health.started("collect", s(1.0))  # on time
    status = health.get("collect")
    assert status is not None
    assert status.healthy(s(3.9))
    assert not status.healthy(s(4.1))
    # a loop whose runs take 10 s is judged by its runs: 25 s into one is still normal
    health.succeeded("collect", s(11.0), 10.0)
    health.started("collect", s(11.0))
    slow = health.get("collect")
    assert slow is not None
    assert slow.healthy(s(36.0))
    assert not slow.healthy(s(42.0))


def test_failures_are_judged_from_the_last_success() -> None:
    health = LoopHealth()
    health.register("monitor", 60.0)
    assert health.all()[0].healthy(s(1000))  # never run, never failed
    health.started("monitor", s(0))
    health.failed("monitor", s(1), 1.0, "NodeError: unreachable")
    assert not health.all()[0].healthy(s(2))  # failed and never succeeded
    health.started("monitor", s(2))
    health.succeeded("monitor", s(3), 1.0)
    health.started("monitor", s(63))
    health.failed("monitor", s(64), 1.0, "NodeError: unreachable")
    assert health.all()[0].healthy(s(120))
    assert not health.all()[0].healthy(s(184))


def test_a_mirror_reports_what_the_registry_published_after_each_change(tmp_path: Path) -> None:
    """What an API worker shows (``[api] workers``): the daemon's registry, as published."""
    published = tmp_path / "health"
    mirror = HealthMirror(published)
    assert mirror.all() == [], "nothing published yet: no loops, not an error"
    health = LoopHealth()
    health.register("collect", 60.0)
    health.publish_to(published)
    health.register("monitor", 60.0)
    assert [st.name for st in mirror.all()] == ["collect", "monitor"]
    health.started("collect", s(0))
    health.failed("collect", s(2), 2.0, "NodeError: connection refused")
    assert mirror.get("collect") == health.get("collect")
    health.succeeded("collect", s(60), 1.5)
    assert mirror.all() == health.all()
    status = mirror.get("collect")
    assert status is not None and status.consecutive_failures == 0 and status.failures == 1
    with pytest.raises(RuntimeError, match="read-only"):
        mirror.started("collect", s(61))
