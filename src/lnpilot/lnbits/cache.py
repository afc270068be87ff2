"""A small TTL cache for reads that are safe to cache.

Entries are grouped by a *scope* (e.g. ``wallet``, ``payments``, ``node``); a write made
through the same client invalidates the scopes it can change, so a read after one's own
write is never stale. Counters say whether the cache earns its keep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    invalidations: int = 0


class TTLCache:
    """Maps (scope, key) to a value that expires ``ttl_s`` seconds after it was stored."""

    def __init__(self, ttl_s: float, max_entries: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, scope: str, key: str) -> tuple[bool, Any]:
        """(True, value) on a fresh hit, (False, None) otherwise; counts both."""
        entry = self._entries.get((scope, key))
        if entry is not None and entry[0] > time.monotonic():
            self.stats.hits += 1
            return True, entry[1]
        if entry is not None:
            del self._entries[(scope, key)]
        self.stats.misses += 1
        return False, None

    def put(self, scope: str, key: str, value: Any) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            # Drop the entry closest to expiry: cheap and good enough for a few hundred keys.
            oldest = min(self._entries, key=lambda k: self._entries[k][0])
            del self._entries[oldest]
        self._entries[(scope, key)] = (time.monotonic() + self.ttl_s, value)

    def invalidate(self, *scopes: str) -> None:
        """Forget every entry of the given scopes (all entries when none given)."""
        before = len(self._entries)
        if scopes:
            self._entries = {k: v for k, v in self._entries.items() if k[0] not in scopes}
        else:
            self._entries.clear()
        if len(self._entries) != before:
            self.stats.invalidations += 1
