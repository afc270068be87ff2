"""Answers the faces compute once per state of the store and share between readers.

The channel list is the API's most asked read and its costliest (every channel's forwards
over three windows, a statement over a year of rollups), yet what it shows only changes
when the collector records a cycle (the one writer of channels, policies and forwards) or
when its windows move on. Keyed by both, an answer can be computed once and served to every
reader asking the same question; concurrent readers of a key not yet computed wait for the
one computation under way instead of each starting their own (single-flight), which is
what keeps a burst of clients from queueing a burst of identical statements on the store.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

_T = TypeVar("_T")

#: Keys kept: a few are enough (the latest state, and the one before while readers of it
#: finish); older states are never asked again once the key moved on.
DEFAULT_ENTRIES = 16


class ReadCache:
    """Bytes per key, computed by the first reader to ask and awaited by the others.

    A failed computation is not kept: its waiters see its error, the next reader computes
    again. The computation runs as a task of its own, so a reader that goes away (a client
    disconnecting) does not cancel it for the others. Entries belong to the event loop they
    were made on; on another loop (a test's new client) the cache starts empty."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        if entries < 1:
            raise ValueError(f"a read cache keeps at least 1 entry, not {entries}")
        self._entries = entries
        self._found: OrderedDict[Hashable, asyncio.Task[bytes]] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: How many computations ran: what a test or a benchmark checks sharing by.
        self.computed = 0

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._found.clear()
            self._loop = loop
        task = self._found.get(key)
        if task is None:
            task = loop.create_task(self._run(compute))
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            self._found[key] = task
            while len(self._found) > self._entries:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(key)
        return await asyncio.shield(task)

    async def _run(self, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        self.computed += 1
        return await compute()

    def _forget_failed(self, key: Hashable, done: asyncio.Task[bytes]) -> None:
        if (done.cancelled() or done.exception() is not None) and self._found.get(key) is done:
            del self._found[key]


#: Values :class:`Settled` keeps per data version: the tokens in use and a key per node.
SETTLED_ENTRIES = 1024


class Settled:
    """Small reads (a token's lookup, the collector's state) kept while the store's data
    version stays where it was when they were read.

    Every API request checked its token, and the channel list read the collector's state
    for its key: a store read each, which cost four times the rest of serving a cached list
    (``docs/limits.md``). The store's data version (``Store.data_version``) changes with
    every commit of any connection, this process's or another's, so a value read after the
    version was taken is the store's as long as the version stays: kept until then, a
    revoked token or a new cycle shows on the very next request, as without it. When the
    store gives no version (None: PostgreSQL out of reach) it is read every time. Only the
    version current at the read is kept, and at most ``entries`` values of it (unknown
    tokens count)."""

    def __init__(self, entries: int = SETTLED_ENTRIES) -> None:
        self._entries = entries
        self._version: Hashable | None = None
        self._found: dict[Hashable, Any] = {}

    async def get(
        self, version: Hashable | None, key: Hashable, read: Callable[[], Awaitable[_T]]
    ) -> _T:
        """``read()``'s value, taken again only if the store changed since the last one
        (``version`` must be taken before calling, so the read is at least as new)."""
        if version is None:
            return await read()
        if version != self._version:
            self._found.clear()
            self._version = version
        if key in self._found:
            return cast(_T, self._found[key])
        value = await read()
        if version == self._version and len(self._found) < self._entries:
            self._found[key] = value
        return value
