"""The event log: what happened in a run, in a canonical text form with a running hash.

Determinism is checked by hashing, so each event is rendered as one canonical line (virtual
time in ns, kind, then `key=value` pairs in the order given) and folded into a sha256 as it
happens. A month of simulation produces hundreds of thousands of events, so only the hash,
counts per kind and a bounded tail are kept in memory.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from dataclasses import dataclass

#: How many recent lines are kept for inspection (summaries, the demo's live view).
DEFAULT_TAIL = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One logged event: virtual time, kind and its canonical fields."""

    time_ns: int
    kind: str
    fields: tuple[tuple[str, str], ...]

    def line(self) -> str:
        parts = [str(self.time_ns), self.kind]
        parts.extend(f"{key}={value}" for key, value in self.fields)
        return " ".join(parts)


class EventLog:
    """Append-only log folded into a sha256; keeps counts and a bounded tail."""

    def __init__(self, tail: int = DEFAULT_TAIL) -> None:
        self._hash = hashlib.sha256()
        self.counts: Counter[str] = Counter()
        self.tail: deque[Event] = deque(maxlen=tail)
        self.total = 0

    def record(self, time_ns: int, kind: str, **fields: object) -> None:
        """Log an event; values are rendered with `str`, so pass ints and strings only."""
        items = tuple([(k, str(v)) for k, v in fields.items()])
        event = Event(time_ns, kind, items)
        # `event.line()` and its newline, in one piece (the hash of the same bytes)
        line = "".join([f"{time_ns} {kind}", *[f" {k}={v}" for k, v in items], "\n"])
        self._hash.update(line.encode())
        self.counts[kind] += 1
        self.total += 1
        self.tail.append(event)

    def hexdigest(self) -> str:
        """sha256 over every line so far, each ended by a newline."""
        return self._hash.hexdigest()
