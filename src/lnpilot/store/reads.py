"""Reading the store: current state, histories, and (through :mod:`series` and
:mod:`windows`) the rolled-up time series. Every read of one reader sees one snapshot."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.base.domain import Channel, ChannelState, ClosedChannel, FailedForward, Forward, Peer
from lnpilot.store import convert, series, windows
from lnpilot.store.levels import Resolution, Retention, epoch_ns
from lnpilot.store.records import (
    ChannelSeries,
    CollectorState,
    Direction,
    Event,
    FlowStats,
    PeerEvent,
    PolicyRecord,
)
from lnpilot.store.tables import (
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


class StoreReader:
    """Read access over one connection; get one from ``Store.read()`` (or use the
    transaction, which is a reader too). ``start``/``end`` bound half-open ranges."""

    def __init__(self, conn: AsyncConnection, retention: Retention) -> None:
        self._conn = conn
        self._retention = retention

    @property
    def connection(self) -> AsyncConnection:
        """The connection, for the store's own modules that read and write their tables
        (fee journal, rebalances, alerts, tokens, audit) within this unit of work."""
        return self._conn

    async def node_id(self, pubkey: str) -> int | None:
        """The id the store gave the node with this pubkey, if it knows it."""
        result = await self._conn.execute(select(nodes.c.id).where(nodes.c.pubkey == pubkey))
        return result.scalar_one_or_none()

    async def channels(self, node_id: int) -> list[Channel]:
        """Open and pending channels as last seen, with their current policies."""
        result = await self._conn.execute(
            select(*(policy_history.c[name] for name in _POLICY_COLUMNS)).where(
                policy_history.c.id.in_(_latest_policy_ids(node_id))
            )
        )
        policies = {
            (row["chan_id"], row["direction"]): convert.policy_from_row(row)
            for row in result.mappings()
        }
        result = await self._conn.execute(
            select(*(channels.c[name] for name in convert.CHANNEL_COLUMNS))
            .where(channels.c.node_id == node_id, channels.c.state != ChannelState.CLOSED.value)
            .order_by(channels.c.id)
        )
        return [
            convert.channel_from_row(
                row,
                policies.get((row["chan_id"], Direction.LOCAL.value)),
                policies.get((row["chan_id"], Direction.REMOTE.value)),
            )
            for row in result.mappings()
        ]

    async def closed_channels(self, node_id: int) -> list[ClosedChannel]:
        result = await self._conn.execute(
            select(channels)
            .where(channels.c.node_id == node_id, channels.c.state == ChannelState.CLOSED.value)
            .order_by(channels.c.id)
        )
        return [convert.closed_channel_from_row(row) for row in result.mappings()]

    async def current_policies(self, node_id: int) -> dict[tuple[int, Direction], PolicyRecord]:
        """The latest policy history entry of every channel direction of the node."""
        result = await self._conn.execute(
            select(policy_history).where(policy_history.c.id.in_(_latest_policy_ids(node_id)))
        )
        records = (convert.policy_record_from_row(row) for row in result.mappings())
        return {(r.chan_id, r.direction): r for r in records}

    async def policy_history(
        self, node_id: int, chan_id: int, start: datetime, end: datetime
    ) -> list[PolicyRecord]:
        """Both directions' policy changes of one channel, oldest first."""
        result = await self._conn.execute(
            select(policy_history)
            .where(
                policy_history.c.node_id == node_id,
                policy_history.c.chan_id == chan_id,
                *_between(policy_history.c.at, start, end),
            )
            .order_by(policy_history.c.id)
        )
        return [convert.policy_record_from_row(row) for row in result.mappings()]

    async def peers(self, node_id: int) -> list[Peer]:
        result = await self._conn.execute(
            select(peers).where(peers.c.node_id == node_id).order_by(peers.c.pubkey)
        )
        return [convert.peer_from_row(row) for row in result.mappings()]

    async def peer_events(
        self, node_id: int, start: datetime, end: datetime, pubkey: str | None = None
    ) -> list[PeerEvent]:
        query = select(peer_events).where(
            peer_events.c.node_id == node_id, *_between(peer_events.c.at, start, end)
        )
        if pubkey is not None:
            query = query.where(peer_events.c.pubkey == pubkey)
        result = await self._conn.execute(query.order_by(peer_events.c.at, peer_events.c.id))
        return [PeerEvent(pubkey=row.pubkey, at=row.at, connected=row.connected) for row in result]

    async def forwards(
        self, node_id: int, start: datetime, end: datetime, chan_id: int | None = None
    ) -> list[Forward]:
        """Forwards in time order; with ``chan_id``, those that entered or left through it."""
        query = select(forwards).where(
            forwards.c.node_id == node_id,
            forwards.c.timestamp_ns >= epoch_ns(start),
            forwards.c.timestamp_ns < epoch_ns(end),
        )
        if chan_id is not None:
            query = query.where(
                (forwards.c.chan_id_in == chan_id) | (forwards.c.chan_id_out == chan_id)
            )
        result = await self._conn.execute(query.order_by(forwards.c.timestamp_ns, forwards.c.id))
        return [convert.forward_from_row(row) for row in result.mappings()]

    async def forwards_page(
        self,
        node_id: int,
        start: datetime,
        end: datetime,
        *,
        chan_ids: Collection[int] | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[Forward], int]:
        """One page of forwards, newest first, with the count of all that match: the
        dashboard pages through a year of forwards without loading them. ``chan_ids``:
        those that entered or left through any of these channels (a peer's, or one)."""
        where = [
            forwards.c.node_id == node_id,
            forwards.c.timestamp_ns >= epoch_ns(start),
            forwards.c.timestamp_ns < epoch_ns(end),
        ]
        if chan_ids is not None:
            ids = list(chan_ids)
            where.append(forwards.c.chan_id_in.in_(ids) | forwards.c.chan_id_out.in_(ids))
        total = await self._conn.scalar(select(func.count()).select_from(forwards).where(*where))
        query = (
            select(forwards)
            .where(*where)
            .order_by(forwards.c.timestamp_ns.desc(), forwards.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        result = await self._conn.execute(query)
        return [convert.forward_from_row(row) for row in result.mappings()], int(total or 0)

    async def failed_forwards(
        self, node_id: int, start: datetime, end: datetime, chan_id: int | None = None
    ) -> list[FailedForward]:
        query = select(failed_forwards).where(
            failed_forwards.c.node_id == node_id, *_between(failed_forwards.c.at, start, end)
        )
        if chan_id is not None:
            query = query.where(
                (failed_forwards.c.chan_id_in == chan_id)
                | (failed_forwards.c.chan_id_out == chan_id)
            )
        result = await self._conn.execute(
            query.order_by(failed_forwards.c.at, failed_forwards.c.id)
        )
        return [convert.failed_forward_from_row(row) for row in result.mappings()]

    async def events(
        self,
        node_id: int,
        start: datetime,
        end: datetime,
        *,
        kinds: Collection[str] | None = None,
        chan_id: int | None = None,
    ) -> list[Event]:
        query: Select[tuple[object, ...]] = select(events).where(
            events.c.node_id == node_id, *_between(events.c.at, start, end)
        )
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        if chan_id is not None:
            query = query.where(events.c.chan_id == chan_id)
        result = await self._conn.execute(query.order_by(events.c.at, events.c.id))
        return [
            Event(
                kind=row.kind,
                at=row.at,
                chan_id=row.chan_id,
                peer_pubkey=row.peer_pubkey,
                payload=row.payload,
                id=row.id,
            )
            for row in result
        ]

    async def collector_state(self, node_id: int) -> CollectorState | None:
        result = await self._conn.execute(
            select(collector_state).where(collector_state.c.node_id == node_id)
        )
        row = result.one_or_none()
        if row is None:
            return None
        return CollectorState(
            last_forward_index=row.last_forward_index, last_cycle_at=row.last_cycle_at
        )

    async def channel_series(
        self,
        node_id: int,
        chan_id: int,
        start: datetime,
        end: datetime,
        *,
        resolution: Resolution | None = None,
        max_points: int = series.DEFAULT_MAX_POINTS,
        now: datetime | None = None,
    ) -> ChannelSeries:
        """One channel's balances and flows per bucket, from the rollups.

        Without ``resolution``, the finest level that retention still holds at ``start``
        and that gives at most ``max_points`` buckets. Rows not rolled up yet are not in it.
        """
        if resolution is None:
            resolution = series.pick_resolution(
                start, end, self._retention, now or datetime.now(UTC), max_points
            )
        return await series.channel_series(self._conn, node_id, chan_id, start, end, resolution)

    async def channel_totals(
        self, node_id: int, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> dict[int, FlowStats]:
        """Every channel's forwards over ``[start, end)``, exact to the nanosecond (see
        :mod:`lnpilot.store.windows`); channels without any are left out."""
        (found,) = await self.channel_totals_over(node_id, [(start, end)], now=now)
        return found

    async def channel_totals_over(
        self,
        node_id: int,
        spans: Sequence[tuple[datetime, datetime]],
        *,
        now: datetime | None = None,
    ) -> list[dict[int, FlowStats]]:
        """:meth:`channel_totals` over each of ``spans``, in their order, in one statement:
        what a list of windows should call rather than one read per window."""
        return await windows.channel_totals(
            self._conn, node_id, spans, self._retention, now or datetime.now(UTC)
        )


#: What :meth:`StoreReader.channels` reads of a policy: the policy, not its record.
_POLICY_COLUMNS = ("chan_id", "direction", *convert.POLICY_NAMES, "last_update")


def _latest_policy_ids(node_id: int) -> Select[tuple[int]]:
    """The id of the latest policy history entry of every channel direction of the node."""
    return (
        select(func.max(policy_history.c.id))
        .where(policy_history.c.node_id == node_id)
        .group_by(policy_history.c.chan_id, policy_history.c.direction)
    )


def _between(
    column: ColumnElement[datetime], start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ...]:
    return (column >= start, column < end)
