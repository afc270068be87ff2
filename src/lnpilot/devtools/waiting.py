"""Waiting for a signal in tests: poll a probe until it answers, with a generous deadline.

The deadline is a failure bound, not a window the test depends on: a slow machine makes
the wait longer, never the test red, unless the signal never comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


async def eventually(
    probe: Callable[[], Awaitable[_T | None]],
    what: str,
    *,
    deadline_s: float = 60.0,
    poll_s: float = 0.1,
) -> _T:
    """The first non-None answer of `probe`; AssertionError naming `what` past the deadline."""
    deadline = time.monotonic() + deadline_s
    while (result := await probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what}")
        await asyncio.sleep(poll_s)
    return result
