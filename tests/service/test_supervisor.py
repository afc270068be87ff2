"""The supervisor: a crashing loop is logged, backed off and restarted while the others run
on; stopping lets the run under way commit its transaction, and starts no other."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from lnpilot.base.redact import register_secret
from lnpilot.service import LoopHealth
from lnpilot.service.supervisor import Loop, Supervisor, backoff_s
from lnpilot.store import Store, sqlite_url

SECRET = "supervisor-test-secret-0123456789abcdef"


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(n, 10) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff_s(10_000, 300) == 300


async def test_a_crashing_loop_backs_off_and_the_others_run_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Told by signals and lower bounds only: a slower machine makes the gaps longer, never
    shorter, so nothing here depends on its speed."""
    register_secret(SECRET)
    flaky_at: list[float] = []
    steady_at: list[float] = []
    recovered = asyncio.Event()

    async def flaky() -> None:
        flaky_at.append(time.monotonic())
        if len(flaky_at) <= 2:
            raise RuntimeError(f"node said no (key {SECRET})")
        recovered.set()

    async def steady() -> None:
        steady_at.append(time.monotonic())

    health = LoopHealth()
    supervisor = Supervisor(
        [Loop("flaky", 0.01, flaky), Loop("steady", 0.01, steady)], health, backoff_max_s=0.5
    )
    with caplog.at_level(logging.ERROR, logger="lnpilot.service.supervisor"):
        task = asyncio.create_task(supervisor.run())
        await recovered.wait()  # failed twice, then succeeded
        supervisor.stop()
        await task
    flaky_status, steady_status = health.get("flaky"), health.get("steady")
    assert flaky_status is not None and steady_status is not None
    assert flaky_status.failures == 2 and flaky_status.runs == 3
    # no try within a backoff: 1 s capped to 0.5 s, then 2 s capped to 0.5 s
    assert [b - a >= 0.5 for a, b in itertools.pairwise(flaky_at)] == [True, True]
    assert steady_status.failures == 0
    assert len([t for t in steady_at if flaky_at[0] < t < flaky_at[2]]) >= 2, "steady stalled"
    assert flaky_status.last_error is not None and SECRET not in flaky_status.last_error
    assert "RuntimeError" in flaky_status.last_error
    # one entry for the change of state, with the traceback of a failure nobody expected
    assert caplog.text.count("loop flaky failed, retrying with backoff") == 1
    assert caplog.text.count("Traceback") == 1
    assert SECRET not in caplog.text


async def test_a_loop_recovers_after_its_backoff() -> None:
    outcomes = iter([RuntimeError("down"), None, None])
    third = asyncio.Event()
    calls = 0

    async def once() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome

    health = LoopHealth()
    supervisor = Supervisor([Loop("x", 0.01, once)], health, backoff_max_s=0.05)
    task = asyncio.create_task(supervisor.run())
    await third.wait()
    supervisor.stop()
    await task
    status = health.get("x")
    assert status is not None
    assert status.failures == 1 and status.consecutive_failures == 0 and status.runs == 3
    # healthy as of its last success: judged at a moment the test names, not the wall clock
    assert status.last_success_at is not None and status.healthy(status.last_success_at)


class NothingYet(Exception):
    pass


async def test_a_loop_waiting_for_its_input_retries_soon_and_is_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The rebalancer before the first collection: an hour-long interval, yet it runs as
    soon as its input is there, and nothing was a failure or a traceback in the log."""
    seen: list[str | None] = []
    health = LoopHealth()
    ran_with_input = asyncio.Event()

    async def once() -> None:
        status = health.get("planner")
        assert status is not None
        seen.append(status.waiting_for)
        if len(seen) <= 2:
            raise NothingYet(f"nothing collected yet (try {len(seen)})")
        ran_with_input.set()

    supervisor = Supervisor(
        [Loop("planner", 3600, once, waits_on=(NothingYet,))], health, backoff_max_s=0.05
    )
    with caplog.at_level(logging.INFO, logger="lnpilot.service.supervisor"):
        task = asyncio.create_task(supervisor.run())
        await ran_with_input.wait()  # the third try, within the backoff and not an hour later
        supervisor.stop()
        await task
    status = health.get("planner")
    assert status is not None
    assert seen == [None, "nothing collected yet (try 1)", "nothing collected yet (try 2)"]
    assert status.runs == 3 and status.failures == 0 and status.waiting_for is None
    assert status.last_success_at is not None and status.healthy(status.last_success_at)
    assert "loop planner waits: nothing collected yet (try 1); trying again in" in caplog.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_loop_waiting_for_the_same_reason_logs_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A standby daemon's loops wait for as long as another daemon owns the node: one log
    line per loop, and one more only when the reason changes."""
    reasons = ["standby", "standby", "standby", "not collected", "not collected"]
    health = LoopHealth()
    done = asyncio.Event()

    async def once() -> None:
        if reasons:
            raise NothingYet(reasons.pop(0))
        done.set()

    supervisor = Supervisor(
        [Loop("collect", 3600, once, waits_on=(NothingYet,))], health, backoff_max_s=0.01
    )
    with caplog.at_level(logging.INFO, logger="lnpilot.service.supervisor"):
        task = asyncio.create_task(supervisor.run())
        await done.wait()
        supervisor.stop()
        await task
    waits = [r.getMessage() for r in caplog.records if " waits: " in r.getMessage()]
    assert [w.split(";")[0] for w in waits] == [
        "loop collect waits: standby",
        "loop collect waits: not collected",
    ]


async def test_stop_lets_the_current_transaction_commit(tmp_path: Path) -> None:
    """SIGTERM in the middle of a run: the run finishes and commits, no new run starts."""
    async with await Store.open(sqlite_url(tmp_path)) as store:
        async with store.transaction() as tx:
            await tx.connection.execute(text("CREATE TABLE work (n INTEGER)"))
        started, release, runs = asyncio.Event(), asyncio.Event(), 0

        async def slow_write() -> None:
            nonlocal runs
            runs += 1
            async with store.transaction() as tx:
                await tx.connection.execute(text("INSERT INTO work VALUES (1)"))
                started.set()
                await release.wait()  # stopped while here
                await tx.connection.execute(text("INSERT INTO work VALUES (2)"))

        supervisor = Supervisor([Loop("writer", 0.0, slow_write)], LoopHealth())
        task = asyncio.create_task(supervisor.run())
        await started.wait()
        supervisor.stop()
        release.set()
        await task
        async with store.read() as reader:
            rows = (await reader.connection.execute(text("SELECT n FROM work"))).scalars().all()
    assert runs == 1
    assert rows == [1, 2]


async def test_a_run_stuck_past_the_stop_timeout_is_cancelled() -> None:
    running, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck() -> None:
        running.set()
        try:
            await asyncio.Event().wait()  # never set: stuck until cancelled
        except asyncio.CancelledError:
            cancelled.set()
            raise

    supervisor = Supervisor([Loop("stuck", 1, stuck)], LoopHealth(), stop_timeout_s=0.1)
    task = asyncio.create_task(supervisor.run())
    await running.wait()
    supervisor.stop()
    await task
    assert cancelled.is_set()


def test_loop_names_are_unique() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="unique"):
        Supervisor([Loop("a", 1, nothing), Loop("a", 2, nothing)], LoopHealth())


def test_a_loop_s_jitter_shifts_its_interval_both_ways_within_its_share() -> None:
    async def nothing() -> None:
        return None

    rng = random.Random(7)
    steady = Loop("steady", 60, nothing)
    assert {steady.next_in_s(rng) for _ in range(100)} == {60}
    jittered = Loop("jittered", 60, nothing, jitter=0.1)
    drawn = [jittered.next_in_s(rng) for _ in range(1000)]
    assert all(54 <= s <= 66 for s in drawn)
    assert min(drawn) < 57 and max(drawn) > 63  # both ways, not a constant offset
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="jitter must be in"):
            Loop("bad", 60, nothing, jitter=bad)


class NodeDown(Exception):
    pass


async def test_a_backing_off_loop_runs_as_soon_as_its_probe_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loop fails three times; each time it runs again right after its probe's first
    yes, not after its backoff (without a probe, no run would come after a yes). Its
    expected failures are one log line per change, without a traceback."""
    answers = iter([False, None, True, False, True])
    refusals = iter(["connection refused (port 1)", "connection refused (port 2)"])
    probes: list[bool | None] = []
    runs: list[int] = []
    again = asyncio.Event()

    async def ready() -> bool:
        probes.append(next(answers, True))
        if probes[-1] is None:
            raise NodeDown("still down")  # a probe may fail by raising too
        return bool(probes[-1])

    async def once() -> None:
        runs.append(len(probes))
        if len(runs) <= 2:
            raise NodeDown(next(refusals))
        if len(runs) == 3:
            raise NodeDown("macaroon rejected")
        again.set()

    health = LoopHealth()
    supervisor = Supervisor(
        [Loop("collect", 0.01, once, expected=(NodeDown,), ready=ready)],
        health,
        backoff_max_s=3600,
    )
    with caplog.at_level(logging.INFO, logger="lnpilot.service.supervisor"):
        task = asyncio.create_task(supervisor.run())
        await asyncio.wait_for(again.wait(), 30)
        supervisor.stop()
        await task
    assert runs[:3] == [0, 3, 5]
    # the same refusal twice is one line; another failure is another line
    assert caplog.text.count("loop collect failed: NodeDown: connection refused") == 1
    assert caplog.text.count("loop collect failed: NodeDown: macaroon rejected") == 1
    assert caplog.text.count("loop collect recovered after 3 failed runs") == 1
    assert "Traceback" not in caplog.text
