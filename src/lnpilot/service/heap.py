"""Keeping the garbage collector's full collections short in the long-running process.

A full (generation 2) collection walks every object the collector tracks. In the daemon
most of them live as long as the process: modules, the store's table metadata, the app's
routes and schemas. Walking them all, every few hundred requests, paused the API's channel
list (200 channels) for up to 68 ms, while the request itself took 27; that pause was the
list's p99. Once start-up is over, :func:`settle_heap` collects what start-up left behind and
moves the survivors out of the collector's sight (``gc.freeze``): they are still freed by
reference counting, only no longer walked, and a full collection then takes about 3 ms.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Call once, when the process has built what it keeps for its lifetime."""
    gc.collect()
    gc.freeze()
