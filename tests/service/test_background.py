"""The background registry: a kind never runs more than its limit, even when two requests
set up at once, and closing it cancels what runs (the daemon's stop)."""

from __future__ import annotations

import asyncio

import pytest

from lnpilot.service.background import Background, Busy


async def test_the_limit_holds_from_set_up_to_the_end_and_close_cancels() -> None:
    background = Background()
    started, release, cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with background.slot("backtest", 1):
        # A second request while the first is still being set up (before its spawn).
        with pytest.raises(Busy) as busy, background.slot("backtest", 1):
            pass
        assert busy.value.running == []
        background.spawn("backtest", 7, work())
    with pytest.raises(Busy) as busy, background.slot("backtest", 1):
        pass
    assert busy.value.running == [7] and busy.value.limit == 1
    with background.slot("other", 1):  # kinds are counted apart
        pass
    await started.wait()

    await background.aclose()
    assert cancelled.is_set() and background.running("backtest") == []
    with background.slot("backtest", 1):  # the slot is free again
        pass


async def test_finished_waits_for_the_task_and_not_for_an_unknown_one() -> None:
    background = Background()
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    background.spawn("backtest", 1, work())
    await background.finished("backtest", 1)
    assert done.is_set()
    await background.finished("backtest", 2)  # nothing runs: returns at once
