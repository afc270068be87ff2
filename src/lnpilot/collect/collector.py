"""The collector: cycles of "look at the node, record what changed", on a schedule.

A cycle reads the node (:mod:`observe`), writes everything in one transaction
(:mod:`record`) and folds the new rows into the rollups. The schedule is the service
supervisor's (``lnpilot.service.daemon.collection_loops``): every interval, with a random
jitter for ``lnpilot collect --every``, and a backoff through outages.

Outages are expected, not fatal: a cycle that cannot reach the node or the database
writes nothing and raises (the schedule retries), and the first good
cycle after it records a ``collector_gap`` event saying since when nothing was seen. Nothing
else is lost: forwards are read by index from where the stored ones end, so those routed
during the outage arrive with the next good cycle, each once. Only what the node cannot
replay is missing for the outage's length: balance snapshots, the moments of peer
connection changes, and failed forwards (LND's HTLC events are live only).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import InterfaceError, OperationalError

from lnpilot.base.domain import Capability
from lnpilot.collect.observe import observe
from lnpilot.collect.record import Outage, record
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import GAP_INTERVALS, Event, Store
from lnpilot.store.levels import EPOCH

log = logging.getLogger(__name__)

#: Failures a running collector outlives: the node or the database out of reach. Anything
#: else is a bug, and stops it.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    NodeError,
    OperationalError,
    InterfaceError,
    OSError,
)
#: Failed forwards are asked for from this long before the last cycle: the node's clock and
#: ours may differ a little, and the store skips the ones it already has.
FAILED_FORWARDS_OVERLAP = timedelta(minutes=10)
DEFAULT_MAX_FORWARDS = 100_000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CycleReport:
    """What one cycle saw and wrote. ``caught_up`` is False when more forwarding history
    waits than one cycle takes (after a long outage, or on a node's first cycle).
    ``read_s`` of ``duration_s`` went to reading the node, the rest to the store."""

    at: datetime
    node_pubkey: str
    node_alias: str
    node_id: int
    first: bool
    channels: int
    pending: int
    peers: int | None
    forwards_new: int
    forward_index: int
    caught_up: bool
    failed_forwards_new: int
    events: tuple[Event, ...]
    missing: frozenset[Capability]
    read_s: float
    duration_s: float


class Collector:
    """Collects one node into one store; ``clock`` stamps the cycles (tests pass a
    simulation's virtual clock). ``interval`` is the schedule it is called on, measured on
    ``clock``: a stored last cycle more than ``GAP_INTERVALS`` of it old is recorded as a
    gap by whichever cycle comes next (a daemon restarted after a crash must see its own
    downtime). The schedule is not the collector's: the supervisor calls :meth:`run_once`
    (``lnpilot.service.daemon.collection_loops``), for the daemon and ``collect --every``."""

    def __init__(
        self,
        node: NodeBackend,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_forwards_per_cycle: int = DEFAULT_MAX_FORWARDS,
        interval: timedelta | None = None,
    ) -> None:
        if max_forwards_per_cycle < 1:
            raise ValueError("max_forwards_per_cycle must be at least 1")
        if interval is not None and interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._node = node
        self._store = store
        self._clock = clock
        self._max_forwards = max_forwards_per_cycle
        self._outage = Outage(gap_after=interval * GAP_INTERVALS if interval else None)

    async def cycle(self) -> CycleReport:
        """One cycle; raises what stopped it (see ``TRANSIENT_ERRORS``), after noting it for
        the gap event of the next good cycle."""
        started = time.monotonic()
        try:
            report = await self._cycle(started)
        except TRANSIENT_ERRORS as exc:
            self._outage = dataclasses.replace(
                self._outage,
                failed_cycles=self._outage.failed_cycles + 1,
                last_error=f"{type(exc).__name__}: {exc}",
            )
            raise
        self._outage = Outage(gap_after=self._outage.gap_after)
        try:
            await self._store.rollup([report.node_id])
        except TRANSIENT_ERRORS as exc:  # the next cycle's rollup folds these rows in too
            log.warning("rollup after the cycle failed: %s", exc)
        return dataclasses.replace(report, duration_s=time.monotonic() - started)

    async def _cycle(self, started: float) -> CycleReport:
        at = self._clock()
        info = await self._node.get_info()
        async with self._store.read() as reader:
            node_id = await reader.node_id(info.pubkey)
            state = await reader.collector_state(node_id) if node_id is not None else None
        last_at = state.last_cycle_at if state is not None else None
        seen = await observe(
            self._node,
            info,
            at,
            forward_index=state.last_forward_index if state is not None else 0,
            failed_since=last_at - FAILED_FORWARDS_OVERLAP if last_at is not None else EPOCH,
            max_forwards=self._max_forwards,
        )
        read_s = time.monotonic() - started
        async with self._store.transaction() as tx:
            done = await record(tx, seen, self._outage)
        return CycleReport(
            at=at,
            node_pubkey=info.pubkey,
            node_alias=info.alias,
            node_id=done.node_id,
            first=done.first,
            channels=len(seen.channels),
            pending=len(seen.pending),
            peers=len(seen.peers) if seen.peers is not None else None,
            forwards_new=done.forwards_new,
            forward_index=done.forward_index,
            caught_up=seen.forwards.caught_up,
            failed_forwards_new=done.failed_forwards_new,
            events=done.events,
            missing=seen.missing,
            read_s=read_s,
            duration_s=time.monotonic() - started,
        )

    async def run_once(self, on_report: Callable[[CycleReport], None] | None = None) -> None:
        """Cycles until the forwarding history is caught up (one, unless much is waiting)."""
        while True:
            report = await self.cycle()
            if on_report is not None:
                on_report(report)
            if report.caught_up:
                return
