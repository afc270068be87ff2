"""Work the daemon runs in the background for a face, bounded and stopped with the daemon.

A face (the API, the dashboard) may start work that outlives the request: a backtest runs
for minutes. Its engine owns what the work is and where its state is stored; this registry
only owns the tasks: how many of a kind run at once (a slot is taken before the first
await, so two requests at once cannot both pass the limit), waiting for one to end, and
cancelling them all when the daemon stops, so that no work outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any


class Busy(Exception):
    """No slot is free for this kind of work; ``running`` holds the keys of what runs."""

    def __init__(self, kind: str, limit: int, running: list[int]) -> None:
        super().__init__(f"{kind}: {limit} running already")
        self.kind, self.limit, self.running = kind, limit, running


class Background:
    """The daemon's background tasks, by kind and key (a store id)."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._reserved: dict[str, int] = {}

    def running(self, kind: str) -> list[int]:
        return sorted(key for k, key in self._tasks if k == kind)

    @contextlib.contextmanager
    def slot(self, kind: str, limit: int) -> Iterator[None]:
        """Hold one of `limit` slots of `kind` while the work is set up (raises
        :class:`Busy` when none is free); :meth:`spawn` inside keeps it for the task."""
        if len(self.running(kind)) + self._reserved.get(kind, 0) >= limit:
            raise Busy(kind, limit, self.running(kind))
        self._reserved[kind] = self._reserved.get(kind, 0) + 1
        try:
            yield
        finally:
            self._reserved[kind] -= 1

    def spawn(self, kind: str, key: int, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"lnpilot-{kind}-{key}")
        self._tasks[(kind, key)] = task
        task.add_done_callback(lambda _: self._tasks.pop((kind, key), None))

    async def finished(self, kind: str, key: int) -> None:
        """Return once that task ended (at once when it is not running)."""
        task = self._tasks.get((kind, key))
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def aclose(self) -> None:
        """Cancel every task and wait for each to clean up (the daemon stops)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
