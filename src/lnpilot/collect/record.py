"""Write one observation in one transaction: state, snapshots, forwards, events, bookmark.

Everything a cycle writes commits together or not at all. That is what makes outages and
restarts harmless: the forwards and the index they were read up to are saved in the same
transaction, so a cycle that dies halfway (node gone mid-read, database error, process
killed) leaves the bookmark where the stored forwards end, and the next cycle reads the
same forwards again. Re-reading is harmless anyway: the store skips forwards it already has.

The state the store had before the cycle is read inside the same transaction, so two
collectors of one node (a restart overlapping the old process) never derive an event twice:
the second waits for the first's write lock and then sees its result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel, ChannelState
from lnpilot.collect import events
from lnpilot.collect.observe import Observation
from lnpilot.store import CollectorState, Event, StoreTransaction


@dataclass(frozen=True)
class Outage:
    """What kept this collector from recording since its last good cycle: failed cycles
    (the node or the database unreachable) and, with ``gap_after``, time itself: a stored
    last cycle older than that (a restart after a long stop) is a gap too."""

    failed_cycles: int = 0
    last_error: str | None = None
    gap_after: timedelta | None = None

    def gap_since(self, last_cycle_at: datetime, at: datetime) -> bool:
        too_long = self.gap_after is not None and at - last_cycle_at > self.gap_after
        return self.failed_cycles > 0 or too_long


@dataclass(frozen=True)
class Recorded:
    """What the transaction wrote. ``first`` is the node's first cycle (a baseline: no
    events); ``forward_index`` is the bookmark saved for the next cycle."""

    node_id: int
    first: bool
    forwards_new: int
    failed_forwards_new: int
    events: tuple[Event, ...]
    forward_index: int


async def record(tx: StoreTransaction, seen: Observation, outage: Outage) -> Recorded:
    """Record ``seen`` and the events it makes (none on the node's first cycle)."""
    at = seen.at
    node_id = await tx.upsert_node(seen.info, at)
    state = await tx.collector_state(node_id)
    before = {c.channel_point: c for c in await tx.channels(node_id)}
    known_peers = {p.pubkey: p.connected for p in await tx.peers(node_id)}

    listed = [*seen.channels, *(_keep_identity(c, before) for c in seen.pending)]
    policies = await tx.record_channels(node_id, listed, at)
    newly_closed = await tx.record_closed_channels(node_id, seen.closed, at)
    peer_changes = await tx.record_peers(node_id, seen.peers, at) if seen.peers is not None else []
    forwards_new = await tx.append_forwards(node_id, seen.forwards.forwards)
    failed_new = await tx.append_failed_forwards(node_id, seen.failed_forwards)

    found: list[Event] = []
    if state is not None:
        by_chan_id = {c.chan_id: c for c in before.values() if c.chan_id is not None}
        found += events.channel_events(before, listed, at)
        found += events.closed_events(newly_closed, at)
        found += events.peer_events(peer_changes, known_peers, listed)
        found += events.policy_events(policies, by_chan_id, at)
    last = state.last_cycle_at if state is not None else None
    if last is not None and outage.gap_since(last, at):
        found.append(events.gap_event(at, last, outage.failed_cycles, outage.last_error))
    await tx.add_events(node_id, found)

    # Another collector may have gone further meanwhile: never move the bookmark back.
    index = max(seen.forwards.next_index, state.last_forward_index if state else 0)
    await tx.save_collector_state(node_id, CollectorState(index, at))
    return Recorded(node_id, state is None, forwards_new, failed_new, tuple(found), index)


def _keep_identity(pending: Channel, before: dict[str, Channel]) -> Channel:
    """A closing channel as the node lists it has lost its short channel id (LND shows
    none for pending channels); the store's row keeps the one it had while open."""
    known = before.get(pending.channel_point)
    if pending.state is not ChannelState.PENDING_CLOSE or known is None or pending.chan_id:
        return pending
    return dataclasses.replace(pending, chan_id=known.chan_id, scid=known.scid)
