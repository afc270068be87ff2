"""The unit of work: everything a collector cycle writes, committed together or not at all.

Writes are batched (one statement per table per call), so a cycle over a thousand channels
stays a handful of round trips. The first write to a node takes that node's lock (see
:mod:`database`). The transaction is a reader too, so what it derives from the stored
state (policy changes, peer transitions) is read in the same transaction it writes in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.base.domain import (
    Channel,
    ChannelPolicy,
    ChannelState,
    ClosedChannel,
    FailedForward,
    Forward,
    NodeInfo,
    Peer,
)
from lnpilot.store import convert, partitions
from lnpilot.store.database import insert_new, lock_node, upsert
from lnpilot.store.levels import Retention
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import (
    CollectorState,
    Direction,
    Event,
    PeerEvent,
    PolicyRecord,
    PolicySource,
)
from lnpilot.store.tables import (
    channel_snapshots,
    channels,
    collector_state,
    events,
    failed_forwards,
    forwards,
    nodes,
    peer_events,
    peers,
    policy_history,
)

#: Policy fields a backend may not know (``None``); an unknown value is not a change.
_MAYBE_UNKNOWN = (
    "inbound_base_fee_msat",
    "inbound_fee_rate_ppm",
    "min_htlc_msat",
    "max_htlc_msat",
    "cltv_delta",
    "last_update",
)


class StoreTransaction(StoreReader):
    """Writes of one transaction; use ``async with store.transaction() as tx``."""

    def __init__(self, conn: AsyncConnection, retention: Retention) -> None:
        super().__init__(conn, retention)
        self._locked: set[int] = set()

    async def lock_node(self, node_id: int) -> None:
        """Take the node's write lock once per transaction (PostgreSQL advisory lock; SQLite
        writes are serialised already). Every writer, the store's extra modules included,
        takes it before writing a node's rows."""
        if node_id not in self._locked:
            await lock_node(self._conn, node_id)
            self._locked.add(node_id)

    async def upsert_node(self, info: NodeInfo, at: datetime) -> int:
        """Record the node (by pubkey) as seen at ``at``; returns its id in the store."""
        stmt = upsert(self._conn, nodes).values(
            pubkey=info.pubkey,
            alias=info.alias,
            version=info.version,
            first_seen_at=at,
            last_seen_at=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[nodes.c.pubkey],
            set_={
                "alias": stmt.excluded.alias,
                "version": stmt.excluded.version,
                "last_seen_at": stmt.excluded.last_seen_at,
            },
        )
        node_id: int = (await self._conn.execute(stmt.returning(nodes.c.id))).scalar_one()
        await self.lock_node(node_id)
        return node_id

    async def record_channels(
        self,
        node_id: int,
        listed: Sequence[Channel],
        at: datetime,
        *,
        local_policy_source: PolicySource = PolicySource.OUTSIDE,
    ) -> list[PolicyRecord]:
        """Record the open and pending channels as listed at ``at``.

        Updates each channel's current state, writes a snapshot of each one that has a
        chan_id (a confirmed channel), and records the policies that changed, ours under
        ``local_policy_source`` (``outside`` unless lnpilot made the change), the peer's
        under ``peer``. Returns the policy changes recorded.
        """
        await self.lock_node(node_id)
        if not listed:
            return []
        stmt = upsert(self._conn, channels)
        current = {
            name: stmt.excluded[name]
            for name in convert.channel_row(node_id, listed[0], at)
            if name not in ("node_id", "channel_point", "first_seen_at")
        }
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[channels.c.node_id, channels.c.channel_point], set_=current
            ),
            [convert.channel_row(node_id, channel, at) for channel in listed],
        )
        snapshots = [
            convert.snapshot_row(node_id, channel, at)
            for channel in listed
            if channel.chan_id is not None and channel.state is not ChannelState.CLOSED
        ]
        if snapshots:
            await partitions.ensure_for_rows(self._conn, channel_snapshots, snapshots)
            await self._conn.execute(
                upsert(self._conn, channel_snapshots).on_conflict_do_nothing(), snapshots
            )
        observed = []
        for channel in listed:
            if channel.chan_id is None:
                continue
            for direction, source, policy in (
                (Direction.LOCAL, local_policy_source, channel.local_policy),
                (Direction.REMOTE, PolicySource.PEER, channel.remote_policy),
            ):
                if policy is not None:
                    observed.append(PolicyRecord(channel.chan_id, direction, source, at, policy))
        return await self.record_policies(node_id, observed)

    async def record_policies(
        self, node_id: int, observed: Sequence[PolicyRecord]
    ) -> list[PolicyRecord]:
        """Append the observed policies that differ from the latest recorded ones.

        A field the observation does not know (``None``) keeps its recorded value and is
        not a change: LNbits shows no inbound fee, and a backend switch must not look like
        a policy change. Returns the entries written, with those values filled in.
        """
        await self.lock_node(node_id)
        latest = await self.current_policies(node_id)
        written = []
        for record in observed:
            previous = latest.get((record.chan_id, record.direction))
            policy = _fill_unknown(record.policy, previous.policy if previous else None)
            if previous is not None and _same(policy, previous.policy):
                continue
            entry = dataclasses.replace(record, policy=policy)
            latest[(record.chan_id, record.direction)] = entry
            written.append(entry)
        if written:
            await self._conn.execute(
                policy_history.insert(),
                [convert.policy_record_row(node_id, entry) for entry in written],
            )
        return written

    async def record_closed_channels(
        self, node_id: int, closed: Sequence[ClosedChannel], at: datetime
    ) -> list[ClosedChannel]:
        """Record closed channels (from the node's closed list); returns those not recorded
        as closed before, including ones the store never saw open."""
        await self.lock_node(node_id)
        if not closed:
            return []
        result = await self._conn.execute(
            select(channels.c.channel_point).where(
                channels.c.node_id == node_id, channels.c.state == ChannelState.CLOSED.value
            )
        )
        already = set(result.scalars())
        stmt = upsert(self._conn, channels)
        keep = ("node_id", "channel_point", "first_seen_at", "private", "closed_seen_at")
        updated: dict[str, ColumnElement[Any]] = {
            name: stmt.excluded[name]
            for name in convert.closed_channel_row(node_id, closed[0], at)
            if name not in keep
        }
        updated["closed_seen_at"] = func.coalesce(
            channels.c.closed_seen_at, stmt.excluded.closed_seen_at
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[channels.c.node_id, channels.c.channel_point], set_=updated
            ),
            [convert.closed_channel_row(node_id, channel, at) for channel in closed],
        )
        return [channel for channel in closed if channel.channel_point not in already]

    async def record_peers(
        self, node_id: int, listed: Sequence[Peer], at: datetime
    ) -> list[PeerEvent]:
        """Record the peers as listed at ``at``, the listing taken as complete: a known
        peer missing from it is disconnected (LND lists connected peers only).

        Writes a peer event for each first sighting and each change of connection, and
        returns them.
        """
        await self.lock_node(node_id)
        result = await self._conn.execute(
            select(peers.c.pubkey, peers.c.connected).where(peers.c.node_id == node_id)
        )
        known: dict[str, bool] = {row.pubkey: row.connected for row in result}
        changes = [
            PeerEvent(peer.pubkey, at, peer.connected)
            for peer in listed
            if known.get(peer.pubkey) is not peer.connected
        ]
        listed_keys = {peer.pubkey for peer in listed}
        gone = [key for key, connected in known.items() if connected and key not in listed_keys]
        changes += [PeerEvent(pubkey, at, connected=False) for pubkey in sorted(gone)]
        if listed:
            stmt = upsert(self._conn, peers)
            current = {
                name: stmt.excluded[name]
                for name in convert.peer_row(node_id, listed[0], at)
                if name not in ("node_id", "pubkey", "first_seen_at")
            }
            await self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[peers.c.node_id, peers.c.pubkey], set_=current
                ),
                [convert.peer_row(node_id, peer, at) for peer in listed],
            )
        if gone:
            await self._conn.execute(
                update(peers)
                .where(peers.c.node_id == node_id, peers.c.pubkey.in_(gone))
                .values(connected=False)
            )
        if changes:
            await self._conn.execute(
                peer_events.insert(),
                [
                    {"node_id": node_id, "pubkey": e.pubkey, "at": e.at, "connected": e.connected}
                    for e in changes
                ],
            )
        return changes

    async def append_forwards(self, node_id: int, new: Sequence[Forward]) -> int:
        """Append forwards; ones already stored (same time, channels and HTLC ids) are
        skipped, so re-reading a page of history is harmless. Returns how many were new."""
        return await self._append(node_id, forwards, [convert.forward_row(node_id, f) for f in new])

    async def append_failed_forwards(self, node_id: int, new: Sequence[FailedForward]) -> int:
        """Append failed forwards, skipping ones already stored; returns how many were new."""
        rows = [convert.failed_forward_row(node_id, f) for f in new]
        return await self._append(node_id, failed_forwards, rows)

    async def _append(self, node_id: int, table: Table, rows: list[dict[str, Any]]) -> int:
        await self.lock_node(node_id)
        if not rows:
            return 0
        await partitions.ensure_for_rows(self._conn, table, rows)
        return await insert_new(self._conn, table, rows)

    async def add_events(self, node_id: int, new: Sequence[Event]) -> None:
        await self.lock_node(node_id)
        if new:
            await self._conn.execute(
                events.insert(),
                [
                    {
                        "node_id": node_id,
                        "at": e.at,
                        "kind": e.kind,
                        "chan_id": e.chan_id,
                        "peer_pubkey": e.peer_pubkey,
                        "payload": e.payload,
                    }
                    for e in new
                ],
            )

    async def save_collector_state(self, node_id: int, state: CollectorState) -> None:
        await self.lock_node(node_id)
        stmt = upsert(self._conn, collector_state).values(
            node_id=node_id,
            last_forward_index=state.last_forward_index,
            last_cycle_at=state.last_cycle_at,
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[collector_state.c.node_id],
                set_={
                    "last_forward_index": stmt.excluded.last_forward_index,
                    "last_cycle_at": stmt.excluded.last_cycle_at,
                },
            )
        )


def _fill_unknown(policy: ChannelPolicy, known: ChannelPolicy | None) -> ChannelPolicy:
    if known is None:
        return policy
    filled = {
        name: getattr(known, name) for name in _MAYBE_UNKNOWN if getattr(policy, name) is None
    }
    return dataclasses.replace(policy, **filled)


def _same(a: ChannelPolicy, b: ChannelPolicy) -> bool:
    """Equal in every routing field; a newer gossip timestamp alone is no change."""
    return dataclasses.replace(a, last_update=None) == dataclasses.replace(b, last_update=None)
