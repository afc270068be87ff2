"""The backtest journal on each database: a report reads back as stored, progress and the
end only move a running backtest, and the daemon's start marks what was left running."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.store import Store, backtests
from lnpilot.store.backtests import BacktestRecord

from .factories import T0

REPORT = {"verdict": {"outcome": "worse", "differences_msat": [-1, -2]}, "gaps": []}


def _record(candidate: str) -> BacktestRecord:
    return BacktestRecord(
        state="running",
        current="fees",
        candidate=candidate,
        created_by="ops",
        created_at=T0,
        runs_total=4,
        options={"days": 1.5, "seeds": 2, "warmup_days": 0},
    )


async def test_a_backtest_from_running_to_done_and_the_rest_interrupted(store: Store) -> None:
    async with store.transaction() as tx:
        done = await backtests.add(tx, _record("done"))
        left = await backtests.add(tx, _record("left"))
        await backtests.progress(tx, done, 2, 4)
    async with store.read() as reader:
        assert await backtests.running(reader) == [done, left]
        half = await backtests.get(reader, done)
    assert half is not None and (half.runs_done, half.report) == (2, None)

    later = T0 + timedelta(minutes=5)
    async with store.transaction() as tx:
        await backtests.finish(tx, done, later, "done", report=REPORT)
        assert await backtests.interrupt_running(tx, later) == 1
        # An end or progress after the end changes nothing.
        await backtests.finish(tx, left, later, "failed", error="too late")
        await backtests.progress(tx, done, 1, 4)
    async with store.read() as reader:
        found = await backtests.get(reader, done)
        stopped = await backtests.get(reader, left)
        listed = await backtests.recent(reader)
        assert await backtests.running(reader) == []
        assert await backtests.get(reader, left + 1) is None
    assert found is not None and found.state == "done" and found.report == REPORT
    assert (found.runs_done, found.finished_at, found.options["days"]) == (4, later, 1.5)
    assert stopped is not None and stopped.state == "interrupted"
    assert stopped.error == backtests.INTERRUPTED
    assert [b.id for b in listed] == [left, done]
    assert all(b.report is None for b in listed)  # the list leaves the reports out
